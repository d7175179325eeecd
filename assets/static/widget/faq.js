// Before the chat: the site's questions and answers (FAQ), searched here in the frame. The
// entries come in the widget's language from /api/widget/faq; a failed fetch or an empty list
// means no FAQ view and the frame starts as it always did.
//
// Search: query and entries are lower-cased and stripped of diacritics (ä → a, é → e,
// ß → ss); every word of the query must occur in the question or the answer. Entries whose
// question holds more of the words come first, then those whose question starts a word with
// them, then the site's own order.
//
// Opening an answer reports it once per entry and page (POST /api/widget/faq-view: the site
// and the entry, nothing about the visitor). A chat started afterwards says so in its start
// frame (`after_faq`), which the server only counts.

import { $, cfg, postJson } from "./config.js";
import { t } from "./i18n.js";
import { show, say, focusCurrent } from "./views.js";
import { showFirst } from "./offline.js";

const faq = {
  entries: [], // { id, q, a, nq, na }
  reported: new Set(),
  viewed: false, // an answer was opened in this frame
  announce: 0,
};

/** Lower case without diacritics, for matching. */
export function normalise(s) {
  return String(s)
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/ß/g, "ss");
}

/** The words of a query (letters and digits; anything else separates). */
function words(s) {
  return normalise(s)
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** Whether `word` starts a word somewhere in `text` (both normalised). */
function startsWord(text, word) {
  let i = text.indexOf(word);
  while (i >= 0) {
    if (i === 0 || !/[\p{L}\p{N}]/u.test(text[i - 1])) return true;
    i = text.indexOf(word, i + 1);
  }
  return false;
}

/** The entries matching `query`, best first (all of them, in order, for an empty query). */
export function search(entries, query) {
  const ws = words(query);
  if (!ws.length) return entries.slice();
  const hits = [];
  entries.forEach((e, order) => {
    let inQuestion = 0;
    let wordStarts = 0;
    for (const w of ws) {
      const q = e.nq.includes(w);
      if (!q && !e.na.includes(w)) return;
      if (q) {
        inQuestion++;
        if (startsWord(e.nq, w)) wordStarts++;
      }
    }
    hits.push({ e, inQuestion, wordStarts, order });
  });
  hits.sort((a, b) => b.inQuestion - a.inQuestion || b.wordStarts - a.wordStarts || a.order - b.order);
  return hits.map((h) => h.e);
}

/** Whether the visitor opened an answer in this frame (the start frame says so). */
export function faqViewed() {
  return faq.viewed;
}

/** Whether the site has questions to show. */
export function hasFaq() {
  return faq.entries.length > 0;
}

/** Fetches the site's entries; never throws (no FAQ then). */
export async function loadFaq() {
  try {
    const r = await fetch(`/api/widget/faq?site=${encodeURIComponent(cfg.site)}&lang=${cfg.lang}`, {
      credentials: "omit",
    });
    if (!r.ok) return;
    const data = await r.json();
    const list = data && Array.isArray(data.faqs) ? data.faqs : [];
    faq.entries = list
      .filter((e) => e && Number.isInteger(e.id) && typeof e.q === "string" && typeof e.a === "string" && e.q)
      .slice(0, 100)
      .map((e) => ({ id: e.id, q: e.q, a: e.a, nq: normalise(e.q), na: normalise(e.a) }));
  } catch {
    faq.entries = [];
  }
}

function report(id) {
  faq.viewed = true;
  if (faq.reported.has(id)) return;
  faq.reported.add(id);
  // Only a count: a lost report loses nothing else.
  postJson("/api/widget/faq-view", { site: cfg.site, faq: id }).catch(() => {});
}

function item(e) {
  const answerId = `faq-a-${e.id}`;
  const btn = document.createElement("button");
  btn.type = "button";
  btn.className = "faq-q";
  btn.id = `faq-q-${e.id}`;
  btn.setAttribute("aria-expanded", "false");
  btn.setAttribute("aria-controls", answerId);
  btn.textContent = e.q;
  const answer = document.createElement("div");
  answer.className = "faq-a";
  answer.id = answerId;
  answer.hidden = true;
  answer.textContent = e.a;
  btn.addEventListener("click", () => {
    const open = btn.getAttribute("aria-expanded") !== "true";
    btn.setAttribute("aria-expanded", String(open));
    answer.hidden = !open;
    if (open) report(e.id);
  });
  const li = document.createElement("li");
  li.className = "faq-item";
  li.append(btn, answer);
  return li;
}

function render() {
  const found = search(faq.entries, $("faq-search").value);
  $("faq-list").replaceChildren(...found.map(item));
  // The count is announced once typing pauses, not on every key.
  clearTimeout(faq.announce);
  const text = found.length
    ? t(found.length === 1 ? "widget.faq_count_one" : "widget.faq_count", { n: found.length })
    : t("widget.faq_none");
  faq.announce = setTimeout(() => say($("faq-count"), text), 400);
}

/** Leaves the questions for the chat's start form, or the offline form while nobody is there. */
export function leaveFaq(focus) {
  showFirst();
  if (focus) focusCurrent();
}

/** Shows the questions (the first view when the site has some). */
export function showFaq(focus) {
  $("faq-chat").textContent = cfg.available ? t("widget.faq_chat") : t("widget.offline_heading");
  show("v-faq");
  if (focus) focusCurrent();
}

export function setupFaq() {
  $("faq-search").addEventListener("input", render);
  $("faq-form").addEventListener("submit", (e) => e.preventDefault());
  $("faq-chat").addEventListener("click", () => leaveFaq(true));
  for (const b of document.querySelectorAll(".faq-back")) {
    b.addEventListener("click", () => showFaq(true));
  }
}

/** After loading: the list and the way back from the forms. */
export function renderFaq() {
  if (!hasFaq()) return;
  for (const b of document.querySelectorAll(".faq-back")) b.hidden = false;
  render();
}
