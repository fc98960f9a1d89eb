import type { ImageProgress, ImageStage } from "./progress.js";

/** mmdebstrap's own stage lines (`I: downloading packages with apt...`), worth a heading each. */
const MMDEBSTRAP_STAGES =
  /^I: (running apt-get update|downloading packages|extracting archives|installing essential packages|installing remaining packages|running --customize-hook|cleaning package lists)/;

/**
 * Turns a host tool's output line into the most useful progress event: qemu-img's `-p`
 * counter `(12.34/100%)` becomes a percentage, mmdebstrap's stage lines become stages, the rest
 * stays output.
 */
export function classifyToolLine(stage: ImageStage, line: string): ImageProgress {
  const percent = /^\s*\((\d+(?:\.\d+)?)\/100%\)\s*$/.exec(line);
  if (percent) return { type: "percent", stage, percent: Number(percent[1]) };
  if (MMDEBSTRAP_STAGES.test(line))
    return {
      type: "stage",
      stage,
      message: line
        .slice(3)
        .replace(/\.\.\.$/, "")
        .replace(/ in shell: .*/, ""),
    };
  return { type: "output", stage, line };
}
