// The frame's strings: one catalog per language (/i18n/widget.LANG.json).

import { cfg } from "./config.js";

const catalog = { strings: {} };

/** The string for `key`, with {name} placeholders filled from `vars`; the key if unknown. */
export function t(key, vars) {
  const T = catalog.strings;
  const s = Object.hasOwn(T, key) ? T[key] : key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, v) => (Object.hasOwn(vars, v) ? String(vars[v]) : m)) : s;
}

export async function loadCatalog() {
  for (let i = 0; i < 3; i++) {
    try {
      const r = await fetch(`/i18n/widget.${cfg.lang}.json`, { credentials: "same-origin" });
      if (r.ok) {
        catalog.strings = await r.json();
        return;
      }
    } catch {
      // retry below
    }
    await new Promise((res) => setTimeout(res, 500 * (i + 1)));
  }
}
