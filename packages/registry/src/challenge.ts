/** One `WWW-Authenticate` challenge: its scheme (lowercase) and parameters. */
export interface AuthChallenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235): `Bearer realm="...",service="...",scope="..."`
 * or `Basic realm="..."`. Several challenges may share the header; parameters are `key=value`
 * or `key="quoted, value"`.
 */
export function parseChallenges(header: string): AuthChallenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  const re =
    /\s*(?:([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?=\s+[A-Za-z]|\s*,|\s*$)|([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*)))\s*,?/gy;
  let match: RegExpExecArray | null = re.exec(header);
  while (match !== null && match[0] !== "") {
    if (match[1] !== undefined) {
      challenges.push({ scheme: match[1].toLowerCase(), params: {} });
    } else if (match[2] !== undefined) {
      const current = challenges.at(-1);
      const value = match[3] !== undefined ? match[3].replace(/\\(.)/g, "$1") : (match[4] ?? "");
      if (current) current.params[match[2].toLowerCase()] = value;
    }
    match = re.exec(header);
  }
  return challenges;
}

/** The token scope string for a repository and actions (`repository:NAME:pull,push`). */
export function repositoryScope(repository: string, actions: readonly ("pull" | "push")[]): string {
  return `repository:${repository}:${actions.join(",")}`;
}
