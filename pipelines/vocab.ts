/**
 * Token interning: token string -> type id, ids given in order of first
 * occurrence. Tokens are compared as exact strings (the same code points),
 * with no Unicode normalisation: NeuroX keys its types by Python string
 * equality, so `é` (U+00E9) and `e` + U+0301 are two different types.
 */
export class Vocab {
  private readonly ids = new Map<string, number>();
  private readonly list: string[] = [];

  /** Number of distinct types seen. */
  get size(): number {
    return this.list.length;
  }

  /** The types, indexed by id (first-occurrence order). */
  get tokens(): readonly string[] {
    return this.list;
  }

  /** The id of `token`, adding it as the next id when new. */
  intern(token: string): number {
    let id = this.ids.get(token);
    if (id === undefined) {
      id = this.list.length;
      this.ids.set(token, id);
      this.list.push(token);
    }
    return id;
  }

  /** The id of `token`, or `undefined` when it was never interned. */
  id(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** The token of type `id`. */
  token(id: number): string {
    const t = this.list[id];
    if (t === undefined) throw new RangeError(`type id ${id} is out of range [0, ${this.list.length - 1}]`);
    return t;
  }
}
