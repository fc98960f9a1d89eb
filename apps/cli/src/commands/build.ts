import { resolve } from "node:path";
import { loadSecrets, runBuild } from "@strata/builder";
import { type Command, parseCommandArgs } from "../command.js";
import { UsageError } from "../errors.js";
import { EXIT_INTERRUPTED, EXIT_OK } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { createBuildRenderer } from "../render-build.js";
import { loadSpecFile } from "../spec-file.js";
import { openStoreFor, parseSize, STORE_OPTION, STORE_USAGE } from "./store-options.js";
import { watchBuild } from "./watch.js";

const OPTIONS = {
  ...STORE_OPTION,
  file: { type: "string", short: "f" },
  verbose: { type: "boolean", short: "v" },
  "qemu-memory": { type: "string" },
  "qemu-cpus": { type: "string" },
  "qemu-guest-os": { type: "string" },
  "qemu-boot-time": { type: "string" },
  secret: { type: "string", multiple: true },
  accel: { type: "string" },
  "cache-strategy": { type: "string" },
  "cache-max-size": { type: "string" },
  "step-timeout": { type: "string" },
  json: { type: "boolean" },
  watch: { type: "boolean" },
  warm: { type: "string" },
  "warm-keep": { type: "string" },
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

/** Checks every flag before anything starts; returns a function that runs one build. */
function prepare(argv: readonly string[], io: CliIo) {
  const { values, positionals } = parseCommandArgs("build", argv, OPTIONS);
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
  const specPath = values.file ?? "build.spec";
  const contextDir = resolve(io.cwd, positionals[0]!);
  const render = createBuildRenderer(io, {
    verbose: values.verbose ?? false,
    json: values.json ?? false,
  });
  const build = async (signal: AbortSignal) => {
    const spec = await loadSpecFile(specPath, io);
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
      signal,
      onEvent: render,
    });
  };
  return { build, watch: values.watch ?? false, specPath: resolve(io.cwd, specPath), contextDir };
}

export const buildCommand: Command = {
  name: "build",
  summary: "build a spec in QEMU virtual machines, layer by layer, cached",
  usage: `usage: strata build [OPTIONS] -f SPEC CONTEXT

Runs SPEC's steps in VMs booted from the store's base images. Each step that changes the
machine is saved as a layer; unchanged steps are taken from the cache and their output replayed.

options:
  -f, --file SPEC          the spec file (default: build.spec)
  -v, --verbose            show what happens around each step (VM start, SSH, caches)
  --qemu-memory GiB        guest memory (default: the image manifest's)
  --qemu-cpus N            guest CPUs (default: the image manifest's)
  --qemu-guest-os OS       linux, windows, openbsd or freebsd, for images without a manifest
  --qemu-boot-time S       seconds a guest may take to answer SSH (default: 300)
  --secret ID:FILE         a secret a step names; repeatable; never stored or logged
  --accel auto|kvm|tcg     accelerator; auto uses KVM only where a probe shows it works
  --cache-strategy S       auto, copy or disk (default: auto: disk on Linux, copy on Windows)
  --cache-max-size SIZE    largest a cache may be (default 64G): a copy cache coming back
                           bigger is refused and keeps its previous version; a new disk
                           cache gets this size
  --step-timeout S         fail a step whose command runs longer than S seconds
  --warm auto|off          auto (default): resume each step from its parent's saved VM state
                           instead of booting, and save each step's state beside its layer
  --warm-keep N            keep saved VM states only for the last N layers of a chain
  --json                   one JSON event per line on stdout
  --watch                  rebuild when the spec or a context file changes (Ctrl-C to stop)
${STORE_USAGE}`,
  async run(argv, io) {
    const { build, watch, specPath, contextDir } = prepare(argv, io);
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
};
