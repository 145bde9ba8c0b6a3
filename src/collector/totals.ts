// Aggregates merged over a window, laid out for speed: every node and
// namespace name is interned once into a small integer (KeyTable), and a
// window's figures are three flat Float64Arrays indexed by id * BUCKETS +
// bucket. Merging a rolled-up hour of 5,000 nodes is then a loop over
// numbers, with no string hashing and no object per key; a summary over
// 5,000 nodes allocated an object or a Map entry per key and cell before.
// Also the rollup's stored form (encodeRollup / decodeRollup).
import { BUCKETS, bucketQuantile, type Scope } from './aggregates.ts';

/** Per key: reports, timeouts and largest delay per bucket. */
export interface KeyFigures {
  readonly reports: Float64Array;
  readonly timeouts: Float64Array;
  readonly max: Float64Array;
}

/**
 * Interned keys: (scope, name) -> id, ids 0, 1, 2... Shared by every Totals of
 * one reader, so that decoded rollups and cached sums hold ids, not names.
 */
export class KeyTable {
  readonly #ids: [Map<string, number>, Map<string, number>] = [new Map(), new Map()];
  readonly #scopes: Scope[] = [];
  readonly #names: string[] = [];

  /** Keys interned. */
  get size(): number {
    return this.#names.length;
  }

  /** The id of (scope, name), made on first sight. */
  id(scope: Scope, name: string): number {
    const ids = this.#ids[scope];
    let id = ids.get(name);
    if (id === undefined) {
      id = this.#names.push(name) - 1;
      this.#scopes.push(scope);
      ids.set(name, id);
    }
    return id;
  }

  /** The id of (scope, name), or undefined when never seen. */
  find(scope: Scope, name: string): number | undefined {
    return this.#ids[scope].get(name);
  }

  scopeOf(id: number): Scope {
    return this.#scopes[id]!;
  }

  nameOf(id: number): string {
    return this.#names[id]!;
  }
}

/** Aggregates merged over a window: figures per node and per namespace. */
export class Totals {
  readonly keys: KeyTable;
  /** Per id and bucket (id * BUCKETS + bucket): reports, timeouts, largest delay (-Infinity: none). */
  #reports: Float64Array;
  #timeouts: Float64Array;
  #max: Float64Array;
  /** Ids with at least one cell in this window, per scope, in first-seen order. */
  readonly #present: [number[], number[]] = [[], []];
  #seen: Uint8Array;

  constructor(keys: KeyTable = new KeyTable(), capacity = 64) {
    this.keys = keys;
    this.#reports = new Float64Array(capacity * BUCKETS);
    this.#timeouts = new Float64Array(capacity * BUCKETS);
    this.#max = new Float64Array(capacity * BUCKETS).fill(-Infinity);
    this.#seen = new Uint8Array(capacity);
  }

