// The SQLite store's index of reports by node, by namespace and by delay
// bucket, written in bulk. An SQLite index on (node, id) has one "hot" leaf
// per node, the one that holds its newest ids: with 5,000 nodes, each report
// reads a leaf from disk and dirties it, and each commit writes a 4 KiB WAL
// frame per report for it, then the checkpoint copies it back (the node index was half of an
// insert's cost: ~100 µs of ~200, and a third of the WAL; BENCHMARKS.md,
// session 5). So the ids of new reports are held here per node and per
// namespace, and written to the table report_keys (scope, key, id) a whole
// key at a time, keys in order: a leaf then takes tens of ids per write
// instead of one. A list filtered by node or namespace reads this key's ids
// held here first (all newer than its ids in the table), then the table.
// The delay index (delay_seconds) cost the same, a random leaf per report
// (and the list query never used it: SQLite's planner walks the rowid for
// ORDER BY id DESC LIMIT): ids are kept per bucket of the delay histogram's
// edges (scope 2, the bucket's number as key), and a list "slower than X"
// merges the buckets above X (and X's own, filtered on the row).
//
// Reports are the truth: a crash loses only ids held here, and the store puts
// the ids of every report from meta keys_id on into the table when it opens
// (sqlite-store.ts). keys_id is kept at or below the smallest id held here.
/** What a key is: a node (0), a namespace (1), a delay bucket (2; aggregates.ts's bucketOf). */
export type KeyScope = 0 | 1 | 2;
const SCOPES = [0, 1, 2] as const;

/** Ids held at most before a round writes them all (three per report): ~20 s at 5,000 reports/s. */
export const ROUND_IDS = 300_000;
/** Ids written per commit while a round runs: a few ms of the writer's thread. */
export const IDS_PER_FLUSH = 1000;

/** One key's ids to write, and where to put them back if the write fails. */
export interface KeyIds {
  readonly scope: KeyScope;
  readonly key: string;
  readonly ids: readonly number[];
}

/** Ids of stored reports per (scope, key), not yet in report_keys, in increasing order. */
export class PendingKeys {
  /** Per scope: key -> its ids not yet written, increasing. */
  readonly #held: [Map<string, number[]>, Map<string, number[]>, Map<string, number[]>] = [
    new Map(),
    new Map(),
    new Map(),
  ];
  #size = 0;
  /** The keys a round writes, in (scope, key) order, and how far it has got; null between rounds. */
  #round: { scope: KeyScope; key: string }[] | null = null;
  #at = 0;

  /** Ids held, over all keys. */
  get size(): number {
    return this.#size;
  }

  /** Whether a round is under way (or should start: see startRound). */
  get writing(): boolean {
    return this.#round !== null;
  }

  /** Holds `id` under the report's node, namespace and delay bucket; ids arrive in increasing order. */
  add(id: number, node: string, namespace: string, bucket: number): void {
    this.#push(0, node, id);
    this.#push(1, namespace, id);
    this.#push(2, String(bucket), id);
  }

  #push(scope: KeyScope, key: string, id: number): void {
    const held = this.#held[scope];
    const ids = held.get(key);
    if (ids) ids.push(id);
    else held.set(key, [id]);
    this.#size++;
  }

  /** Starts a round over every key held now (no-op while one runs or when nothing is held). */
  startRound(): void {
    if (this.#round !== null || this.#size === 0) return;
    const keys: { scope: KeyScope; key: string }[] = [];
    for (const scope of SCOPES) for (const key of [...this.#held[scope].keys()].sort()) keys.push({ scope, key });
    this.#round = keys;
    this.#at = 0;
  }

  /**
   * Removes and returns up to `limit` ids of the round's next keys, each
   * key's oldest first (a key with more is taken over several calls: the
   * table keeps holding only ids older than those held here). The round ends
   * with its last key. If writing them fails, putBack() them.
   */
  take(limit: number): KeyIds[] {
    const out: KeyIds[] = [];
    if (this.#round === null) return out;
    let n = 0;
    while (n < limit && this.#at < this.#round.length) {
      const { scope, key } = this.#round[this.#at]!;
      const held = this.#held[scope];
      const ids = held.get(key);
      if (ids && ids.length > limit - n) {
        const part = ids.splice(0, limit - n);
        this.#size -= part.length;
        out.push({ scope, key, ids: part });
        break;
      }
      this.#at++;
      if (!ids) continue;
      held.delete(key);
      this.#size -= ids.length;
      n += ids.length;
      out.push({ scope, key, ids });
    }
    if (this.#at >= this.#round.length) this.#round = null;
    return out;
  }

  /** Puts taken ids back (their write failed): older than any held since, so in front. */
  putBack(taken: readonly KeyIds[]): void {
    for (const { scope, key, ids } of taken) {
      const held = this.#held[scope];
      held.set(key, [...ids, ...(held.get(key) ?? [])]);
      this.#size += ids.length;
    }
  }

  /** The smallest id held, or null when none is. */
  smallest(): number | null {
    let min = Number.POSITIVE_INFINITY;
    for (const held of this.#held) for (const ids of held.values()) if (ids[0]! < min) min = ids[0]!;
    return min === Number.POSITIVE_INFINITY ? null : min;
  }

  /** This key's ids held below `beforeId` (all if undefined), newest first, at most `limit`. */
  idsBelow(scope: KeyScope, key: string, beforeId: number | undefined, limit = Number.POSITIVE_INFINITY): number[] {
    const ids = this.#held[scope].get(key);
    if (!ids) return [];
    let end = ids.length;
    if (beforeId !== undefined) while (end > 0 && ids[end - 1]! >= beforeId) end--;
    return ids.slice(Math.max(0, end - limit), end).reverse();
  }

  /** Forgets ids below `id` (retention deleted their reports). */
  dropBelow(id: number): void {
    for (const held of this.#held)
      for (const [key, ids] of held) {
        let n = 0;
        while (n < ids.length && ids[n]! < id) n++;
        if (n === 0) continue;
        this.#size -= n;
        if (n === ids.length) held.delete(key);
        else ids.splice(0, n);
      }
  }
}
