import type { CacheEvent } from "@strata/cache-sync";
import { openCaches } from "@strata/cache-sync";
import type { RunOp } from "@strata/spec-parser";
import type { BuildContext } from "./build-context.js";
import { BuildStepFailedError, SecretLeakError, StepTimeoutError } from "./errors.js";
import type { CacheProgressEvent } from "./events.js";
import { prepareGuest } from "./guest-user.js";
import { runLayerId } from "./layer-id.js";
import { GUEST_ROOT } from "./posix.js";
import { installSecrets } from "./secret-install.js";
import { ensureSecretKey } from "./secret-key.js";
import { createRedactor, guardedValues } from "./secret-redact.js";
import { searchOverlay } from "./secret-scan.js";
import { secretDigest } from "./secrets.js";
import type { StepEnv } from "./step-env.js";
import { buildStepLayer, finishStepGuest, startStepGuest } from "./step-guest.js";
import { createUtf8Chunker } from "./utf8-chunks.js";

/**
 * A `run` step: boot the parent layer's overlay, bring caches and secrets in, run the command
 * as the context's user streaming its output into the step log, take caches back, power off.
 * Caches are kept even when the command fails; the layer is kept only when it succeeds.
 */
export async function runStep(
  env: StepEnv,
  parent: string,
  ctx: BuildContext,
  op: RunOp,
  description: string,
): Promise<string> {
  const secrets = op.secrets.map((s) => ({
    id: s.id,
    target: s.target,
    value: env.secrets.get(s.id) ?? Buffer.alloc(0),
  }));
  const key = secrets.length > 0 ? await ensureSecretKey(env.store.keysDir) : Buffer.alloc(0);
  const id = runLayerId(
    parent,
    ctx,
    op.shell,
    op.network,
    secrets.map((s) => secretDigest(s.id, s.target, s.value, key)),
  );
  // The values as they must never appear in the output, the log, or the layer.
  const guarded = guardedValues(secrets.map((s) => s.value));
  const network = op.network.includes("host") ? "host" : "restricted";
  return buildStepLayer(env, id, parent, description, async (layer) => {
    await using caches = await openCaches({
      store: env.store,
      caches: op.cache,
      os: env.manifest.os,
      strategy: env.cacheStrategy,
      ...(env.cacheMaxBytes === undefined
        ? {}
        : { copyMaxBytes: env.cacheMaxBytes, diskSizeBytes: env.cacheMaxBytes }),
      user: ctx.user,
      signal: layer.signal,
      onEvent: (e) =>
        e.type === "warning"
          ? env.emit({ type: "warning", message: `cache ${e.cache}: ${e.message}` })
          : env.emit(asCacheProgress(e)),
    });
    await using guest = await startStepGuest(env, {
      image: layer.image,
      parent,
      network,
      drives: caches.drives,
      signal: layer.signal,
    });
    // Clock, workdir (created by root when missing, as Docker's WORKDIR) and user: one script.
    const user =
      env.manifest.os !== "windows"
        ? await prepareGuest(guest, { user: ctx.user, workdir: ctx.workdir })
        : undefined;
    const removeSecrets = await installSecrets(guest, secrets, user ?? GUEST_ROOT);
    await caches.attach(guest.ssh);
    const timeout = env.stepTimeoutMs ? AbortSignal.timeout(env.stepTimeoutMs) : undefined;
    const signal = timeout ? AbortSignal.any([layer.signal, timeout]) : layer.signal;
    // Per stream: secret values masked (also across chunks), then chunks cut on whole
    // characters, before stdout and stderr meet in one log.
    const stream = () => {
      const redactor = createRedactor(guarded);
      const chunker = createUtf8Chunker((c) => layer.log(c));
      return {
        write: (c: Buffer) => chunker.write(redactor.push(c)),
        end: () => {
          chunker.write(redactor.flush());
          chunker.end();
        },
      };
    };
    const stdout = stream();
    const stderr = stream();
    let exec: Awaited<ReturnType<typeof guest.ssh.exec>>;
    env.emit({ type: "phase", phase: "running" });
    try {
      exec = await guest.ssh.exec(op.shell, {
        shell: ctx.shell,
        env: Object.fromEntries(ctx.env),
        cwd: ctx.workdir,
        user,
        onStdout: (c) => stdout.write(c),
        onStderr: (c) => stderr.write(c),
        maxBuffer: 0,
        signal,
      });
    } catch (err) {
      if (timeout?.aborted && env.stepTimeoutMs)
        throw new StepTimeoutError(op.shell, env.stepTimeoutMs);
      throw err;
    } finally {
      stdout.end();
      stderr.end();
    }
    await removeSecrets();
    // Caches come back whatever the command's status: downloads survive a failed step. One
    // that did not come back whole (or was refused: a hostile tar stream) keeps its previous
    // version and fails the step, after the others are committed.
    const detached = await caches.detach(guest.ssh).then(
      () => undefined,
      (e: unknown) => ({ error: e }),
    );
    // A failed step is not kept, so its VM is not worth keeping. Nor is the VM of a step that
    // had secrets: its RAM may hold them (freed pages, processes it left running), so it is
    // powered off, no state saved, and the next step boots or resumes.
    const ok = exec.exitCode === 0 && !detached;
    env.emit({ type: "phase", phase: "saving" });
    if (ok && secrets.length === 0)
      await finishStepGuest(env, guest, { id, dir: layer.dir }, network);
    else {
      const stopping = Date.now();
      await guest.shutdown();
      if (ok)
        env.emit({ type: "vm", how: "powered-off", ms: Date.now() - stopping, reason: "secrets" });
    }
    await caches.commit();
    if (detached) throw detached.error;
    if (exec.exitCode !== 0)
      throw new BuildStepFailedError(op.shell, exec.exitCode ?? null, exec.signal ?? null);
    const leaked = await searchOverlay(layer.image, guarded);
    if (leaked >= 0) throw new SecretLeakError(secretIdOf(secrets, guarded[leaked]!));
  });
}

/** A cache-sync event as a build event: its `type` becomes `action`. */
function asCacheProgress(e: Exclude<CacheEvent, { type: "warning" }>): CacheProgressEvent {
  const { type: action, ...rest } = e;
  return { type: "cache", action, ...rest } as CacheProgressEvent;
}

function secretIdOf(secrets: readonly { id: string; value: Buffer }[], needle: Buffer): string {
  return secrets.find((s) => s.value.includes(needle))?.id ?? "?";
}
