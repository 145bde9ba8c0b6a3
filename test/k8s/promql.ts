// What a PromQL expression reads, found without a PromQL parser (the project has none, and
// Prometheus 2.42 has no parse endpoint): enough for the alert rules, which the tests also run
// through promtool, so an expression this misreads fails there first.

/** A series selector: a metric name and its equality matchers (`name="value"`). */
export interface Selector {
  name: string;
  equals: Record<string, string>;
}

/**
 * Words of PromQL that are not metric names: keywords, and aggregation operators (which may be
 * followed by `by (...)` rather than `(`); functions are told by the `(` after them.
 */
const KEYWORDS = new Set([
  ...['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool'],
  ...['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile'],
]);

/** Every series selector in `expr`, in order; a name may appear more than once. */
export function selectors(expr: string): Selector[] {
  // Label lists after by/without/on/ignoring/group_*, and durations, name no series.
  const text = expr
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1')
    .replace(/\[[^\]]*\]/g, '');
  const found: Selector[] = [];
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?(\s*\()?/g;
  for (const m of text.matchAll(re)) {
    const [, name, braces, call] = m;
    const before = text.slice(0, m.index);
    // A number's exponent or a label inside braces already consumed; a function call; a keyword.
    if (/[0-9.]$/.test(before) || call || KEYWORDS.has(name!)) continue;
    const equals: Record<string, string> = {};
    for (const l of (braces ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g))
      equals[l[1]!] = l[2]!;
    found.push({ name: name!, equals });
  }
  return found;
}
