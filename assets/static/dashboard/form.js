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

/** A control under its label (`for` the control's id), then what follows it (a hint). */
export function field(label, control, ...after) {
  return labelled('field', label, control, after);
}

/** A field that takes the room left in its row. */
export function growField(label, control, ...after) {
  return labelled('field field-grow', label, control, after);
}

function labelled(cls, label, control, after) {
  return h('div', { class: cls }, h('label', { for: control.id, text: label }), control, ...after);
}

/** A hint under a field, named by the field's `aria-describedby`. */
export function hint(id, text) {
  return h('span', { id, class: 'hint', text });
}
