/**
 * A binary min-heap that knows where each member sits, so that membership tests, updates and removals are O(log n):
 * the per-target indices of routable agents and waiting tasks.
 */
export class IndexedHeap<T> {
  readonly #items: T[] = [];
  readonly #positions = new Map<string, number>();

  constructor(
    private readonly idOf: (item: T) => string,
    private readonly before: (a: T, b: T) => boolean,
  ) {}

  get size(): number {
    return this.#items.length;
  }

  has(id: string): boolean {
    return this.#positions.has(id);
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  /** Inserts `item`, or moves it if a member with the same id is there already. */
  upsert(item: T): void {
    const id = this.idOf(item);
    const at = this.#positions.get(id);
    if (at === undefined) {
      this.#items.push(item);
      this.#positions.set(id, this.#items.length - 1);
      this.#up(this.#items.length - 1);
    } else {
      this.#items[at] = item;
      this.#down(this.#up(at));
    }
  }

  delete(id: string): boolean {
    const at = this.#positions.get(id);
    if (at === undefined) return false;
    const last = this.#items.pop()!;
    this.#positions.delete(id);
    if (at < this.#items.length) {
      this.#items[at] = last;
      this.#positions.set(this.idOf(last), at);
      this.#down(this.#up(at));
    }
    return true;
  }

  /** Members in order, lazily, without disturbing the heap (a frontier walk of its tree: O(k²) for the first k). */
  *ordered(): Generator<T> {
    const items = this.#items;
    if (items.length === 0) return;
    const frontier: number[] = [0];
    const less = (i: number, j: number) => this.before(items[i]!, items[j]!);
    while (frontier.length > 0) {
      let best = 0;
      for (let k = 1; k < frontier.length; k++) if (less(frontier[k]!, frontier[best]!)) best = k;
      const i = frontier[best]!;
      frontier[best] = frontier[frontier.length - 1]!;
      frontier.pop();
      yield items[i]!;
      if (2 * i + 1 < items.length) frontier.push(2 * i + 1);
      if (2 * i + 2 < items.length) frontier.push(2 * i + 2);
    }
  }

  #swap(i: number, j: number): void {
    const items = this.#items;
    [items[i], items[j]] = [items[j]!, items[i]!];
    this.#positions.set(this.idOf(items[i]!), i);
    this.#positions.set(this.idOf(items[j]!), j);
  }

  #up(i: number): number {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(this.#items[i]!, this.#items[parent]!)) break;
      this.#swap(i, parent);
      i = parent;
    }
    return i;
  }

  #down(i: number): void {
    const items = this.#items;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && this.before(items[left]!, items[smallest]!)) smallest = left;
      if (right < items.length && this.before(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }
}
