import { resolve } from "node:path";
import { DEFAULT_GUEST_BOOT_TIMEOUT_MS, listStages, loadSecrets, runBuild } from "@strata/builder";
import type { CliIo } from "@strata/cli-kit";
import {
  type CommandArgs,
  defineCommand,
  EXIT_INTERRUPTED,
  EXIT_OK,
  PROGRESS_OPTIONS,
  resolveProgress,
} from "@strata/cli-kit";
import { UsageError } from "../errors.js";
import { createBuildRenderer } from "../render-build.js";
import { loadSpecFile, STDIN_PATH } from "../spec-file.js";
import { BUILD_REGISTRY_OPTIONS, oneOf, positiveNumber, registryOptions } from "./build-flags.js";
import { buildOutputOf, exportBuildOutput, OUTPUT_OPTIONS } from "./build-output.js";
import { runRemoteBuild } from "./build-remote.js";
import { QUEUE_OPTION, queueUrl, seconds } from "./fleet-options.js";
import { openStoreFor, parseSize, STORE_OPTION } from "./store-options.js";
import { watchBuild } from "./watch.js";

const OPTIONS = {
  file: {
    type: "string",
    short: "f",
    value: "SPEC",
    help: 'the spec file, "-" for stdin (default: build.spec)',
  },
  verbose: {
    type: "boolean",
    short: "v",
    help: "show what happens around each step (VM start, SSH, caches)",
  },
  "qemu-memory": {
    type: "string",
    value: "GiB",
    help: "guest memory (default: the image manifest's)",
  },
  "qemu-cpus": { type: "string", value: "N", help: "guest CPUs (default: the image manifest's)" },
  "qemu-guest-os": {
    type: "string",
    value: "OS",
    help: "linux, windows, openbsd or freebsd, for images without a manifest",
  },
  "qemu-guest-arch": {
    type: "string",
    value: "ARCH",
    help: "amd64, arm64 or riscv64, for images without a manifest (an image whose\nmanifest names another architecture is refused before any VM starts)",
  },
  "qemu-boot-time": {
    type: "string",
    value: "S",
    help: `seconds a guest may take to boot and answer SSH (default: ${DEFAULT_GUEST_BOOT_TIMEOUT_MS / 1000});\nOBuilder's default is 30, which a KVM guest meets, but a cold boot\nunder TCG (no KVM) takes 35-60 s, more on a loaded host`,
  },
  secret: {
    type: "string",
    multiple: true,
    value: "ID:FILE",
    help: "a secret a step names; repeatable; never stored or logged",
  },
  accel: {
    type: "string",
    value: "auto|kvm|tcg",
    help: "accelerator; auto uses KVM only where a probe shows it works",
  },
  "cache-strategy": {
    type: "string",
    value: "S",
    help: "auto, copy or disk (default: auto: disk on Linux, copy on Windows)",
  },
  "cache-max-size": {
    type: "string",
    value: "SIZE",
    help: "largest a cache may be (default 64G): a copy cache coming back\nbigger is refused and keeps its previous version; a new disk\ncache gets this size",
  },
  "step-timeout": {
    type: "string",
    value: "S",
    help: "fail a step whose command runs longer than S seconds",
  },
  warm: {
    type: "string",
    value: "auto|off",
    help: "auto (default): keep a stage's VM running from step to step (each layer\ncut by a live disk snapshot), resume a saved state after cached steps, and\nsave each step's state beside its layer; off: boot every step",
  },
  "warm-keep": {
    type: "string",
    value: "N",
    help: "keep saved VM states only for the last N layers of a chain",
  },
  ...BUILD_REGISTRY_OPTIONS,
  ...PROGRESS_OPTIONS,
  target: {
    type: "string",
    value: "STAGE",
    help: "build only the child build (stage) STAGE, after the stages it copies\nfrom; its layer is the result",
  },
  "no-cache": {
    type: "boolean",
    help: "run every step again, even cached ones, and replace the cached\nlayers (same IDs) once each is complete; layers built on a replaced\none are removed with it. With --registry: pulls nothing, pushes what\nthe registry lacks",
  },
  ...OUTPUT_OPTIONS,
  watch: {
    type: "boolean",
    help: "rebuild when the spec or a context file changes (Ctrl-C to stop)",
  },
  ...STORE_OPTION,
  ...QUEUE_OPTION,
  pool: {
    type: "string",
    value: "NAME",
    help: "(--queue) the pool to submit to (default: default)",
  },
  deadline: {
    type: "string",
    value: "S",
    help: "(--queue) fail an attempt that runs longer than S seconds (default: 6 h)",
  },
  watchdog: {
    type: "string",
    value: "S",
    help: "(--queue) stop a VM that printed nothing and made no progress for S\nseconds, retry once, then fail with the console tail (default: 900)",
  },
} as const;

