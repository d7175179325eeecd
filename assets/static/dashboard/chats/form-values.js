// What the visitor filled in the site's pre-chat form, in the chat's header: each value under
// the label it was asked with (stored with the chat, so a later change of the form does not
// change what the agent reads).

import { h } from '../dom.js';
import { t, lang } from '../i18n.js';

const str = (v) => (typeof v === 'string' ? v : '');

/** The form values of a `conversation` frame, as the model keeps them. */
export function parseFields(list) {
  if (!Array.isArray(list)) return [];
  return list
    .filter((f) => f && typeof f.name === 'string' && typeof f.value === 'string')
    .map((f) => ({
      name: f.name,
      kind: str(f.kind),
      label: (lang === 'de' ? str(f.label_de) || str(f.label_en) : str(f.label_en) || str(f.label_de)) || f.name,
      value:
        f.kind === 'checkbox'
          ? t('dashboard.conversation.form_yes')
          : (lang === 'de' ? str(f.option_de) || str(f.option_en) : str(f.option_en) || str(f.option_de)) || f.value,
    }));
}

/** Fills the header's list (hidden when the chat has no values). */
export function renderFields(dl, fields) {
  dl.replaceChildren(...fields.flatMap((f) => [h('dt', { text: f.label }), h('dd', { text: f.value })]));
  dl.hidden = fields.length === 0;
}
