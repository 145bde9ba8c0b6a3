// Kubernetes resource quantities (`100m`, `64Mi`, `1.5`, `1e3`): syntax as the
// API server accepts it, and a numeric value to compare a request with its limit
// (the API server rejects a pod whose request exceeds its limit).

const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

// apimachinery's quantity grammar: sign, digits with an optional fraction, then a
// binary suffix, a decimal suffix or a decimal exponent.
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The value of a quantity, or null when it is not one. */
export function quantityValue(text: string): number | null {
  const m = QUANTITY.exec(text);
  if (!m) return null;
  const suffix = m[2] ?? '';
  const scale = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix]!;
  const value = Number(m[1]) * scale;
  return Number.isFinite(value) ? value : null;
}