/** `--qemu-guest-arch` takes OBuilder's (Debian's) names; manifests say QEMU's. */
const GUEST_ARCH_OF_FLAG = { amd64: "x86_64", arm64: "aarch64", riscv64: "riscv64" } as const;

/**
 * Flags that mean nothing on a fleet: the worker's own store, secrets and registry settings
 * apply (`--registry` there only names where a large context travels).
 */
const LOCAL_ONLY = [
  "qemu-guest-arch",
  "secret",
  "no-cache",
  "output",
  "output-path",
  "watch",
  "target",
  "warm-keep",
  "store",
  "cache-max-size",
  "registry-mode",
  "registry-states",
] as const;

/** Checks every flag before anything starts; returns a function that runs one build. */
function prepare({ values, positionals }: CommandArgs<typeof OPTIONS>, io: CliIo) {
  if (positionals.length !== 1)
    throw new UsageError(
      'expected exactly one CONTEXT directory (e.g. "."); see "strata build --help"',
    );
  const memory = positiveNumber(values["qemu-memory"], "--qemu-memory", false);
  const machine = {
    memoryMiB: memory === undefined ? undefined : Math.round(memory * 1024),
    cpus: positiveNumber(values["qemu-cpus"], "--qemu-cpus", true),
    accel: oneOf(values.accel, "--accel", ["auto", "kvm", "tcg"] as const),
    bootTimeoutMs:
      (positiveNumber(values["qemu-boot-time"], "--qemu-boot-time", false) ?? 0) * 1000 ||
      undefined,
  };
  const guestOs = oneOf(values["qemu-guest-os"], "--qemu-guest-os", [
    "linux",
    "windows",
    "openbsd",
    "freebsd",
  ] as const);
  const guestArchFlag = oneOf(values["qemu-guest-arch"], "--qemu-guest-arch", [
    "amd64",
    "arm64",
    "riscv64",
  ] as const);
  const guestArch = guestArchFlag && GUEST_ARCH_OF_FLAG[guestArchFlag];
  const cacheStrategy = oneOf(values["cache-strategy"], "--cache-strategy", [
    "auto",
    "copy",
    "disk",
  ] as const);
  const cacheMaxSize = values["cache-max-size"];
  const cacheMaxBytes =
    cacheMaxSize === undefined ? undefined : parseSize(cacheMaxSize, "--cache-max-size");
  if (cacheMaxBytes !== undefined && cacheMaxBytes < 2 ** 24)
    throw new UsageError(`option "--cache-max-size": "${cacheMaxSize}" is below 16M`);
  const stepTimeoutS = positiveNumber(values["step-timeout"], "--step-timeout", false);
  const warm = oneOf(values.warm, "--warm", ["auto", "off"] as const);
  const warmKeep = positiveNumber(values["warm-keep"], "--warm-keep", true);
  const progress = resolveProgress(values, io);
  const specPath = values.file ?? "build.spec";
  if (specPath === STDIN_PATH && values.watch)
    throw new UsageError('option "--watch" needs a spec file to watch, not "-f -"');
  const contextDir = resolve(io.cwd, positionals[0]!);
  const render = createBuildRenderer(io, {
    verbose: values.verbose ?? false,
    mode: progress,
  });
  if (values.queue !== undefined) {
    for (const flag of LOCAL_ONLY)
      if (values[flag] !== undefined)
        throw new UsageError(
          flag === "secret"
            ? 'option "--secret" cannot go with "--queue": the fleet\'s workers hold secrets (strata worker --secret ID:FILE) and a job names only their IDs'
            : `option "--${flag}" cannot go with "--queue" (the workers' own settings apply); see "strata build --help"`,
        );
    const deadlineMs = seconds(values.deadline, "--deadline");
    const watchdogMs = seconds(values.watchdog, "--watchdog");
    const registry = registryOptions(values, io, { progress: "quiet" });
    const build = async (signal: AbortSignal) =>
      runRemoteBuild({
        io: { ...io, signal },
        queue: await queueUrl(values.queue, io.env, "build"),
        pool: values.pool,
        specPath,
        contextDir,
        machine: {
          ...(machine.memoryMiB ? { memoryMiB: machine.memoryMiB } : {}),
          ...(machine.cpus ? { cpus: machine.cpus } : {}),
          ...(machine.accel ? { accel: machine.accel } : {}),
          ...(machine.bootTimeoutMs ? { bootTimeoutMs: machine.bootTimeoutMs } : {}),
          ...(guestOs ? { guestOs } : {}),
          ...(cacheStrategy ? { cacheStrategy } : {}),
          ...(stepTimeoutS ? { stepTimeoutMs: stepTimeoutS * 1000 } : {}),
          ...(warm ? { warm } : {}),
        },
        json: progress === "json",
        verbose: values.verbose ?? false,
        deadlineMs,
        watchdogMs,
        render,
        ...(registry
          ? { registry: { client: registry.client, repository: registry.repository } }
          : {}),
      });
    return { build, watch: false, specPath: resolve(io.cwd, specPath), contextDir, remote: true };
  }
  if (values.pool !== undefined || values.deadline !== undefined || values.watchdog !== undefined)
    throw new UsageError('options "--pool", "--deadline" and "--watchdog" need "--queue"');
  const registry = registryOptions(values, io, { progress });
  const target = values.target;
  const output = buildOutputOf(values, io.cwd);
  const build = async (signal: AbortSignal) => {
    try {
      return await buildOnce(signal);
    } catch (err) {
      render.fail(err);
      throw err;
    }
  };
  const buildOnce = async (signal: AbortSignal) => {
    const spec = await loadSpecFile(specPath, io, { build: true });
    if (target !== undefined && !listStages(spec).includes(target)) {
      const stages = listStages(spec);
      throw new UsageError(
        stages.length === 0
          ? `option "--target": the spec has no stages (named builds), so there is no "${target}"`
          : `option "--target": no stage "${target}"; the spec's stages are: ${stages.join(", ")}`,
      );
    }
    const secrets = await loadSecrets(values.secret ?? []);
    await using store = await openStoreFor(values.store, { ...io, signal });
    const id = await runBuild({
      target,
      store,
      spec,
      contextDir,
      secrets,
      ...machine,
      guestOs,
      guestArch,
      cacheStrategy,
      cacheMaxBytes,
      stepTimeoutMs: stepTimeoutS ? stepTimeoutS * 1000 : undefined,
      warm,
      warmKeep,
      registry,
      noCache: values["no-cache"] ?? false,
      signal,
      onEvent: render,
    });
    if (output) await exportBuildOutput(output, { store, id, machine, io, signal });
    return id;
  };
  return {
    build,
    watch: values.watch ?? false,
    specPath: resolve(io.cwd, specPath),
    contextDir,
    remote: false,
  };
}

