// Strings for the dashboard's dynamic UI: /i18n/dashboard.{lang}.json, English as fallback.

let catalog = {};
let fallback = {};
let plural = null;

/** The page's language (`<html lang>`), reduced to its primary subtag. */
export const lang = (document.documentElement.lang || 'en').toLowerCase().split(/[-_]/)[0] || 'en';

async function fetchCatalog(code) {
  try {
    const res = await fetch(`/i18n/dashboard.${encodeURIComponent(code)}.json`, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    if (!res.ok) return {};
    const data = await res.json();
    return data && typeof data === 'object' && !Array.isArray(data) ? data : {};
  } catch {
    return {};
  }
}

/** Loads the catalogs; never throws (missing strings show their key). */
export async function load() {
  const [mine, en] = await Promise.all([
    fetchCatalog(lang),
    lang === 'en' ? Promise.resolve(null) : fetchCatalog('en'),
  ]);
  catalog = mine;
  fallback = en || mine;
  try {
    plural = new Intl.PluralRules(lang);
  } catch {
    plural = new Intl.PluralRules('en');
  }
}

/** Whether a key exists. */
export function has(key) {
  return typeof catalog[key] === 'string' || typeof fallback[key] === 'string';
}

/** The string for `key` with `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  let s = typeof catalog[key] === 'string' ? catalog[key] : fallback[key];
  if (typeof s !== 'string') s = key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, name) =>
      Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m,
    );
  }
  return s;
}

/** Plural-aware: looks up `key.one` / `key.other` (by Intl.PluralRules) with `{n}` set. */
export function tn(key, n, vars = {}) {
  const cat = plural ? plural.select(n) : n === 1 ? 'one' : 'other';
  const k = has(`${key}.${cat}`) ? `${key}.${cat}` : `${key}.other`;
  return t(k, { n: formatNumber(n), ...vars });
}

/** A number format in the page's language (English when the browser lacks it). */
export function numberFormat(opts) {
  try {
    return new Intl.NumberFormat(lang, opts);
  } catch {
    return new Intl.NumberFormat('en', opts);
  }
}

export function formatNumber(n) {
  try {
    return new Intl.NumberFormat(lang).format(n);
  } catch {
    return String(n);
  }
}

function unit(value, u) {
  try {
    return new Intl.NumberFormat(lang, { style: 'unit', unit: u, unitDisplay: 'long' }).format(value);
  } catch {
    return `${value} ${u}`;
  }
}

/** "12 kB", "1.5 MB" in the page's language. */
export function formatBytes(bytes) {
  const [value, u] =
    bytes >= 1e9
      ? [bytes / 1e9, 'gigabyte']
      : bytes >= 1e6
        ? [bytes / 1e6, 'megabyte']
        : bytes >= 1e3
          ? [bytes / 1e3, 'kilobyte']
          : [bytes, 'byte'];
  try {
    return new Intl.NumberFormat(lang, { style: 'unit', unit: u, maximumFractionDigits: 1 }).format(value);
  } catch {
    return `${Math.round(value)} ${u}`;
  }
}

/** "3 minutes", "2 hours, 5 minutes" in the page's language (seconds ≥ 60). */
export function formatDuration(seconds) {
  const mins = Math.floor(seconds / 60);
  if (mins < 60) return unit(mins, 'minute');
  const hours = Math.floor(mins / 60);
  const rest = mins % 60;
  if (hours >= 24) {
    const days = Math.floor(hours / 24);
    const h = hours % 24;
    return join(h ? [unit(days, 'day'), unit(h, 'hour')] : [unit(days, 'day')]);
  }
  return join(rest ? [unit(hours, 'hour'), unit(rest, 'minute')] : [unit(hours, 'hour')]);
}

function join(parts) {
  try {
    return new Intl.ListFormat(lang, { style: 'long', type: 'unit' }).format(parts);
  } catch {
    return parts.join(', ');
  }
}

const timeFmt = (() => {
  try {
    return new Intl.DateTimeFormat(lang, { hour: 'numeric', minute: '2-digit' });
  } catch {
    return null;
  }
})();
const dateTimeFmt = (() => {
  try {
    return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
  } catch {
    return null;
  }
})();

/** Date and time, always both (tables, the history). */
export function formatDateTime(date) {
  return dateTimeFmt ? dateTimeFmt.format(date) : date.toLocaleString();
}

/** Clock time for today, date and time otherwise. */
export function formatTime(date) {
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  const f = sameDay ? timeFmt : dateTimeFmt;
  return f ? f.format(date) : date.toLocaleString();
}
