// Tiny DOM helper. Text is only ever set through textContent / text nodes: no HTML parsing.

/**
 * Creates an element.
 * props: `class`, `text` (textContent), `on<event>` (listener), `hidden`/`disabled` (booleans),
 * anything else becomes an attribute (null/undefined/false are skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** A span that only screen readers see. */
export function srOnly(text) {
  return h('span', { class: 'vh', text });
}

/** Whether the element or something inside it has focus. */
export function hasFocus(el) {
  return !!el && el.contains(document.activeElement);
}

/**
 * Marks a button busy while `work` runs and ignores presses meanwhile. Not `disabled`: a
 * focused button that gets disabled drops keyboard focus to the page.
 */
export async function whileBusy(btn, work) {
  if (btn.getAttribute('aria-disabled') === 'true') return;
  btn.setAttribute('aria-disabled', 'true');
  try {
    await work();
  } finally {
    btn.removeAttribute('aria-disabled');
  }
}

/** Disabled for the user (announced, not clickable) while staying focusable. */
export function setDisabled(button, off) {
  if (off) button.setAttribute('aria-disabled', 'true');
  else button.removeAttribute('aria-disabled');
}
