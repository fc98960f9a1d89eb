// SFTP and tar throughput for one big file, beside scp of the same file in the same run.
//   pnpm build && node bench/vm-transfer.mjs [MiB=512]
import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { bootDebian } from "./vm-support.mjs";

const mib = Number(process.argv[2] ?? 512);
const { vm, ssh, manifest, dir, close } = await bootDebian();
const payloadDir = join(dir, "payload");
const file = join(payloadDir, "big.bin");
const rate = (ms) => `${((mib / ms) * 1000).toFixed(1)} MiB/s (${(ms / 1000).toFixed(1)} s)`;
const time = async (label, fn) => {
  await ssh.exec("rm -rf /tmp/big.bin /tmp/tarin && sync", { check: true });
  const t = performance.now();
  await fn();
  console.log(`${label.padEnd(28)} ${rate(performance.now() - t)}`);
};
try {
  await mkdir(payloadDir);
  // Incompressible data, written in 1 MiB blocks.
  const h = await open(file, "w");
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib; i++) await h.write(block.fill(i % 251).map((b, j) => (b + j * 7) & 255));
  await h.close();
  console.log(`${mib} MiB, accelerator ${vm.accel}`);
  const scpArgs = ["-q", "-P", String(vm.sshPort), "-i", manifest.ssh.privateKey];
  scpArgs.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null");
  const remote = `${manifest.ssh.user}@127.0.0.1`;
  await time("SFTP put (fastPut)", () => ssh.putFile(file, "/tmp/big.bin"));
  await ssh.exec("true");
  const t = performance.now();
  await ssh.getFile("/tmp/big.bin", join(dir, "back.bin"));
  console.log(`${"SFTP get (fastGet)".padEnd(28)} ${rate(performance.now() - t)}`);
  await rm(join(dir, "back.bin"));
  await time("exec stdin stream (cat >)", () =>
    ssh.exec("cat > /tmp/big.bin", { stdin: createReadStream(file), check: true }),
  );
  await time("tar in (host dir, tar-stream)", () => ssh.putTar(payloadDir, "/tmp/tarin"));
  await ssh.exec("cp /tmp/tarin/big.bin /tmp/big.bin", { check: true });
  const t2 = performance.now();
  await ssh.exec("mkdir -p /tmp/tarout && cp /tmp/big.bin /tmp/tarout/", { check: true });
  const t3 = performance.now();
  await ssh.getTar("/tmp/tarout", join(dir, "tarout"));
  console.log(
    `${"tar out (into host dir)".padEnd(28)} ${rate(performance.now() - t3)} (guest copy ${((t3 - t2) / 1000).toFixed(1)} s excluded)`,
  );
  await time("scp put (OpenSSH)", async () => {
    execFileSync("scp", [...scpArgs, file, `${remote}:/tmp/big.bin`]);
  });
  const t4 = performance.now();
  execFileSync("scp", [...scpArgs, `${remote}:/tmp/tarout/big.bin`, join(dir, "scp-back.bin")]);
  console.log(`${"scp get (OpenSSH)".padEnd(28)} ${rate(performance.now() - t4)}`);
} finally {
  await close();
}