  /** Room for ids below `count`: the arrays grow by doubling, copied once. */
  #reserve(count: number): void {
    if (count <= this.#seen.length) return;
    let capacity = this.#seen.length;
    while (capacity < count) capacity *= 2;
    const grow = (a: Float64Array, fill: number) => {
      const b = new Float64Array(capacity * BUCKETS).fill(fill, a.length);
      b.set(a);
      return b;
    };
    this.#reports = grow(this.#reports, 0);
    this.#timeouts = grow(this.#timeouts, 0);
    this.#max = grow(this.#max, -Infinity);
    const seen = new Uint8Array(capacity);
    seen.set(this.#seen);
    this.#seen = seen;
  }

  #mark(id: number): void {
    if (id >= this.#seen.length) this.#reserve(id + 1);
    if (this.#seen[id] === 0) {
      this.#seen[id] = 1;
      this.#present[this.keys.scopeOf(id)].push(id);
    }
  }

  /** Adds one cell. */
  add(scope: Scope, key: string, bucket: number, reports: number, timeouts: number, maxDelay: number): void {
    this.addId(this.keys.id(scope, key), bucket, reports, timeouts, maxDelay);
  }

  /** Adds one cell of an interned key. */
  addId(id: number, bucket: number, reports: number, timeouts: number, maxDelay: number): void {
    this.#mark(id);
    const at = id * BUCKETS + bucket;
    this.#reports[at]! += reports;
    this.#timeouts[at]! += timeouts;
    if (maxDelay > this.#max[at]!) this.#max[at] = maxDelay;
  }

  /** Adds a decoded rollup whose cells hold ids of this table (decodeRollup). */
  addCells(cells: Float64Array): void {
    // Marked first: marking may grow (replace) the arrays read below.
    for (let i = 0; i < cells.length; i += CELL_FIELDS) this.#mark(cells[i]!);
    const reports = this.#reports;
    const timeouts = this.#timeouts;
    const max = this.#max;
    for (let i = 0; i < cells.length; i += CELL_FIELDS) {
      const at = cells[i]! * BUCKETS + cells[i + 1]!;
      reports[at]! += cells[i + 2]!;
      timeouts[at]! += cells[i + 3]!;
      if (cells[i + 4]! > max[at]!) max[at] = cells[i + 4]!;
    }
  }

  /** Adds every figure of `other` (same KeyTable). */
  addTotals(other: Totals): void {
    if (other.keys !== this.keys) throw new Error('totals of different key tables');
    for (const ids of other.#present) {
      for (const id of ids) {
        this.#mark(id);
        for (let at = id * BUCKETS, end = at + BUCKETS; at < end; at++) {
          this.#reports[at]! += other.#reports[at]!;
          this.#timeouts[at]! += other.#timeouts[at]!;
          if (other.#max[at]! > this.#max[at]!) this.#max[at] = other.#max[at]!;
        }
      }
    }
  }

  /** Ids of `scope` with figures in this window. */
  ids(scope: Scope): readonly number[] {
    return this.#present[scope];
  }

  /** Names of `scope` with figures in this window. */
  names(scope: Scope): string[] {
    return this.#present[scope].map((id) => this.keys.nameOf(id));
  }

  /** Reports and timeouts of `id` over every bucket. */
  counts(id: number): { reports: number; timeouts: number } {
    let reports = 0;
    let timeouts = 0;
    for (let at = id * BUCKETS, end = at + BUCKETS; at < end; at++) {
      reports += this.#reports[at]!;
      timeouts += this.#timeouts[at]!;
    }
    return { reports, timeouts };
  }

  /** bucketQuantile() of `id`, which has `reports` reports. */
  quantile(id: number, reports: number, q: number): number | null {
    return bucketQuantile(this.#reports, this.#max, reports, q, id * BUCKETS);
  }

  /** A key's figures: views into the arrays, valid until the next add. */
  figures(id: number): KeyFigures {
    const at = id * BUCKETS;
    return {
      reports: this.#reports.subarray(at, at + BUCKETS),
      timeouts: this.#timeouts.subarray(at, at + BUCKETS),
      max: this.#max.subarray(at, at + BUCKETS),
    };
  }

  /** The figures of (scope, name), or undefined when it has none in this window. */
  get(scope: Scope, name: string): KeyFigures | undefined {
    const id = this.keys.find(scope, name);
    return id === undefined || id >= this.#seen.length || this.#seen[id] === 0 ? undefined : this.figures(id);
  }

  /** The per-bucket figures of every key of `scope`, summed. */
  sum(scope: Scope): KeyFigures {
    const sum = {
      reports: new Float64Array(BUCKETS),
      timeouts: new Float64Array(BUCKETS),
      max: new Float64Array(BUCKETS).fill(-Infinity),
    };
    for (const id of this.#present[scope]) {
      for (let b = 0, at = id * BUCKETS; b < BUCKETS; b++, at++) {
        sum.reports[b]! += this.#reports[at]!;
        sum.timeouts[b]! += this.#timeouts[at]!;
        if (this.#max[at]! > sum.max[b]!) sum.max[b] = this.#max[at]!;
      }
    }
    return sum;
  }

  /** These totals as a rollup (for storing a rolled-up period). */
  toRollup(): Rollup {
    const keys: { scope: Scope; key: string }[] = [];
    const cells: number[] = [];
    for (const ids of this.#present) {
      for (const id of ids) {
        const idx = keys.push({ scope: this.keys.scopeOf(id), key: this.keys.nameOf(id) }) - 1;
        for (let b = 0, at = id * BUCKETS; b < BUCKETS; b++, at++)
          if (this.#reports[at]! > 0) cells.push(idx, b, this.#reports[at]!, this.#timeouts[at]!, this.#max[at]!);
      }
    }
    return { keys, cells: Float64Array.from(cells) };
  }
}

/** Numbers per cell in a rollup: key index, bucket, reports, timeouts, largest delay. */
export const CELL_FIELDS = 5;

/** A rolled-up period: its keys, and cells that point into them. */
export interface Rollup {
  readonly keys: readonly { readonly scope: Scope; readonly key: string }[];
  readonly cells: Float64Array;
}

/** Encodes a rollup: a 4-byte header length, the keys as JSON, then the cells as little-endian float64s. */
export function encodeRollup(r: Rollup): Buffer {
  const header = Buffer.from(JSON.stringify(r.keys.map((k) => [k.scope, k.key])));
  const pad = (8 - ((4 + header.length) % 8)) % 8;
  const out = Buffer.alloc(4 + header.length + pad + r.cells.length * 8);
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  const body = 4 + header.length + pad;
  for (let i = 0; i < r.cells.length; i++) out.writeDoubleLE(r.cells[i]!, body + i * 8);
  return out;
}

/**
 * Decodes what encodeRollup wrote, its keys interned into `keys`: the cells
 * come back holding ids of that table instead of indexes into the rollup's
 * own key list (ready for Totals.addCells). Throws on anything else.
 */
export function decodeRollup(data: Uint8Array, keys: KeyTable): Float64Array {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const len = buf.readUInt32LE(0);
  const names = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as [Scope, string][];
  const ids = names.map(([scope, name]) => keys.id(scope, name));
  const body = 4 + len + ((8 - ((4 + len) % 8)) % 8);
  const count = (buf.length - body) / 8;
  if (!Number.isInteger(count) || count % CELL_FIELDS !== 0) throw new Error('rollup: bad length');
  // Copied into an aligned array (the buffer's offset may not be a multiple of 8), then its key indexes mapped to ids.
  const cells = new Float64Array(count);
  new Uint8Array(cells.buffer).set(buf.subarray(body, body + count * 8));
  if (!LITTLE_ENDIAN) for (let i = 0; i < count; i++) cells[i] = buf.readDoubleLE(body + i * 8);
  for (let i = 0; i < count; i += CELL_FIELDS) {
    const id = ids[cells[i]!];
    if (id === undefined) throw new Error('rollup: a cell names no key');
    cells[i] = id;
  }
  return cells;
}

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;
