// A per-label cap on distinct values: the first `max` values of a label are
// kept, later ones become "other", so no input can grow the series count
// without bound. Each label (node, namespace, error class) has its own set,
// shared by every metric that carries it, so a node is either itself
// everywhere or "other" everywhere.

/** The value that folded label values are reported as. */
export const OTHER = 'other';
/** Empty values (an agent run outside Kubernetes) are shown as this rather than an empty label, which Prometheus drops. */
export const UNKNOWN = 'unknown';

export class LabelCap {
  readonly #max: number;
  readonly #seen = new Map<string, Set<string>>();
  readonly #onFold: (label: string) => void;

  /** `onFold` is called for every value counted as "other". */
  constructor(max: number, onFold: (label: string) => void = () => {}) {
    this.#max = max;
    this.#onFold = onFold;
  }

  /** The value to record for `label`: `value` itself while the label is under the cap or has seen it, "other" beyond. */
  fold(label: string, value: string): string {
    if (value === '') return UNKNOWN;
    // "other" and "unknown" are always allowed and take no place under the cap.
    if (value === OTHER || value === UNKNOWN) return value;
    let seen = this.#seen.get(label);
    if (!seen) this.#seen.set(label, (seen = new Set()));
    if (seen.has(value)) return value;
    if (seen.size < this.#max) {
      seen.add(value);
      return value;
    }
    this.#onFold(label);
    return OTHER;
  }

  /** Distinct values kept for `label`. */
  size(label: string): number {
    return this.#seen.get(label)?.size ?? 0;
  }
}
