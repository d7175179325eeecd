// What the frame page says about the site and the tenant's settings (data-* of <body>), read
// once at start-up.

const body = document.body;

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

export const cfg = {
  site: body.dataset.site || "",
  // One of the widget's languages (the server chose it and named its catalog).
  lang: ["en", "de", "fr", "es", "it", "nl", "pl"].includes(body.dataset.lang) ? body.dataset.lang : "en",
  parents: (body.dataset.parents || "").split(/\s+/).filter(Boolean),
  privacyUrl: body.dataset.privacyUrl || "",
  color: body.dataset.color || "",
  // The text colour on it, black or white (the server chose it, as for the launcher).
  fg: body.dataset.fg || "",
  // Someone is available: the start form; else the offline form (changes when one comes online).
  available: body.dataset.available !== "false",
  // The tenant lets agents see the visitor's draft while it is typed: the notice says so.
  typingPreview: body.dataset.typingPreview === "true",
  // The site's logo (an address on our origin), or "".
  logo: /^\/widget\/logo\/site_[0-9a-f]{32}\?v=\d+$/.test(body.dataset.logo || "") ? body.dataset.logo : "",
  // The server sends mail: the chat offers the transcript by email.
  email: body.dataset.email === "true",
  // The site shows visitors the agents' names (else they see the word for an agent).
  agentNames: body.dataset.agentNames !== "false",
};

/** An agent's name as visitors of this site see it: "" when the site hides names. */
export const shownName = (name) => (cfg.agentNames && typeof name === "string" ? name : "");

// The notice text the visitor agreed to: the site's version (1 is kontor's built-in text),
// plus the typing-preview sentence if shown.
export const NOTICE_VERSION = (body.dataset.noticeVersion || "1") + (cfg.typingPreview ? "+preview" : "");

/** Framed by the customer's page (the loader), or opened on its own. */
export const inFrame = window.parent !== window;

/**
 * `path` naming the site in its query (`site=KEY`), unless it does already: with several
 * kontor hosts behind a proxy, the proxy sends each request to the host that holds the site's
 * tenant by this key (docs/scale-out.md). The server itself ignores it on these paths.
 */
export function routed(path) {
  if (!cfg.site || /[?&]site=/.test(path)) return path;
  return `${path}${path.includes("?") ? "&" : "?"}site=${encodeURIComponent(cfg.site)}`;
}

/**
 * POSTs `body` as JSON to our own server and answers `{ok, status, data}` (`data` null when
 * the answer is not JSON); a network failure throws. The page's Referrer-Policy is
 * no-referrer, under which a POST would carry "Origin: null"; the server checks Origin, so the
 * request sends it (and only the origin).
 */
export async function postJson(path, body) {
  const r = await fetch(routed(path), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
    referrerPolicy: "origin",
  });
  let data = null;
  try {
    data = await r.json();
  } catch {
    data = null;
  }
  return { ok: r.ok, status: r.status, data };
}
