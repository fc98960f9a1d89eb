import { open } from "node:fs/promises";
import { MAX_TAIL_BYTES } from "@strata/host-tool";

// Terminal control sequences (SeaBIOS clears the screen, systemd colours its status lines).
const ANSI = /\x1b(?:\[[0-9;?]*[A-Za-z]|[()][A-Za-z0-9]|[A-Za-z])/g;

/** Makes console output readable in an error message: no escapes, no CRs. */
function cleanConsoleText(text: string): string {
  return text.replace(ANSI, "").replace(/\r+\n/g, "\n").replace(/\r/g, "\n");
}

/** The last `bytes` bytes of a (growing) log file, cleaned; "" when it does not exist yet. */
export async function readFileTail(path: string, bytes = MAX_TAIL_BYTES): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return cleanConsoleText(buffer.toString("utf8"));
  } finally {
    await handle.close();
  }
}
