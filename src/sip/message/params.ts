import { Scanner } from './scanner';

/**
 * An ordered list of `;name[=value]` parameters. Names compare case-insensitively; values are kept as
 * written (a quoted value keeps its quotes) so unknown parameters survive a parse/serialize round trip.
 */
export class Params {
  readonly #entries: Array<[string, string | null]> = [];
  /** Lowercased names present, so that appending a new name (what parsing does) is O(1), not a scan. */
  readonly #names = new Set<string>();

  get size(): number {
    return this.#entries.length;
  }

  has(name: string): boolean {
    return this.#names.has(name.toLowerCase());
  }

  /** The value, `null` for a parameter without value, `undefined` when absent. */
  get(name: string): string | null | undefined {
    const i = this.#index(name);
    return i < 0 ? undefined : this.#entries[i]![1];
  }

  set(name: string, value: string | null = null): this {
    const lower = name.toLowerCase();
    const i = this.#names.has(lower) ? this.#index(name) : -1;
    if (i < 0) {
      this.#entries.push([name, value]);
      this.#names.add(lower);
    } else {
      this.#entries[i]![1] = value;
    }
    return this;
  }

  delete(name: string): void {
    const i = this.#index(name);
    if (i >= 0) this.#entries.splice(i, 1);
    this.#names.delete(name.toLowerCase());
  }

  entries(): ReadonlyArray<readonly [string, string | null]> {
    return this.#entries;
  }

  clone(): Params {
    const copy = new Params();
    for (const [name, value] of this.#entries) copy.set(name, value);
    return copy;
  }

  toString(): string {
    let out = '';
    for (const [name, value] of this.#entries) out += value === null ? `;${name}` : `;${name}=${value}`;
    return out;
  }

  #index(name: string): number {
    const lower = name.toLowerCase();
    if (!this.#names.has(lower)) return -1;
    return this.#entries.findIndex(([n]) => n.toLowerCase() === lower);
  }

  /** Reads `*( SEMI generic-param )` at the scanner's position; a `;` must be followed by a name. */
  static scan(s: Scanner, into = new Params()): Params {
    while (s.eat(';')) {
      const name = s.token('parameter name');
      into.set(name, s.eat('=') ? s.paramValue(`value of parameter ${name}`) : null);
      s.skipWs();
    }
    return into;
  }
}
