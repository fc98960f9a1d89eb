import { QemuOptionsError } from "./errors.js";
import type { StartVmOptions } from "./start-vm.js";

const isPositiveInt = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v > 0;

/** Checks `startVm` options before any side effect; throws one error listing every problem. */
export function validateStartVmOptions(o: StartVmOptions): void {
  const problems: string[] = [];
  if (typeof o.image !== "string" || o.image === "")
    problems.push("image: must be a path to a disk image");
  if (o.memoryMiB !== undefined && !(isPositiveInt(o.memoryMiB) && o.memoryMiB >= 16)) {
    problems.push(`memoryMiB: must be an integer of at least 16 (got ${o.memoryMiB})`);
  }
  if (o.cpus !== undefined && !(isPositiveInt(o.cpus) && o.cpus <= 512)) {
    problems.push(`cpus: must be an integer from 1 to 512 (got ${o.cpus})`);
  }
  if (o.accel !== undefined && !["auto", "kvm", "tcg"].includes(o.accel)) {
    problems.push(`accel: must be auto, kvm or tcg (got ${o.accel})`);
  }
  if (o.network !== undefined && !["restricted", "host"].includes(o.network)) {
    problems.push(`network: must be restricted or host (got ${o.network})`);
  }
  if (o.sshPort !== undefined && !(isPositiveInt(o.sshPort) && o.sshPort < 65536)) {
    problems.push(`sshPort: must be a TCP port from 1 to 65535 (got ${o.sshPort})`);
  }
  if (typeof o.vnc === "number" && !(Number.isInteger(o.vnc) && o.vnc >= 0 && o.vnc < 59636)) {
    problems.push(`vnc: must be true, false or a display number (got ${o.vnc})`);
  }
  for (const [name, v] of [
    ["startTimeoutMs", o.startTimeoutMs],
    ["portAttempts", o.portAttempts],
  ] as const) {
    if (v !== undefined && !isPositiveInt(v))
      problems.push(`${name}: must be a positive integer (got ${v})`);
  }
  (o.drives ?? []).forEach((d, i) => {
    if (typeof d.path !== "string" || d.path === "")
      problems.push(`drives[${i}].path: must be a path`);
  });
  (o.cdroms ?? []).forEach((p, i) => {
    if (typeof p !== "string" || p === "") problems.push(`cdroms[${i}]: must be a path`);
  });
  (o.guestForwards ?? []).forEach((g, i) => {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(g.address))
      problems.push(`guestForwards[${i}].address: must be an IPv4 address (got ${g.address})`);
    if (!(isPositiveInt(g.port) && g.port < 65536))
      problems.push(`guestForwards[${i}].port: must be a TCP port from 1 to 65535 (got ${g.port})`);
    if (!/^(cmd|tcp|unix):./.test(g.to))
      problems.push(
        `guestForwards[${i}].to: must be a chardev spec, cmd:... or tcp:... (got ${g.to})`,
      );
  });
  if (problems.length > 0) throw new QemuOptionsError(problems);
}
