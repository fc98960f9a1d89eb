/** Every `code` a {@link FleetError} carries. */
export type FleetErrorCode =
  | "FLEET_OPTIONS"
  | "FLEET_REDIS_UNREACHABLE"
  | "FLEET_MESSAGE_INVALID"
  | "FLEET_CONTEXT_TOO_LARGE"
  | "FLEET_CONTEXT_UNAVAILABLE"
  | "FLEET_WORKER_UNKNOWN"
  | "FLEET_JOB_UNKNOWN"
  | "FLEET_WORKER_ALIVE"
  | "FLEET_NAME_TAKEN"
  | "FLEET_JOB_LOST"
  | "FLEET_WORKER_ERROR"
  | "FLEET_WATCHDOG"
  | "FLEET_DEADLINE"
  | "FLEET_CANCELLED";

/** Base class of fleet errors: a stable `code`, the cause, a message that says what to do. */
export class FleetError extends Error {
  readonly code: FleetErrorCode;
  constructor(code: FleetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option given to a fleet function (queue URL, capacity, pool name...) is not valid. */
export class FleetOptionsError extends FleetError {
  constructor(message: string) {
    super("FLEET_OPTIONS", message);
  }
}

/** Redis did not answer in time: it is down, the URL is wrong, or the password is refused. */
export class FleetRedisError extends FleetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("FLEET_REDIS_UNREACHABLE", message, options);
  }
}

/** A job or event read from Redis does not match its schema: that job fails, never the worker. */
export class FleetMessageInvalidError extends FleetError {
  constructor(
    readonly what: "job" | "event" | "worker",
    readonly problems: readonly string[],
  ) {
    super(
      "FLEET_MESSAGE_INVALID",
      `malformed ${what} read from Redis (${problems.slice(0, 3).join("; ")}); check that every worker and submitter runs the same strata version`,
    );
  }
}

/** A context too big to travel in Redis, and no registry to carry it. */
export class FleetContextTooLargeError extends FleetError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      "FLEET_CONTEXT_TOO_LARGE",
      `the build context packs to ${bytes} bytes, over the ${limit}-byte limit for Redis; make the context smaller (only what the spec copies) or give --registry`,
    );
  }
}

/** No worker by that name has registered in this Redis. */
export class FleetWorkerUnknownError extends FleetError {
  constructor(readonly worker: string) {
    super("FLEET_WORKER_UNKNOWN", `no worker named "${worker}"; see "strata fleet ls"`);
  }
}

/** No job by that ID is known (finished jobs are kept for a limited time). */
export class FleetJobUnknownError extends FleetError {
  constructor(readonly jobId: string) {
    super("FLEET_JOB_UNKNOWN", `no job "${jobId}"; see "strata fleet jobs"`);
  }
}

/**
 * A job was ended by the fleet rather than by its build: the watchdog saw no output for too
 * long, its deadline passed, or it was lost (stalled too often). The console tail is kept.
 */
export class FleetJobAbortedError extends FleetError {
  constructor(
    code: "FLEET_WATCHDOG" | "FLEET_DEADLINE" | "FLEET_JOB_LOST" | "FLEET_CANCELLED",
    message: string,
    readonly tail = "",
  ) {
    super(code, message);
  }
}

/**
 * A remote build failed: `code` is the worker's error code (any package's, or a FLEET_ one), so
 * the submitter can exit exactly as a local build with that error would. It is not a
 * {@link FleetError}: its code comes over the wire, and the app checks it against its table.
 */
export class RemoteBuildError extends Error {
  readonly code: string;
  constructor(
    code: string,
    message: string,
    readonly worker: string | undefined,
  ) {
    super(message);
    this.name = "RemoteBuildError";
    this.code = code;
  }
}

/** Another process took over this worker's name (a restart under the same name). */
export class FleetNameTakenError extends FleetError {
  constructor(readonly worker: string) {
    super(
      "FLEET_NAME_TAKEN",
      `another process registered as worker "${worker}" and took its jobs over; this one stops`,
    );
  }
}
