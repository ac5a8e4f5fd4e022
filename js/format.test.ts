import { describe, expect, test } from "vitest";

import { MISSING, clockTime, columnFormat, displayText, formatColumn, formatDuration, formatMetric } from "./format";
import columns from "./number_columns.json";

/** A value of number_columns.json: JSON has no NaN, infinities or -0, so they come as strings. */
function decode(v: number | string | null): number | null {
  if (typeof v !== "string") return v;
  return { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity, "-0": -0 }[v] ?? Number.NaN;
}

describe("formatColumn: the shared cases of number_columns.json", () => {
  test.each(columns.cases)("$why", ({ values, counts, expected }) => {
    expect(formatColumn(values.map(decode), counts)).toEqual(expected);
  });
});

describe("columnFormat", () => {
  test("one number of decimals for the whole column, integers for whole counts", () => {
    expect(columnFormat([0.9143, 1, 0])).toEqual({ decimals: 4, whole: false });
    expect(columnFormat([3, 7], true)).toEqual({ decimals: 0, whole: true });
    expect(columnFormat([3, 7.5], true)).toEqual({ decimals: 3, whole: false });
  });
});

describe("formatMetric", () => {
  test("keeps 4 significant digits", () => {
    expect(formatMetric(0.98765)).toBe("0.9877");
    expect(formatMetric(0.5)).toBe("0.5000");
    expect(formatMetric(12.3456)).toBe("12.35");
    expect(formatMetric(-0.0123456)).toBe("-0.01235");
    expect(formatMetric(1)).toBe("1.000");
  });

  test("switches to exponent notation for very large and very small values", () => {
    expect(formatMetric(123456789)).toBe("1.235e+8");
    expect(formatMetric(1.5e-9)).toBe("1.500e-9");
  });

  test("prints missing and NaN values as an em dash", () => {
    expect(MISSING).toBe("—");
    expect(formatMetric(null)).toBe("—");
    expect(formatMetric(undefined)).toBe("—");
    expect(formatMetric(Number.NaN)).toBe("—");
  });

  test("prints zero without a sign and infinities as symbols", () => {
    expect(formatMetric(0)).toBe("0.000");
    expect(formatMetric(-0)).toBe("0.000");
    expect(formatMetric(Infinity)).toBe("∞");
    expect(formatMetric(-Infinity)).toBe("-∞");
  });
});

describe("displayText", () => {
  test("passes strings through unchanged, markup included", () => {
    expect(displayText("sweep-1")).toBe("sweep-1");
    expect(displayText("<b>x</b>")).toBe("<b>x</b>");
  });

  test("shows nothing for a missing title and stringifies other values", () => {
    expect(displayText(null)).toBe("");
    expect(displayText(undefined)).toBe("");
    expect(displayText(3)).toBe("3");
  });
});

describe("formatDuration", () => {
  test("seconds, minutes with two-digit seconds, hours with two-digit minutes", () => {
    expect(formatDuration(0.42)).toBe("0.4 s");
    expect(formatDuration(12.34)).toBe("12.3 s");
    expect(formatDuration(59.94)).toBe("59.9 s");
    expect(formatDuration(59.96)).toBe("1 min 00 s"); // not "60.0 s"
    expect(formatDuration(119.6)).toBe("2 min 00 s"); // not "1 min 60 s"
    expect(formatDuration(125)).toBe("2 min 05 s");
    expect(formatDuration(3599.4)).toBe("59 min 59 s");
    expect(formatDuration(3599.6)).toBe("1 h 00 min");
    expect(formatDuration(3 * 3600 + 7 * 60 + 20)).toBe("3 h 07 min");
  });
  test("unknown is the missing mark; a clock running behind is zero", () => {
    expect(formatDuration(null)).toBe(MISSING);
    expect(formatDuration(undefined)).toBe(MISSING);
    expect(formatDuration(Number.NaN)).toBe(MISSING);
    expect(formatDuration(-3)).toBe("0.0 s");
  });
});

describe("clockTime", () => {
  // Local dates: the page shows its own time zone's wall clock.
  const now = new Date(2026, 11, 5, 18, 40).getTime();
  test("the time alone on the same day, with two-digit hours and minutes", () => {
    expect(clockTime(new Date(2026, 11, 5, 12, 31, 59).getTime(), now)).toBe("12:31");
    expect(clockTime(new Date(2026, 11, 5, 0, 5).getTime(), now)).toBe("00:05");
  });
  test("day and month on another day of the year, and the year before that", () => {
    expect(clockTime(new Date(2026, 11, 4, 23, 59).getTime(), now)).toBe("4 Dec 23:59");
    expect(clockTime(new Date(2026, 0, 5, 18, 40).getTime(), now)).toBe("5 Jan 18:40");
    expect(clockTime(new Date(2025, 11, 5, 18, 40).getTime(), now)).toBe("5 Dec 2025 18:40");
  });
});
