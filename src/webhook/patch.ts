// JSON Patch (RFC 6902) operations the webhook emits, built in one place so the
// two traps of admission patches are handled once: an absent array or map must
// be added whole (a path into it would fail), and `~` / `/` in keys must be
// escaped (RFC 6901), as in `/metadata/annotations/netready.io~1status`.

/** The subset of RFC 6902 the webhook emits. */
export type Operation =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/** Escapes one JSON Pointer reference token (RFC 6901: `~` first, then `/`). */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Inserts `value` at `index` of the array at `path`; an absent array becomes `[value]`. */
export function insertAt(
  path: string,
  current: readonly unknown[] | undefined,
  index: number,
  value: unknown,
): Operation {
  if (current === undefined) return { op: 'add', path, value: [value] };
  if (index < 0 || index > current.length)
    throw new RangeError(`index ${index} outside 0..${current.length} of ${path}`);
  return { op: 'add', path: `${path}/${index}`, value };
}

/** Removes the element at `index` of the array at `path`. */
export function removeAt(path: string, index: number): Operation {
  return { op: 'remove', path: `${path}/${index}` };
}

/** Sets `entries` in the string map at `path` (labels, annotations); an absent map is added whole. */
export function setEntries(
  path: string,
  current: Readonly<Record<string, unknown>> | undefined,
  entries: Readonly<Record<string, string>>,
): Operation[] {
  if (Object.keys(entries).length === 0) return [];
  if (current === undefined) return [{ op: 'add', path, value: { ...entries } }];
  // `add` on an existing member replaces it (RFC 6902 4.1), so one op serves both cases.
  return Object.entries(entries).map(([key, value]) => ({ op: 'add', path: `${path}/${escapePointer(key)}`, value }));
}
