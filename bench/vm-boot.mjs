// Boot to first successful SSH command, and the exec round trip on an open connection.
//   pnpm build && node bench/vm-boot.mjs
import { bootDebian, median } from "./vm-support.mjs";

const { vm, ssh, qmpMs, sshMs, close } = await bootDebian();
try {
  console.log(`accelerator                      ${vm.accel}`);
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
} finally {
  await close();
}
