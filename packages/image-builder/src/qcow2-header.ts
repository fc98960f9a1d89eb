import { open } from "node:fs/promises";
import { HostToolError, runHostTool } from "@strata/host-tool";

/**
 * Every other file a qcow2 names, from `qemu-img info --output=json` (pure): a backing file,
 * an external data file (`format-specific.data.data-file`, made with `-o data_file=`), or a
 * `json:` file name (which can name any driver and file). Also refuses anything qemu-img does not
 * read as qcow2: a raw or vmdk file under a .qcow2 name could name extents of its own.
 */
function qcow2ExternalReferences(info: unknown): string[] {
  const problems: string[] = [];
  const o = (typeof info === "object" && info !== null ? info : {}) as Record<string, unknown>;
  if (o.format !== "qcow2") problems.push(`it is ${JSON.stringify(o.format)}, not qcow2`);
  for (const key of ["backing-filename", "full-backing-filename", "backing-filename-format"])
    if (o[key] !== undefined)
      problems.push(`it names a backing file (${key}: ${JSON.stringify(o[key])})`);
  const specific = (o["format-specific"] ?? {}) as { data?: Record<string, unknown> };
  const data = specific.data ?? {};
  if (data["data-file"] !== undefined || data["data-file-raw"] === true)
    problems.push(`it names an external data file (${JSON.stringify(data["data-file"] ?? "")})`);
  if (typeof o.filename === "string" && o.filename.startsWith("json:"))
    problems.push(`its file name is a json: specification (${o.filename})`);
  if (o["backing-image"] !== undefined) problems.push("it has a backing image");
  return problems;
}

/**
 * Why a qcow2 may not be imported (empty when it may): anything it names besides itself. Reads
 * the header directly first (the external-data-file bit is bit 2 of the incompatible features,
 * a u64 at offset 72 of a version 3 header), then asks `qemu-img info -f qcow2 -U`, which reads
 * the header the way QEMU will (`-f`: never probe the format).
 */
export async function checkStandaloneQcow2(path: string, signal?: AbortSignal): Promise<string[]> {
  const problems: string[] = [];
  const file = await open(path, "r");
  try {
    const header = Buffer.alloc(80);
    const { bytesRead } = await file.read(header, 0, 80, 0);
    if (bytesRead < 72 || header.readUInt32BE(0) !== 0x514649fb)
      return ["it is not a qcow2 image (bad magic)"];
    const version = header.readUInt32BE(4);
    if (header.readBigUInt64BE(8) !== 0n) problems.push("its header names a backing file");
    if (version >= 3 && bytesRead >= 80 && (header.readBigUInt64BE(72) & 4n) !== 0n)
      problems.push("its header sets the external data file feature");
  } finally {
    await file.close();
  }
  let info: string;
  try {
    info = await runHostTool("qemu-img", ["info", "-f", "qcow2", "-U", "--output=json", path], {
      signal,
    });
  } catch (e) {
    if (!(e instanceof HostToolError)) throw e;
    return [...problems, `qemu-img info failed: ${e.tail.trim() || e.message}`];
  }
  const seen = new Set(problems);
  for (const p of qcow2ExternalReferences(JSON.parse(info) as unknown))
    if (!seen.has(p)) problems.push(p);
  return problems;
}
