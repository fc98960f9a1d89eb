export { commands } from "./commands/index.js";
export { main, PROGRAM } from "./main.js";
