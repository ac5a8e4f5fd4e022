// Pure helpers of the front end: no DOM, no model, so vitest runs them in node.

/** The text a missing or undefined metric shows (an em dash). */
export const MISSING = "\u2014";

/** Significant digits every number of a column keeps (at least). */
export const SIGNIFICANT = 4;
/** Below this magnitude (and not zero) a number prints in exponent form. */
export const EXPONENT_BELOW = 1e-3;
/** From this magnitude on a number (not a whole count) prints in exponent form. */
export const EXPONENT_FROM = 1e6;

/** How the numbers of one column print: the same decimals in every cell, or whole numbers. */
export interface ColumnFormat {
  decimals: number;
  /** A count column whose values are all whole: printed as integers, never in exponent form. */
  whole: boolean;
}

function finite(values: Iterable<number | null | undefined>): number[] {
  const out: number[] = [];
  for (const v of values) if (typeof v === "number" && Number.isFinite(v)) out.push(v);
  return out;
}

/** Whether `v` (finite) prints in exponent form in a column of decimals. */
function exponential(v: number): boolean {
  const a = Math.abs(v);
  return a !== 0 && (a < EXPONENT_BELOW || a >= EXPONENT_FROM);
}

/**
 * The format of a column of numbers (the one rule of the page's tables and
 * the static summary's, `runwatch.widget._static_format.column_format`; the
 * cases both are tested on are in number_columns.json):
 *
 * - a count column (`counts`) whose values are all whole numbers prints them
 *   as integers;
 * - otherwise every cell has the same decimals: the most any value between
 *   1e-3 and 1e6 needs to show {@link SIGNIFICANT} significant digits
 *   (0.9143 needs 4, 12.35 needs 2, 1234 none), so 1, 0 and 0.9143 read
 *   "1.0000", "0.0000", "0.9143"; a column with none of those values (zeros
 *   only) takes 3;
 * - a value outside that range prints in exponent form ("1.500e-9") and
 *   does not widen the column; missing values and NaN print "—", infinities
 *   "∞" / "-∞".
 */
export function columnFormat(values: Iterable<number | null | undefined>, counts = false): ColumnFormat {
  const vs = finite(values);
  if (counts && vs.every((v) => Number.isInteger(v))) return { decimals: 0, whole: true };
  let decimals = -1;
  for (const v of vs) {
    if (v === 0 || exponential(v)) continue;
    // The exponent after rounding to SIGNIFICANT digits: 9.9996 counts as 10.00.
    const exponent = Number(v.toExponential(SIGNIFICANT - 1).split("e")[1]);
    decimals = Math.max(decimals, SIGNIFICANT - 1 - exponent, 0);
  }
  return { decimals: decimals < 0 ? SIGNIFICANT - 1 : decimals, whole: false };
}

/** `value` printed in the column format `format` (see {@link columnFormat}). */
export function formatNumber(value: number | null | undefined, format: ColumnFormat): string {
  if (value === null || value === undefined || Number.isNaN(value)) return MISSING;
  if (value === Infinity) return "\u221e";
  if (value === -Infinity) return "-\u221e";
  if (Object.is(value, -0)) value = 0;
  if (format.whole) return Number.isInteger(value) ? String(value) : value.toFixed(0); // String: 50x faster, same text
  if (exponential(value)) return value.toExponential(SIGNIFICANT - 1);
  return value.toFixed(format.decimals);
}

/** A column of numbers as text, in the column's one format (see {@link columnFormat}). */
export function formatColumn(values: readonly (number | null | undefined)[], counts = false): string[] {
  const format = columnFormat(values, counts);
  return values.map((v) => formatNumber(v, format));
}

/**
 * A metric value on its own (the header's best value): a column of one, so
 * 4 significant digits ("0.9877", "1.000", "12.35"), "—" for a missing
 * value or NaN, "∞" / "-∞" for infinities, exponent form below 1e-3 and
 * from 1e6 on.
 */
export function formatMetric(value: number | null | undefined): string {
  return formatNumber(value, columnFormat([value]));
}

/**
 * Seconds as the table and the header print them: "0.4 s", "12.3 s",
 * "2 min 05 s", "3 h 07 min"; "—" when unknown.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return MISSING;
  const s = Math.max(0, seconds);
  if (s < 59.95) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
  const minutes = Math.round(whole / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * A moment (ms since the epoch) as a wall-clock time in the page's time zone:
 * "12:31" on the day of `now`, "3 Dec 12:31" on another day of its year,
 * "3 Dec 2025 12:31" in another year.
 */
export function clockTime(ms: number, now: number): string {
  const t = new Date(ms);
  const today = new Date(now);
  const hm = `${String(t.getHours()).padStart(2, "0")}:${String(t.getMinutes()).padStart(2, "0")}`;
  const sameYear = t.getFullYear() === today.getFullYear();
  if (sameYear && t.getMonth() === today.getMonth() && t.getDate() === today.getDate()) return hm;
  const day = `${t.getDate()} ${MONTHS[t.getMonth()]}`;
  return sameYear ? `${day} ${hm}` : `${day} ${t.getFullYear()} ${hm}`;
}

/** A trait value as display text: strings as they are, nothing for null/undefined. */
export function displayText(value: unknown): string {
  if (value === null || value === undefined) {
    return "";
  }
  return String(value);
}
