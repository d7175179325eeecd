// Calendar days as the server counts them: `YYYY-MM-DD`, in UTC; and days in words in the
// page's language.

import { lang } from './i18n.js';

export const DAY_MS = 86_400_000;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Milliseconds of a `YYYY-MM-DD` day at 00:00 UTC, or null when it is no real date. */
export function parseDay(text) {
  if (typeof text !== 'string' || !DAY_RE.test(text)) return null;
  const [y, mo, d] = text.split('-').map(Number);
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? ms : null;
}

/** The `YYYY-MM-DD` of a moment (in UTC). */
export const dayText = (ms) => new Date(ms).toISOString().slice(0, 10);

/** Today as the server counts it: the UTC day (milliseconds at its start). */
export function todayUtc() {
  const now = Date.now();
  return now - (now % DAY_MS);
}

/** A date format in the page's language (English when the browser lacks it), for UTC days. */
export function dateFormat(opts) {
  try {
    return new Intl.DateTimeFormat(lang, { timeZone: 'UTC', ...opts });
  } catch {
    return new Intl.DateTimeFormat('en', { timeZone: 'UTC', ...opts });
  }
}

const dayWithYear = dateFormat({ day: 'numeric', month: 'short', year: 'numeric' });

/** A day in words: "15 Jan 2026". */
export function dayWords(ms) {
  return dayWithYear.format(new Date(ms));
}

/** A period in words: "15 Jan 2026 – 16 Jan 2026", or one day. */
export function periodText(from, to) {
  const a = new Date(from);
  const b = new Date(to);
  if (from === to) return dayWithYear.format(a);
  try {
    return dayWithYear.formatRange(a, b);
  } catch {
    return `${dayWithYear.format(a)} – ${dayWithYear.format(b)}`;
  }
}
