/** Edit distance where swapping two neighbours counts as one edit ("rnu" is 1 from "run"). */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, before[j - 2]! + 1);
      }
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/** The candidates closest to `word` (few edits away), best first. */
function findSuggestions(word: string, candidates: readonly string[]): string[] {
  const limit = Math.max(1, Math.floor(word.length / 3));
  const scored = candidates
    .map((candidate) => ({ candidate, distance: editDistance(word.toLowerCase(), candidate) }))
    .filter(({ distance }) => distance <= limit)
    .sort((a, b) => a.distance - b.distance);
  const best = scored[0]?.distance;
  return scored.filter(({ distance }) => distance === best).map(({ candidate }) => candidate);
}

/** ` Did you mean "x"?` or an empty string when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const found = findSuggestions(word, candidates).map((s) => JSON.stringify(s));
  if (found.length === 0) return "";
  const last = found.pop();
  return ` Did you mean ${found.length > 0 ? `${found.join(", ")} or ${last}` : last}?`;
}

/** `a, b or c` */
export function listWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}
