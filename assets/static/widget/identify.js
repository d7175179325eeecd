// What the business's page knows about the visitor (`kontor('identify', {name, email})` on the
// loader): it only fills the name and e-mail fields of the start and offline forms. Nothing is
// stored or sent from here; the values go to the server with the visitor's own Start or Send,
// after the opt-in, like typed ones.

import { $ } from "./config.js";
import { MAX_NAME_CHARS, cutChars } from "../shared/limits.js";

const FIELDS = { name: ["s-name", "o-name"], email: ["s-email", "o-email"] };

/** Fills the empty (or still prefilled) name and e-mail fields; what the visitor typed stays. */
export function prefill(d) {
  const str = (v, max) => (typeof v === "string" ? cutChars(v.trim(), max) : "");
  const given = { name: str(d.name, MAX_NAME_CHARS), email: str(d.email, 254) };
  for (const [key, ids] of Object.entries(FIELDS)) {
    if (!given[key]) continue;
    for (const id of ids) {
      const el = $(id);
      if (!el || !untouched(el)) continue;
      el.value = given[key];
      el.dataset.prefilled = given[key];
    }
  }
}

/** Empty, or holding only what the page prefilled: the visitor has not written in it. */
export function untouched(el) {
  return !el.value || el.value === el.dataset.prefilled;
}
