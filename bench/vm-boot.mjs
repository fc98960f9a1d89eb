// Boot to first successful SSH command, and the exec round trip on an open connection, for each
// cached test image named (default: the amd64 Debian image), one after another in the same run.
//   pnpm build && node bench/vm-boot.mjs [debian-bookworm] [debian-bookworm-arm64]
import { readFileSync } from "node:fs";
import { bootDebian, median } from "./vm-support.mjs";

const names = process.argv.slice(2);
for (const name of names.length ? names : ["debian-bookworm"]) {
  const load = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  console.log(`== ${name} (load ${load()})`);
  const { vm, ssh, manifest, qmpMs, sshMs, close } = await bootDebian(name);
  try {
    console.log(`guest arch, accelerator          ${manifest.arch ?? "x86_64"}, ${vm.accel}`);
    console.log(`QEMU spawn to QMP ready          ${qmpMs.toFixed(0)} ms`);
    console.log(`QEMU spawn to first SSH command  ${(sshMs / 1000).toFixed(1)} s`);
    const times = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await ssh.exec("true", { check: true });
      times.push(performance.now() - t);
    }
    console.log(
      `exec round trip (median of 50)   ${median(times).toFixed(1)} ms (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)})`,
    );
    const raw = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await ssh.exec("true", { raw: true, check: true });
      raw.push(performance.now() - t);
    }
    console.log(`raw exec, no shell (median of 50) ${median(raw).toFixed(1)} ms`);
    const down = performance.now();
    await close();
    console.log(
      `power-off (ACPI) and cleanup     ${((performance.now() - down) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    await close();
    throw error;
  }
}
