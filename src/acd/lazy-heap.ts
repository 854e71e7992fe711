/**
 * A binary min-heap whose members die in place: `alive` says whether a member still counts, and dead ones are dropped
 * when they reach the top or by a compaction. The routable-agent indices use it: an agent belongs to a heap per
 * (target, channel), some two dozen of them, and one flag on an entry shared by all those heaps takes it out of every
 * one at once, where an indexed heap needs a removal (a map lookup and a sift) in each.
 */
export class LazyHeap<T> {
  #items: T[] = [];

  constructor(
    private readonly before: (a: T, b: T) => boolean,
    private readonly alive: (item: T) => boolean,
  ) {}

  /** Members, dead ones included. */
  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const items = this.#items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(item, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  /** The first live member, dropping the dead ones above it. */
  peek(): T | undefined {
    const items = this.#items;
    while (items.length > 0 && !this.alive(items[0]!)) {
      const last = items.pop()!;
      if (items.length > 0) this.#down(0, last);
    }
    return items[0];
  }

  /**
   * Calls `visit` with live members in order until it returns false, without disturbing the heap: a frontier walk of
   * its tree, O(k²) for the first k members (dead ones included), which is cheap for the first two or three.
   */
  walk(visit: (item: T) => boolean): void {
    if (this.peek() === undefined) return;
    const items = this.#items;
    const frontier: number[] = [0];
    while (frontier.length > 0) {
      let best = 0;
      for (let k = 1; k < frontier.length; k++) if (this.before(items[frontier[k]!]!, items[frontier[best]!]!)) best = k;
      const i = frontier[best]!;
      frontier[best] = frontier[frontier.length - 1]!;
      frontier.pop();
      // A dead member still orders its subtree: walk past it.
      if (this.alive(items[i]!) && !visit(items[i]!)) return;
      if (2 * i + 1 < items.length) frontier.push(2 * i + 1);
      if (2 * i + 2 < items.length) frontier.push(2 * i + 2);
    }
  }

  /** Drops every dead member: O(n), for the owner to call once the dead outnumber the live. */
  compact(): void {
    const items = this.#items.filter((item) => this.alive(item));
    this.#items = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.#down(i, items[i]!);
  }

  /** Puts `moving` at i or below, where it belongs in the subtree rooted at i. */
  #down(i: number, moving: T): void {
    const items = this.#items;
    const n = items.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.before(items[right]!, items[left]!) ? right : left;
      if (!this.before(items[child]!, moving)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = moving;
  }
}
