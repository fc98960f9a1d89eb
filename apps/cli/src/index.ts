export { commands } from "./commands/index.js";
export { InputError, KNOWN_ERRORS, SpecFileError, UsageError } from "./errors.js";
export { main } from "./main.js";
export { renderProblems } from "./render-problems.js";
