/** Parses durations like `250ms`, `1.5s`, `5m`, `1h`, `1m30s`; a bare `0` means zero. Returns milliseconds or null. */
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (s === '0') return 0;
  const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let matched = 0;
  while (part.lastIndex < s.length) {
    const m = part.exec(s);
    if (!m) return null;
    total += Number(m[1]) * unitMs[m[2]!]!;
    matched++;
  }
  return matched > 0 ? total : null;
}

/** Formats milliseconds as seconds with millisecond precision, e.g. `1.842 s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}
