/** The markers around a generated part of a hand-written Markdown file. */
function markers(name: string): [string, string] {
  return [`<!-- generated:${name} -->`, `<!-- /generated:${name} -->`];
}

/**
 * `text` with the block between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`
 * replaced by `content` (the prose around it is kept). Throws when the markers are missing.
 */
export function replaceGeneratedBlock(text: string, name: string, content: string): string {
  const [open, close] = markers(name);
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) throw new Error(`no "${open}" ... "${close}" block`);
  return `${text.slice(0, start + open.length)}\n\n${content.trim()}\n\n${text.slice(end)}`;
}
