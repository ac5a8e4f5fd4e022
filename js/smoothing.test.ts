import { describe, expect, test } from "vitest";

import { clampSmoothing, Ema, smooth } from "./smoothing";

/**
 * TensorBoard's smoothed value at t written out directly: the weighted mean of
 * the finite values so far, weights (1 - w) w^(t - i), over their total 1 - w^n.
 */
function direct(values: readonly (number | null)[], w: number, t: number): number | null {
  const v = values[t];
  if (v === null || v === undefined || !Number.isFinite(v)) return v ?? null;
  const finite = values.slice(0, t + 1).filter((x): x is number => x !== null && Number.isFinite(x));
  const n = finite.length;
  let sum = 0;
  finite.forEach((x, i) => {
    sum += (1 - w) * Math.pow(w, n - 1 - i) * x;
  });
  return sum / (1 - Math.pow(w, n));
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("TensorBoard's smoothing", () => {
  test("equals the debiased weighted mean written out, on random series with gaps", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = random(seed);
      const n = 1 + Math.floor(r() * 60);
      const w = [0, 0.3, 0.6, 0.9, 0.99][seed % 5]!;
      const values = Array.from({ length: n }, () => {
        const u = r();
        if (u < 0.08) return null;
        if (u < 0.12) return Number.NaN;
        return Math.exp(-3 * r()) * 10 - 2;
      });
      const got = smooth(values, w);
      values.forEach((_, t) => {
        const want = direct(values, w, t);
        if (want === null || Number.isNaN(want)) expect(got[t]).toBe(values[t]);
        else expect(got[t]).toBeCloseTo(want, 10);
      });
    }
  });

  test("the debias makes the first value itself and keeps a constant constant", () => {
    expect(smooth([4, 4, 4, 4], 0.6)).toEqual([4, 4, 4, 4].map(() => expect.closeTo(4, 12)));
    expect(smooth([2, 0], 0.5)).toEqual([2, expect.closeTo(2 / 3, 12)]);
    // Without the debias (a plain EMA from 0), the first point would read 0.8.
    expect(smooth([2], 0.6)[0]).toBeCloseTo(2, 12);
  });

  test("weight 0 gives the raw values; the running state smooths point by point", () => {
    const values = [3, 1, 4, 1, 5, 9, 2, 6];
    expect(smooth(values, 0)).toEqual(values);
    const ema = new Ema(0.7);
    expect(values.map((v) => ema.next(v))).toEqual(smooth(values, 0.7));
  });

  test("the weight is held to [0, 0.99]", () => {
    expect(clampSmoothing(1)).toBe(0.99);
    expect(clampSmoothing(-0.5)).toBe(0);
    expect(clampSmoothing(Number.NaN)).toBe(0);
    expect(clampSmoothing(0.6)).toBe(0.6);
  });
});
