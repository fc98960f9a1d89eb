import type { ArgumentKind, Command, OptionTable } from "./command.js";
import { defineCommand } from "./command.js";
import { EXIT_OK } from "./exit-codes.js";
import { UsageError } from "./usage-error.js";

/** The shells `PROGRAM completion SHELL` writes a script for. */
export const COMPLETION_SHELLS = ["bash", "zsh", "fish"] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** Where the names of an argument kind come from at completion time (the store's own listing). */
const LISTINGS: Partial<Record<string, string>> = {
  layer: "strata ls -q 2>/dev/null",
  image: "strata-image ls -q 2>/dev/null",
};

function functionName(program: string): string {
  return `_${program.replace(/[^A-Za-z0-9]/g, "_")}`;
}

function flagWords(options: OptionTable): string[] {
  return Object.entries(options).flatMap(([name, spec]) =>
    spec.short === undefined ? [`--${name}`] : [`--${name}`, `-${spec.short}`],
  );
}

function valueFlags(options: OptionTable): string[] {
  return Object.entries(options)
    .filter(([, spec]) => spec.type === "string")
    .flatMap(([name, spec]) =>
      spec.short === undefined ? [`--${name}`] : [`--${name}`, `-${spec.short}`],
    );
}

function kindAt(command: Command, index: number): ArgumentKind {
  const kinds = command.complete ?? [];
  return kinds[Math.min(index, kinds.length - 1)] ?? "none";
}

// A bash word list is single-quoted; none of our words hold a quote.
const words = (list: readonly string[]) => `'${list.join(" ")}'`;

function bashKind(kind: ArgumentKind): string {
  if (typeof kind !== "string") return `COMPREPLY=($(compgen -W ${words(kind)} -- "$cur"))`;
  if (kind === "file") return `COMPREPLY=($(compgen -f -- "$cur"))`;
  if (kind === "dir") return `COMPREPLY=($(compgen -d -- "$cur"))`;
  const listing = LISTINGS[kind];
  return listing ? `COMPREPLY=($(compgen -W "$(${listing})" -- "$cur"))` : "COMPREPLY=()";
}

function bashScript(program: string, commands: readonly Command[]): string {
  const names = commands.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  const cases = commands
    .map((c) => {
      const patterns = [c.name, ...(c.aliases ?? [])].join("|");
      const maxKinds = Math.max(1, c.complete?.length ?? 1);
      const positional = Array.from({ length: maxKinds }, (_, i) => {
        const test = i === maxKinds - 1 ? "*" : String(i);
        return `        ${test}) ${bashKind(kindAt(c, i))} ;;`;
      }).join("\n");
      return `    ${patterns})
      flags=${words(flagWords(c.options))}
      values=${words(valueFlags(c.options))}
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); return; fi
      if [[ " $values " == *" $prev "* ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
      case $npos in
${positional}
      esac ;;`;
    })
    .join("\n");
  const fn = functionName(program);
  return `# bash completion for ${program}, generated from its command tables ("${program} completion bash").
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local cmd="" npos=0 i word flags values
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if [[ -z "$cmd" ]]; then [[ "$word" != -* ]] && cmd=$word; continue; fi
    [[ "$word" == -* ]] && continue
    case " $values " in *" \${COMP_WORDS[i-1]} "*) continue ;; esac
    npos=$((npos + 1))
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W ${words([...names, "--help", "--version"])} -- "$cur"))
    return
  fi
  case $cmd in
${cases}
  esac
}
complete -F ${fn} ${program}
`;
}

// values must be known while counting positionals: a first pass computes them per command.
function bashScriptWithValues(program: string, commands: readonly Command[]): string {
  const script = bashScript(program, commands);
  const lookups = commands
    .map(
      (c) =>
        `    ${[c.name, ...(c.aliases ?? [])].join("|")}) values=${words(valueFlags(c.options))} ;;`,
    )
    .join("\n");
  return script.replace(
    '  local cmd="" npos=0 i word flags values\n',
    `  local cmd="" npos=0 i word flags values=""\n  for ((i = 1; i < COMP_CWORD; i++)); do
    [[ "\${COMP_WORDS[i]}" == -* ]] && continue
    case \${COMP_WORDS[i]} in
${lookups}
    esac
    break
  done\n`,
  );
}

function zshScript(program: string, commands: readonly Command[]): string {
  // zsh runs the bash function through bashcompinit: one table, one behaviour in both shells.
  return `#compdef ${program}
# zsh completion for ${program}, generated from its command tables ("${program} completion zsh").
autoload -U +X bashcompinit && bashcompinit
${bashScriptWithValues(program, commands).split("\n").slice(1).join("\n")}`;
}

const fishQuote = (text: string) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

function fishKind(kind: ArgumentKind): string {
  if (typeof kind !== "string") return `-f -a ${fishQuote(kind.join(" "))}`;
  if (kind === "file" || kind === "dir") return "-F";
  const listing = LISTINGS[kind];
  return listing ? `-f -a ${fishQuote(`(${listing})`)}` : "-f";
}

function fishScript(program: string, commands: readonly Command[]): string {
  const all = commands.flatMap((c) => [c.name, ...(c.aliases ?? [])]).join(" ");
  const lines = [
    `# fish completion for ${program}, generated from its command tables ("${program} completion fish").`,
    `complete -c ${program} -f`,
    `complete -c ${program} -n "not __fish_seen_subcommand_from ${all}" -l version -d 'print the version'`,
  ];
  for (const c of commands) {
    const names = [c.name, ...(c.aliases ?? [])];
    const seen = `__fish_seen_subcommand_from ${names.join(" ")}`;
    for (const name of names)
      lines.push(
        `complete -c ${program} -n "not __fish_seen_subcommand_from ${all}" -a ${name} -d ${fishQuote(c.summary)}`,
      );
    for (const [flag, spec] of Object.entries(c.options)) {
      const short = spec.short === undefined ? "" : ` -s ${spec.short}`;
      const value = spec.type === "string" ? " -r" : "";
      const help = fishQuote(spec.help.split("\n")[0]!);
      lines.push(`complete -c ${program} -n "${seen}" -l ${flag}${short}${value} -d ${help}`);
    }
    if (c.maxArguments > 0)
      lines.push(`complete -c ${program} -n "${seen}" ${fishKind(kindAt(c, 0))}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The completion script for `shell`, generated from the same command tables as `--help`. */
export function formatCompletion(
  shell: CompletionShell,
  program: string,
  commands: readonly Command[],
): string {
  if (shell === "bash") return bashScriptWithValues(program, commands);
  if (shell === "zsh") return zshScript(program, commands);
  return fishScript(program, commands);
}

/**
 * `PROGRAM completion bash|zsh|fish`: prints the script. `commands` is read when it runs, so the
 * table it belongs to may include it.
 */
export function createCompletionCommand(program: string, commands: () => readonly Command[]) {
  return defineCommand({
    name: "completion",
    summary: "print a shell completion script for bash, zsh or fish",
    synopsis: "bash|zsh|fish",
    maxArguments: 1,
    complete: [COMPLETION_SHELLS],
    description: `Prints a completion script generated from the same tables as --help. Load it with
  bash:  source <(${program} completion bash)     (or save it in ~/.local/share/bash-completion/completions/${program})
  zsh:   source <(${program} completion zsh)
  fish:  ${program} completion fish > ~/.config/fish/completions/${program}.fish`,
    options: {},
    async run({ positionals }, io) {
      const shell = positionals[0];
      if (!(COMPLETION_SHELLS as readonly (string | undefined)[]).includes(shell))
        throw new UsageError(
          `expected one of ${COMPLETION_SHELLS.join(", ")}; see "${program} completion --help"`,
        );
      io.stdout.write(formatCompletion(shell as CompletionShell, program, commands()));
      return EXIT_OK;
    },
  });
}
