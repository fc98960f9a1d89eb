import type { Command, OptionTable } from "./command.js";
import { EXIT_CODES } from "./exit-code-table.js";
import { EXIT_STATUS_MEANINGS } from "./exit-codes.js";
import { EXIT_CODE_FOR_SIGNAL } from "./interrupt.js";

/** Help text is written for a terminal column: one paragraph for Markdown. */
function joinLines(text: string): string {
  return text
    .split("\n")
    .map((line) => line.trim())
    .join(" ");
}

/** `<` and `>` would read as HTML tags. */
function escapeHtml(text: string): string {
  return text.replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Plain help text in a table cell: no Markdown in it, and `|` would end the cell. */
function escapeCell(text: string): string {
  return escapeHtml(text.replace(/[\\`*_[\]]/g, "\\$&")).replaceAll("|", "\\|");
}

function formatFlag(name: string, spec: OptionTable[string]): string {
  const short = spec.short === undefined ? "" : `-${spec.short}, `;
  const value = spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : "";
  const repeat = spec.multiple ? " (repeatable)" : "";
  // GFM splits table rows on `|` before it reads code spans, so the pipe is escaped there too.
  return `\`${short}--${name}${value}\``.replaceAll("|", "\\|") + repeat;
}

/** One command: heading, summary, usage block, description, then a table of its options. */
function formatCommand(program: string, command: Command, level: number): string {
  const forms = typeof command.synopsis === "string" ? [command.synopsis] : command.synopsis;
  const parts = [`${"#".repeat(level)} \`${program} ${command.name}\``, command.summary];
  if (command.aliases?.length) {
    parts.push(`Also: ${command.aliases.map((a) => `\`${program} ${a}\``).join(", ")}.`);
  }
  parts.push(
    ["```text", ...forms.map((form) => `${program} ${command.name} ${form}`), "```"].join("\n"),
  );
  const description = command.description?.trimEnd().replace(/^\n+/, "");
  // Help laid out in columns (indented lines) stays as written; prose becomes a paragraph.
  if (description && /\n[ \t]/.test(description)) {
    parts.push(["```text", description, "```"].join("\n"));
  } else if (description) parts.push(escapeHtml(description));
  const options = Object.entries(command.options);
  if (options.length > 0) {
    const rows = options.map(
      ([name, spec]) => `| ${formatFlag(name, spec)} | ${escapeCell(joinLines(spec.help))} |`,
    );
    parts.push(["| option | meaning |", "| --- | --- |", ...rows].join("\n"));
  }
  return parts.join("\n\n");
}

/**
 * Every command of a program as Markdown, generated from the same tables as `--help` (so the
 * two cannot drift): a heading per command at `level`, its usage forms, description and options.
 */
export function formatCommandsMarkdown(
  program: string,
  commands: readonly Command[],
  level = 3,
): string {
  return `${commands.map((command) => formatCommand(program, command, level)).join("\n\n")}\n`;
}

/**
 * The exit statuses both apps use, each with its meaning and the error codes that map to it
 * (from {@link EXIT_CODES}), and the statuses of the stop signals.
 */
export function formatExitCodesMarkdown(): string {
  const codesByStatus = new Map<number, string[]>();
  for (const [code, status] of Object.entries(EXIT_CODES)) {
    codesByStatus.set(status, [...(codesByStatus.get(status) ?? []), code]);
  }
  const signalByStatus = new Map(
    Object.entries(EXIT_CODE_FOR_SIGNAL).map(([signal, status]) => [status, signal]),
  );
  const statuses = [
    ...new Set([...Object.keys(EXIT_STATUS_MEANINGS).map(Number), ...signalByStatus.keys()]),
  ].sort((a, b) => a - b);
  const rows = statuses.map((status) => {
    const signal = signalByStatus.get(status);
    const meaning =
      EXIT_STATUS_MEANINGS[status as keyof typeof EXIT_STATUS_MEANINGS] ??
      `stopped by ${signal}; cleaned up as for Ctrl-C`;
    const codes = (codesByStatus.get(status) ?? []).map((code) => `\`${code}\``).join(", ");
    return `| ${status} | ${meaning.replaceAll("|", "\\|")} | ${codes} |`;
  });
  return `${["| status | meaning | error codes |", "| --- | --- | --- |", ...rows].join("\n")}\n`;
}
