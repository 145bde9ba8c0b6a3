// How deep a parsed JSON value nests, measured without recursion. JSON.parse
// (V8's parser is iterative) accepts any depth, but JSON.stringify, structured
// logging and most tree walkers recurse and throw RangeError past a few
// thousand levels: values from the network are measured here before anything
// recursive touches them.

/** True when `value` nests arrays/objects more than `max` levels deep (a scalar is depth 0). Stops at the first such path. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
