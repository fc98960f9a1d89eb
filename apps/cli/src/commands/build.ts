import { resolve } from "node:path";
import { DEFAULT_GUEST_BOOT_TIMEOUT_MS, loadSecrets, runBuild } from "@strata/builder";
import type { CliIo } from "@strata/cli-kit";
import {
  type CommandArgs,
  createTransferRenderer,
  defineCommand,
  EXIT_INTERRUPTED,
  EXIT_OK,
  openRegistry,
  PROGRESS_OPTIONS,
  type ProgressMode,
  REGISTRY_OPTIONS,
  resolveProgress,
} from "@strata/cli-kit";
import { UsageError } from "../errors.js";
import { createBuildRenderer } from "../render-build.js";
import { loadSpecFile, STDIN_PATH } from "../spec-file.js";
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
    help: "auto (default): resume each step from its parent's saved VM state\ninstead of booting, and save each step's state beside its layer",
  },
  "warm-keep": {
    type: "string",
    value: "N",
    help: "keep saved VM states only for the last N layers of a chain",
  },
  registry: {
    type: "string",
    value: "REF",
    help: "HOST[:PORT]/REPO: a registry as shared cache; a missing layer is\npulled instead of built, a built one pushed (docs/registry.md); a\nregistry problem is a warning and a cache miss, never a failure",
  },
  "registry-mode": {
    type: "string",
    value: "M",
    help: "pull, push or both (default: both)",
  },
  "registry-states": { type: "boolean", help: "move saved VM states with the layers" },
  ...REGISTRY_OPTIONS,
  ...PROGRESS_OPTIONS,
  watch: {
    type: "boolean",
    help: "rebuild when the spec or a context file changes (Ctrl-C to stop)",
  },
  ...STORE_OPTION,
} as const;

function positiveNumber(
  text: string | undefined,
  flag: string,
  integer: boolean,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(n > 0) || (integer && !Number.isInteger(n)))
    throw new UsageError(
      `option "${flag}": "${text}" is not a positive ${integer ? "whole " : ""}number`,
    );
  return n;
}

function oneOf<T extends string>(
  text: string | undefined,
  flag: string,
  allowed: readonly T[],
): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text))
    throw new UsageError(`option "${flag}": "${text}" is not one of ${allowed.join(", ")}`);
  return text as T;
}

/** `--registry` and its companions, checked: what `runBuild` takes as `registry`. */
function registryOptions(
  values: CommandArgs<typeof OPTIONS>["values"],
  io: CliIo,
  progress: ProgressMode,
) {
  const mode = oneOf(values["registry-mode"], "--registry-mode", ["pull", "push", "both"] as const);
  if (values.registry === undefined) {
    for (const flag of ["registry-mode", "registry-states", "insecure-registry"] as const) {
      if (values[flag] !== undefined)
        throw new UsageError(`option "--${flag}" needs --registry REF`);
    }
    return undefined;
  }
  const { client, reference } = openRegistry(values.registry, {
    insecure: values["insecure-registry"],
    repositoryOnly: "strata build --help",
  });
  return {
    client,
    repository: reference.repository,
    mode: mode ?? "both",
    states: values["registry-states"] ?? false,
    onTransfer: createTransferRenderer(io, "registry", { mode: progress }),
  };
}

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
  const registry = registryOptions(values, io, progress);
  const specPath = values.file ?? "build.spec";
  if (specPath === STDIN_PATH && values.watch)
    throw new UsageError('option "--watch" needs a spec file to watch, not "-f -"');
  const contextDir = resolve(io.cwd, positionals[0]!);
  const render = createBuildRenderer(io, {
    verbose: values.verbose ?? false,
    mode: progress,
  });
  const build = async (signal: AbortSignal) => {
    const spec = await loadSpecFile(specPath, io, { build: true });
    const secrets = await loadSecrets(values.secret ?? []);
    await using store = await openStoreFor(values.store, { ...io, signal });
    return await runBuild({
      store,
      spec,
      contextDir,
      secrets,
      ...machine,
      guestOs,
      cacheStrategy,
      cacheMaxBytes,
      stepTimeoutMs: stepTimeoutS ? stepTimeoutS * 1000 : undefined,
      warm,
      warmKeep,
      registry,
      signal,
      onEvent: render,
    });
  };
  return { build, watch: values.watch ?? false, specPath: resolve(io.cwd, specPath), contextDir };
}

export const buildCommand = defineCommand({
  name: "build",
  summary: "build a spec in QEMU virtual machines, layer by layer, cached",
  synopsis: "[OPTIONS] -f SPEC CONTEXT",
  maxArguments: 1,
  complete: ["dir"],
  description: `Runs SPEC's steps in VMs booted from the store's base images. Each step that changes the
machine is saved as a layer; unchanged steps are taken from the cache and their output replayed.`,
  options: OPTIONS,
  async run(args, io) {
    const { build, watch, specPath, contextDir } = prepare(args, io);
    if (watch) return watchBuild({ io, specPath, contextDir, build });
    try {
      await build(io.signal);
      return EXIT_OK;
    } catch (err) {
      if (io.signal.aborted) {
        io.stderr.write("strata: interrupted; the VM was stopped and no partial layer was kept\n");
        return EXIT_INTERRUPTED;
      }
      throw err;
    }
  },
});
