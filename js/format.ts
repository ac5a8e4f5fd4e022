// Pure helpers of the front end: no DOM, no model, so vitest runs them in node.

/** The text a missing or undefined metric shows (an em dash). */
export const MISSING = "\u2014";

/**
 * A metric value as the widget prints it: 4 significant digits, "—" for a
 * missing value (null, undefined) or NaN, "∞" / "-∞" for infinities.
 */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return MISSING;
  }
  if (value === Infinity) {
    return "\u221e";
  }
  if (value === -Infinity) {
    return "-\u221e";
  }
  if (Object.is(value, -0)) {
    value = 0;
  }
  return value.toPrecision(4);
}

/** A trait value as display text: strings as they are, nothing for null/undefined. */
export function displayText(value: unknown): string {
  if (value === null || value === undefined) {
    return "";
  }
  return String(value);
}
