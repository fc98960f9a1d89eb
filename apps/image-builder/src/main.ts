import { createRequire } from "node:module";
import { type Program, type ProgramEntry, programEntry, UsageError } from "@strata/cli-kit";
import { HostToolBaseError } from "@strata/host-tool";
import { ImageBuildError } from "@strata/image-builder";
import { TransferError } from "@strata/layer-transfer";
import { QemuError } from "@strata/qemu-runner";
import { RegistryError } from "@strata/registry";
import { ShellQuoteError } from "@strata/shell-quote";
import { SshError } from "@strata/ssh-transport";
import { StoreError } from "@strata/store/layout";
import { commands as allCommands } from "./commands/index.js";

/** This package's version (src/ and dist/ both sit beside package.json). */
export const VERSION: string = createRequire(import.meta.url)("../package.json").version;

/** `strata-image`: its commands and the base classes of the errors it reports as known. */
export const PROGRAM: Program = {
  name: "strata-image",
  version: VERSION,
  commands: allCommands,
  knownErrors: [
    UsageError,
    ImageBuildError,
    StoreError,
    QemuError,
    SshError,
    ShellQuoteError,
    RegistryError,
    TransferError,
    HostToolBaseError,
  ],
};

/** `strata-image ARGV` resolving to its exit status (see README.md), and the binary's entry. */
export const { main, start }: ProgramEntry = programEntry(PROGRAM);
