// Loss smoothing as TensorBoard does it: an exponential moving average with
// weight w in [0, 1), started at 0 and debiased by 1 - w^n (n: finite values
// so far), so the first smoothed value is the first value. A value that is not
// finite is passed through and left out of the average. Causal: a point's
// smoothed value depends only on the points before it, so appending a point
// costs O(1) with the running state kept (`Ema`).

/** Most smoothing the control offers (w = 1 would never move). */
export const MAX_SMOOTHING = 0.99;

/** `w` clamped to [0, MAX_SMOOTHING]; not a number: 0. */
export function clampSmoothing(w: number): number {
  if (!Number.isFinite(w)) return 0;
  return Math.min(MAX_SMOOTHING, Math.max(0, w));
}

/** The running state of one series' smoothing. */
export class Ema {
  private last = 0;
  private n = 0;

  constructor(readonly weight: number) {}

  /** The smoothed value after `value` (which is taken into the average when finite). */
  next(value: number | null): number | null {
    if (value === null || !Number.isFinite(value)) return value;
    const w = this.weight;
    this.last = this.last * w + (1 - w) * value;
    this.n += 1;
    return this.last / (1 - Math.pow(w, this.n));
  }
}

/** The smoothed values of `values` (in order) at weight `w`. */
export function smooth(values: readonly (number | null)[], w: number): (number | null)[] {
  const ema = new Ema(w);
  return values.map((v) => ema.next(v));
}
