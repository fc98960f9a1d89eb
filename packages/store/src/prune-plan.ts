/** A layer as prune planning sees it. */
export interface PruneCandidate {
  id: string;
  parent?: string;
  /** Milliseconds since the epoch. */
  lastUsed: number;
  bytes: number;
}

/** When to stop pruning; without `maxSizeBytes` and `keepFreePercent`, every eligible layer goes. */
export interface PrunePlanOptions {
  /** Only layers last used before this time (ms since the epoch) may go. */
  before?: number;
  /** Stop once the layers take at most this many bytes. */
  maxSizeBytes?: number;
  /** Stop once this percentage of the filesystem is free (needs `filesystem`). */
  keepFreePercent?: number;
  filesystem?: { free: number; total: number };
  /** Layers a running build holds: never removed, so neither are their ancestors. */
  pinned?: ReadonlySet<string>;
}

function older(a: PruneCandidate, b: PruneCandidate): boolean {
  return a.lastUsed < b.lastUsed || (a.lastUsed === b.lastUsed && a.id < b.id);
}

/** A binary min-heap on (lastUsed, id). */
class LruHeap {
  readonly #items: PruneCandidate[] = [];
  get size(): number {
    return this.#items.length;
  }
  push(item: PruneCandidate): void {
    const items = this.#items;
    items.push(item);
    for (let i = items.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (!older(items[i]!, items[up]!)) break;
      [items[i], items[up]] = [items[up]!, items[i]!];
      i = up;
    }
  }
  pop(): PruneCandidate | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < items.length && older(items[l]!, items[min]!)) min = l;
      if (r < items.length && older(items[r]!, items[min]!)) min = r;
      if (min === i) break;
      [items[i], items[min]] = [items[min]!, items[i]!];
      i = min;
    }
    return top;
  }
}

/**
 * Which layers to remove, in order: always a leaf (a layer nothing is built on), the least
 * recently used first; removing a leaf may turn its parent into one. Pure: no files, no clock.
 */
export function planPrune(layers: readonly PruneCandidate[], options: PrunePlanOptions): string[] {
  const children = new Map<string, number>();
  for (const layer of layers) {
    if (layer.parent !== undefined) {
      children.set(layer.parent, (children.get(layer.parent) ?? 0) + 1);
    }
  }
  const byId = new Map(layers.map((layer) => [layer.id, layer]));
  const eligible = (layer: PruneCandidate) =>
    (children.get(layer.id) ?? 0) === 0 &&
    !options.pinned?.has(layer.id) &&
    (options.before === undefined || layer.lastUsed < options.before);
  let size = layers.reduce((sum, layer) => sum + layer.bytes, 0);
  let free = options.filesystem?.free ?? 0;
  const fsTotal = options.filesystem?.total ?? 0;
  const limited = options.maxSizeBytes !== undefined || options.keepFreePercent !== undefined;
  const satisfied = () =>
    (options.maxSizeBytes === undefined || size <= options.maxSizeBytes) &&
    (options.keepFreePercent === undefined ||
      fsTotal === 0 ||
      (free / fsTotal) * 100 >= options.keepFreePercent);
  const heap = new LruHeap();
  for (const layer of layers) if (eligible(layer)) heap.push(layer);
  const plan: string[] = [];
  while (heap.size > 0 && !(limited && satisfied())) {
    const layer = heap.pop()!;
    plan.push(layer.id);
    size -= layer.bytes;
    free += layer.bytes;
    if (layer.parent === undefined) continue;
    children.set(layer.parent, (children.get(layer.parent) ?? 1) - 1);
    const parent = byId.get(layer.parent);
    if (parent && eligible(parent)) heap.push(parent);
  }
  return plan;
}

/** `id` and every layer built on it, children before parents (a safe removal order). */
export function subtreePostOrder(
  layers: readonly Pick<PruneCandidate, "id" | "parent">[],
  id: string,
): string[] {
  const kids = new Map<string, string[]>();
  for (const layer of layers) {
    if (layer.parent === undefined) continue;
    const list = kids.get(layer.parent) ?? [];
    list.push(layer.id);
    kids.set(layer.parent, list);
  }
  const order: string[] = [];
  const visit = (node: string) => {
    for (const child of kids.get(node) ?? []) visit(child);
    order.push(node);
  };
  visit(id);
  return order;
}
