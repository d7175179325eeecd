// Talking to the loader (widget.js) on the customer's page: only with the site's origins, and
// only to the origin that embeds us when we can tell which one it is.

import { cfg, inFrame } from "./config.js";

export const panel = {
  // Is the panel around this frame visible? Standalone (not framed) it always is.
  visible: !inFrame,
  // Messages the visitor has not seen, as the loader's badge shows them.
  unread: 0,
  // The loader asked for focus before start-up finished: focus the view once it is shown.
  focusWhenReady: !inFrame,
};

function parentTargets() {
  const anc = location.ancestorOrigins;
  if (anc && anc.length) return cfg.parents.includes(anc[0]) ? [anc[0]] : [];
  try {
    const ref = document.referrer && new URL(document.referrer).origin;
    if (ref && cfg.parents.includes(ref)) return [ref];
  } catch {
    // no usable referrer
  }
  return cfg.parents;
}

export function tellParent(msg) {
  if (!inFrame) return;
  for (const origin of parentTargets()) {
    try {
      window.parent.postMessage(msg, origin);
    } catch {
      // a malformed origin in the list: skip it
    }
  }
}

export function setUnread(n) {
  if (n === panel.unread) return;
  panel.unread = n;
  tellParent({ kontor: "unread", count: n });
}

/**
 * Messages from the loader: `shown` (on.shown(focus): the panel is visible, focus it if asked),
 * `hidden`, `invited` (on.invited(data): the visitor accepted an agent's invitation),
 * `identify` (on.identify(data): the page's name and e-mail for the forms) and `department`
 * (on.department(name): the department to preselect).
 */
export function listenToParent(on) {
  window.addEventListener("message", (e) => {
    if (!inFrame || e.source !== window.parent || !cfg.parents.includes(e.origin)) return;
    const d = e.data;
    if (!d || typeof d !== "object" || typeof d.kontor !== "string") return;
    if (d.kontor === "shown") {
      panel.visible = true;
      setUnread(0);
      on.shown(d.focus === true);
    } else if (d.kontor === "hidden") {
      panel.visible = false;
    } else if (d.kontor === "invited") {
      on.invited(d);
    } else if (d.kontor === "identify") {
      on.identify(d);
    } else if (d.kontor === "department" && typeof d.name === "string") {
      on.department(d.name);
    }
  });
}
