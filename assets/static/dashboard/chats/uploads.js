// Files an agent sends: a placeholder in the chat's log while the upload runs (over HTTP, with
// a client_id so that a retry is stored once), "Retry" and "Remove" when it failed, and the
// placeholder's end when the file comes back as a message.

import { h } from '../dom.js';
import { t, formatBytes } from '../i18n.js';
import { request } from '../api.js';
import { newClientId } from '../../shared/socket.js';
import { CODES as C } from '../../shared/errors.js';
import { FILE_TYPES, MAX_FILE_BYTES } from '../../shared/limits.js';

/** Limits whose refusal a retry now cannot help, by code (they share statuses with others). */
const LIMITS = {
  [C.quota_exceeded]: 'dashboard.file.quota',
  [C.upload_limit]: 'dashboard.file.limit',
};

/** Answers after which a retry cannot help: dropped, with this explanation. */
const TERMINAL = {
  413: 'dashboard.file.too_large',
  415: 'dashboard.file.unsupported',
  404: 'dashboard.file.not_found',
  409: 'dashboard.file.closed',
  400: 'dashboard.file.invalid',
  403: 'dashboard.file.refused',
};

export class Uploads {
  /** view: the ChatsView (its items, errors, the reply box). */
  constructor(view) {
    this.view = view;
    this.model = view.model;
    /** client_id → {clientId, convId, file, name, state, seq, el…} */
    this.uploads = new Map();
  }

  /** Whether a file is still being sent (leaving the page would lose it). */
  sending() {
    return [...this.uploads.values()].some((u) => u.state === 'sending');
  }

  start(convId, file) {
    const it = this.view.items.get(convId);
    const conv = this.model.convs.get(convId);
    if (!it || !conv || conv.status !== 'open') return;
    const name = file.name || t('dashboard.message.file');
    // Checked here to spare a pointless upload; the server decides from the bytes anyway.
    if (file.size > MAX_FILE_BYTES) {
      this.view.showError('file', t('dashboard.file.too_large', { name }));
      return;
    }
    if (file.type && !FILE_TYPES.includes(file.type)) {
      this.view.showError('file', t('dashboard.file.unsupported', { name }));
      return;
    }
    const u = { clientId: newClientId(), convId, file, name, state: 'sending', seq: null };
    u.stateEl = h('span', { class: 'msg-state' });
    u.progress = h('progress', { class: 'upload-progress', 'aria-hidden': 'true' });
    // Shown when the upload failed.
    const action = (what, onclick) =>
      h('button', {
        type: 'button',
        class: 'btn-secondary btn-small',
        hidden: true,
        text: t(`dashboard.file.${what}`),
        'aria-label': t(`dashboard.file.${what}_label`, { name }),
        onclick,
      });
    u.retryBtn = action('retry', () => {
      this.view.composer.focus();
      this.send(u);
    });
    u.removeBtn = action('remove', () => {
      this.drop(u);
      this.view.composer.focus();
    });
    u.el = h(
      'div',
      { class: 'msg msg-agent msg-pending msg-upload' },
      h('p', { class: 'msg-meta' }, h('span', { class: 'msg-author', text: this.model.myName }), ' ', u.stateEl),
      h(
        'p',
        { class: 'msg-file' },
        h('span', { class: 'msg-file-name', text: name }),
        ' ',
        h('span', { class: 'msg-file-size', text: `(${formatBytes(file.size)})` }),
      ),
      u.progress,
      h('p', { class: 'upload-actions' }, u.retryBtn, u.removeBtn),
    );
    this.uploads.set(u.clientId, u);
    it.log.append(u.el);
    it.log.scrollTop = it.log.scrollHeight;
    it.stick = true;
    this.send(u);
  }

  render(u) {
    const failed = u.state === 'failed';
    u.el.classList.toggle('msg-failed', failed);
    u.stateEl.textContent = t(failed ? 'dashboard.file.failed' : 'dashboard.file.uploading');
    u.progress.hidden = failed;
    u.retryBtn.hidden = !failed;
    u.removeBtn.hidden = !failed;
  }

  drop(u) {
    u.el.remove();
    this.uploads.delete(u.clientId);
  }

  async send(u) {
    u.state = 'sending';
    this.render(u);
    const q =
      `conversation_id=${encodeURIComponent(u.convId)}` +
      `&name=${encodeURIComponent(u.file.name)}&client_id=${encodeURIComponent(u.clientId)}`;
    // The same client_id on a retry: the server stores the file once.
    const res = await request('POST', `/api/files?${q}`, { body: u.file });
    if (!this.uploads.has(u.clientId)) return;
    if (res.ok) {
      const seq = res.data && Number.isSafeInteger(res.data.seq) ? res.data.seq : null;
      const conv = this.model.convs.get(u.convId);
      u.seq = seq;
      u.state = 'stored';
      // The file comes back as a message on this socket too; drop the placeholder then (or
      // now, if it came first).
      if (seq === null || (conv && conv.log.has(seq))) this.drop(u);
      else setTimeout(() => this.uploads.has(u.clientId) && this.drop(u), 10000);
      return;
    }
    const terminal = Object.hasOwn(LIMITS, res.code) ? LIMITS[res.code] : TERMINAL[res.status];
    if (terminal) {
      this.drop(u);
      this.view.showError('file', t(terminal, { name: u.name }));
      return;
    }
    // Network trouble, a busy or failing server: the agent may try again.
    u.state = 'failed';
    this.render(u);
    this.view.showError('file', t('dashboard.file.retry_hint', { name: u.name }));
  }

  /** A file message of this chat arrived: my upload of it is in the log now. */
  arrived(convId, seq) {
    for (const [cid, u] of this.uploads) {
      if (u.convId === convId && u.seq === seq) {
        u.el.remove();
        this.uploads.delete(cid);
      }
    }
  }

  /** A chat left the list: its uploads are forgotten. */
  forget(convId) {
    for (const [cid, u] of this.uploads) if (u.convId === convId) this.uploads.delete(cid);
  }
}
