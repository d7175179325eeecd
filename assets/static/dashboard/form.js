// What the dashboard's forms share: a labelled field, a checkbox with its label, and a form's
// error line tied to the field it is about (`aria-invalid`, `aria-errormessage`).

import { h } from './dom.js';

/**
 * Says `text` in the form's error line `error` and marks `field` invalid, pointing at the
 * line; the other `fields` lose their mark. `field` null and text '' clear the form. A field
 * outside `fields` (a button) only gets focus. With `focus` false the focus stays where it is
 * (a field the user is typing in).
 */
export function showFieldError(error, fields, field, text, { focus = true } = {}) {
  error.textContent = text;
  for (const el of fields) {
    if (!el) continue;
    if (el === field) {
      el.setAttribute('aria-invalid', 'true');
      el.setAttribute('aria-errormessage', error.id);
    } else {
      el.removeAttribute('aria-invalid');
      el.removeAttribute('aria-errormessage');
    }
  }
  if (field && focus) field.focus();
}

/** A checkbox (or radio) followed by its label. */
export function checkField(control, label, props = {}) {
  return h('div', { class: 'check-field', ...props }, control, h('label', { for: control.id, text: label }));
}
