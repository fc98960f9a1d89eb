export { UsageError } from "@strata/cli-kit";
