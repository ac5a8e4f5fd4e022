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
