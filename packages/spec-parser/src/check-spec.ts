import type { Mount, Op, Spec, SpecLocations } from "./ast.js";
import { hasParentComponent } from "./parse-copy.js";
import type { SourceLocation, SpecProblem } from "./problem.js";

const NOWHERE: SourceLocation = { file: "<spec>", line: 1, column: 1 };

function placeOf(locations: SpecLocations, node: object, fallback: SourceLocation) {
  return locations.get(node) ?? fallback;
}

function checkMounts(
  kind: "cache" | "secret",
  mounts: readonly Mount[],
  locations: SpecLocations,
  at: SourceLocation,
  report: (at: SourceLocation, message: string) => void,
) {
  const seen = new Map<string, SourceLocation>();
  for (const mount of mounts) {
    const place = placeOf(locations, mount, at);
    const first = seen.get(mount.id);
    if (first !== undefined) {
      report(
        place,
        `${kind} entry: duplicate id "${mount.id}"; the first one is at ${first.line}:${first.column}`,
      );
    } else seen.set(mount.id, place);
  }
}

function checkOp(
  op: Op,
  at: SourceLocation,
  locations: SpecLocations,
  report: (at: SourceLocation, message: string) => void,
) {
  if (op.op === "copy") {
    for (const path of op.src) {
      if (hasParentComponent(path)) {
        report(
          at,
          `copy: source ${JSON.stringify(path)} must not contain ".."; sources stay inside the context`,
        );
      }
    }
    const intoDir = op.dst.endsWith("/") || op.dst.endsWith("\\");
    if (!intoDir && op.src.length !== 1) {
      report(
        at,
        `copy: expected exactly one source because (dst ${op.dst}) does not end with "/", found ${op.src.length}; add a trailing "/" to copy into a directory`,
      );
    }
  } else if (op.op === "run") {
    checkMounts("cache", op.cache, locations, at, report);
    checkMounts("secret", op.secrets, locations, at, report);
  } else if (op.op === "user" && "uid" in op.user) {
    for (const key of ["uid", "gid"] as const) {
      if (op.user[key] < 0) {
        report(at, `user: expected a non-negative integer ${key}, found ${op.user[key]}`);
      }
    }
  }
}

/**
 * The checks OBuilder's parser leaves to build time: a spec that fails them still parses, prints
 * (`fmt`, with these as warnings) and converts (`dockerfile`), but `build` refuses it before any
 * VM starts. Each problem has the place of the operation (or build) it is about.
 */
export function checkSpec(spec: Spec, locations: SpecLocations): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const report = (at: SourceLocation, message: string) =>
    problems.push({ file: at.file, line: at.line, column: at.column, message });
  const visit = (stage: Spec, fallback: SourceLocation) => {
    const stageAt = placeOf(locations, stage, fallback);
    const defined = new Map<string, SourceLocation>();
    for (const build of stage.builds) {
      const at = placeOf(locations, build, stageAt);
      const first = defined.get(build.name);
      if (first !== undefined) {
        report(
          at,
          `build "${build.name}" is already defined at ${first.line}:${first.column}; use another name`,
        );
      } else defined.set(build.name, at);
      visit(build.spec, at);
    }
    for (const op of stage.ops) checkOp(op, placeOf(locations, op, stageAt), locations, report);
  };
  visit(spec, NOWHERE);
  return problems;
}
