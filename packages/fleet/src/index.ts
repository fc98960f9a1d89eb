export { forgetWorker, listWorkers, setWorkerState } from "./admin.js";
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  openRedis,
  parseQueueUrl,
  redactUrl,
  waitForRedis,
} from "./connection.js";
export {
  type ContextRegistry,
  DEFAULT_CONTEXT_LIMIT_BYTES,
  packContext,
  putContext,
} from "./context.js";
export type { FleetErrorCode } from "./errors.js";
export {
  FleetContextTooLargeError,
  FleetError,
  FleetJobAbortedError,
  FleetJobUnknownError,
  FleetMessageInvalidError,
  FleetNameTakenError,
  FleetOptionsError,
  FleetRedisError,
  FleetWorkerUnknownError,
  RemoteBuildError,
} from "./errors.js";
export { appendEvent, readEvents, toBuildEvent, toFleetEvent } from "./event-stream.js";
export type { FollowEvent, FollowJobOptions, JobOutcome } from "./follow.js";
export { cancelJob, followJob, MOVE_CHECK_MS } from "./follow.js";
export type { AdminState, WorkerState, WorkerView } from "./inventory.js";
export type { JobRecord } from "./job-record.js";
export { listJobRecords, readJobRecord } from "./job-record.js";
export { isFleetName, keys, poolQueueName, workerQueueName } from "./keys.js";
export type { BaseLookup } from "./layer-chain.js";
export { computeLayerChain } from "./layer-chain.js";
export { JOB_OPTIONS, QueueSet } from "./queues.js";
export type {
  Route,
  RouteCandidate,
  RouteOptions,
  RouteWorker,
  WaitingJob,
} from "./routing.js";
export {
  cachedDepth,
  chooseMove,
  chooseRoute,
  DEFAULT_MAX_LOAD,
  DEFAULT_MISS_PENALTY,
  DEFAULT_RELATIVE_LOAD,
  DEFAULT_SPILL_AFTER_MS,
  DEFAULT_STEP_MS,
  decayLoad,
  estimateJobMs,
  LOAD_WINDOW_MS,
  readyDepth,
  shouldSpill,
  workerLoad,
} from "./routing.js";
export type {
  BaseInfo,
  ContextRef,
  FleetEvent,
  JobData,
  MachineJobOptions,
  WorkerRecord,
} from "./schema.js";
export { FLEET_PROTOCOL, parseFleetEvent, parseJobData } from "./schema.js";
export type { SubmitBuildOptions, SubmitEvent } from "./submit.js";
export { connect, DEFAULT_DEADLINE_MS, DEFAULT_WATCHDOG_MS, submitBuild } from "./submit.js";
export type { FleetWorkerOptions, WorkerEvent } from "./worker.js";
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_LOCK_DURATION_MS,
  DEFAULT_STALLED_INTERVAL_MS,
  FleetWorker,
} from "./worker.js";
