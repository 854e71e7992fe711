interface Slot<T> {
  item: T;
  /** Where the slot sits in the array: kept on the slot so that moving it costs no map write. */
  at: number;
}

/**
 * A binary min-heap that knows where each member sits, so that membership tests, updates and removals are O(log n):
 * the per-target indices of routable agents and waiting tasks.
 */
export class IndexedHeap<T> {
  readonly #slots: Slot<T>[] = [];
  readonly #byId = new Map<string, Slot<T>>();

  constructor(
    private readonly idOf: (item: T) => string,
    private readonly before: (a: T, b: T) => boolean,
  ) {}

  get size(): number {
    return this.#slots.length;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  peek(): T | undefined {
    return this.#slots[0]?.item;
  }

  /** Inserts `item`, or moves it if a member with the same id is there already. */
  upsert(item: T): void {
    const id = this.idOf(item);
    const slot = this.#byId.get(id);
    if (slot === undefined) {
      const added = { item, at: this.#slots.length };
      this.#slots.push(added);
      this.#byId.set(id, added);
      this.#up(added.at);
    } else {
      slot.item = item;
      this.#down(this.#up(slot.at));
    }
  }

  delete(id: string): boolean {
    const slot = this.#byId.get(id);
    if (slot === undefined) return false;
    this.#byId.delete(id);
    const last = this.#slots.pop()!;
    if (last !== slot) {
      this.#slots[slot.at] = last;
      last.at = slot.at;
      this.#down(this.#up(last.at));
    }
    return true;
  }

  /** Members in order, lazily, without disturbing the heap (a frontier walk of its tree: O(k²) for the first k). */
  *ordered(): Generator<T> {
    const slots = this.#slots;
    if (slots.length === 0) return;
    const frontier: number[] = [0];
    const less = (i: number, j: number) => this.before(slots[i]!.item, slots[j]!.item);
    while (frontier.length > 0) {
      let best = 0;
      for (let k = 1; k < frontier.length; k++) if (less(frontier[k]!, frontier[best]!)) best = k;
      const i = frontier[best]!;
      frontier[best] = frontier[frontier.length - 1]!;
      frontier.pop();
      yield slots[i]!.item;
      if (2 * i + 1 < slots.length) frontier.push(2 * i + 1);
      if (2 * i + 2 < slots.length) frontier.push(2 * i + 2);
    }
  }

  #place(slot: Slot<T>, at: number): void {
    this.#slots[at] = slot;
    slot.at = at;
  }

  #up(i: number): number {
    const slots = this.#slots;
    const moving = slots[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(moving.item, slots[parent]!.item)) break;
      this.#place(slots[parent]!, i);
      i = parent;
    }
    this.#place(moving, i);
    return i;
  }

  #down(i: number): void {
    const slots = this.#slots;
    const moving = slots[i]!;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let child = left;
      if (left >= slots.length) break;
      if (right < slots.length && this.before(slots[right]!.item, slots[left]!.item)) child = right;
      if (!this.before(slots[child]!.item, moving.item)) break;
      this.#place(slots[child]!, i);
      i = child;
    }
    this.#place(moving, i);
  }
}