export const buildCommand = defineCommand({
  name: "build",
  summary: "build a spec in QEMU virtual machines, layer by layer, cached",
  synopsis: "[OPTIONS] -f SPEC CONTEXT",
  maxArguments: 1,
  complete: ["dir"],
  description: `Runs SPEC's steps in VMs booted from the store's base images. Each step that changes the
machine is saved as a layer; unchanged steps are taken from the cache and their output replayed.

--no-cache runs every step again; each result keeps its ID and replaces the cached layer once
complete, and layers built on a replaced one are removed with it (docs/architecture.md).
With --registry it pulls nothing and pushes only the layers the registry lacks: the registry
keeps its copies, and a layer built on another copy of its parent is refused on pull
(docs/registry.md).
--output DIR --output-path PATH copies PATH out of the final layer into DIR after the
build, through a VM, as "strata cp" does.

With --queue the build is submitted to a fleet (docs/fleet.md) and streamed
from the worker that runs it: same output and exit codes as a local build; Ctrl-C cancels the
job and stops its VM.`,
  options: OPTIONS,
  async run(args, io) {
    const { build, watch, specPath, contextDir, remote } = prepare(args, io);
    if (watch) return watchBuild({ io, specPath, contextDir, build });
    try {
      await build(io.signal);
      return EXIT_OK;
    } catch (err) {
      if (io.signal.aborted) {
        io.stderr.write(
          remote
            ? "strata: interrupted; the remote job was cancelled and its VM stopped\n"
            : "strata: interrupted; the VM was stopped and no partial layer was kept\n",
        );
        return EXIT_INTERRUPTED;
      }
      throw err;
    }
  },
});
