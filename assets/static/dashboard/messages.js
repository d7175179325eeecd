// One chat log entry as the dashboard shows it, in the live chat and in the history: visitor,
// agent and system entries, file links and internal notes. Text only through textContent.

import { h, srOnly } from './dom.js';
import { t, has, formatTime, formatBytes } from './i18n.js';

/** A system entry's event code (`accepted`, `transferred`, `closed`) in words. */
export function systemText(msg) {
  if (!/^[a-z_]+$/.test(msg.text)) return msg.text;
  // `accepted` and `transferred` name the agent when there is one.
  const key = msg.authorName ? `dashboard.system.${msg.text}` : `dashboard.system.${msg.text}_anon`;
  if (has(key)) return t(key, { name: msg.authorName });
  return has(`dashboard.system.${msg.text}`) ? t(`dashboard.system.${msg.text}`, { name: '' }) : msg.text;
}

function timeEl(at, clockOffset) {
  const d = new Date(at * 1000 - (clockOffset || 0));
  return h('time', { datetime: d.toISOString(), text: formatTime(d) });
}

/** A download link to a chat file: its name and size; never shown inline. */
export function fileLink(file) {
  const name = file.name || t('dashboard.message.file');
  return h(
    'p',
    { class: 'msg-file' },
    h(
      'a',
      { href: `/api/files/${encodeURIComponent(file.id)}`, download: name },
      h('span', { class: 'msg-file-name', text: name }),
      ' ',
      h('span', { class: 'msg-file-size', text: `(${formatBytes(file.size)})` }),
    ),
  );
}

/**
 * A log entry. msg: {seq, author, authorName, text, at, file}; ctx: {visitorName (shown for
 * visitor entries), agentName (for agent entries without a name), clockOffset (ms)}.
 */
export function buildEntry(msg, ctx) {
  const el = h('div', { class: `msg msg-${msg.author}`, 'data-seq': msg.seq, 'data-at': msg.at });
  const time = timeEl(msg.at, ctx.clockOffset);
  if (msg.author === 'system') {
    el.append(h('p', { class: 'msg-system-text' }, h('span', { text: systemText(msg) }), ' ', time));
    return el;
  }
  const author =
    msg.author === 'visitor'
      ? ctx.visitorName
      : msg.author === 'auto'
        ? t('dashboard.message.auto')
        : msg.authorName || ctx.agentName || '';
  el.append(
    h('p', { class: 'msg-meta' }, h('span', { class: 'msg-author', text: author }), ' ', time),
    msg.file ? fileLink(msg.file) : h('p', { class: 'msg-text', text: msg.text }),
  );
  return el;
}

/** An internal note: set apart by colour and a label, and said to be invisible to the visitor. */
export function buildNote(note, ctx) {
  const el = h('div', { class: 'msg msg-note', 'data-note': note.id, 'data-at': note.at });
  el.append(
    h(
      'p',
      { class: 'msg-meta' },
      h('span', { class: 'tag note-tag', text: t('dashboard.note.tag') }),
      srOnly(t('dashboard.note.tag_sr')),
      ' ',
      h('span', { class: 'msg-author', text: note.authorName || ctx.agentName || '' }),
      ' ',
      timeEl(note.at, ctx.clockOffset),
    ),
    h('p', { class: 'msg-text', text: note.text }),
  );
  return el;
}

/** A file entry from an API answer, or null: `{id, name, size}` with an integer id. */
export function parseFile(f) {
  if (!f || typeof f !== 'object' || !Number.isSafeInteger(f.id)) return null;
  return {
    id: f.id,
    name: typeof f.name === 'string' ? f.name : '',
    size: Number.isSafeInteger(f.size) ? f.size : 0,
  };
}
