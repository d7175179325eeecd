// The reply box under the selected chat: replies, internal notes (the note mode, per chat),
// canned responses, a draft per chat, and the button that sends files.

import { h, hasFocus } from '../dom.js';
import { t } from '../i18n.js';
import { CannedStore, CannedSuggest } from '../canned.js';
import { FILE_TYPES, MAX_TEXT_CHARS, charCount, limitField } from '../../shared/limits.js';

export class Composer {
  /** view: the ChatsView (the selected chat, errors); chooseFiles(files): the files picked. */
  constructor(view, chooseFiles) {
    this.view = view;
    this.model = view.model;
    /** conversation id → the unsent text of a chat not shown */
    this.drafts = new Map();
    /** conversation id → true while the reply box writes internal notes */
    this.noteModes = new Map();
    this.canned = new CannedStore();

    this.reply = h('textarea', {
      id: 'reply-text',
      rows: '3',
      'aria-describedby': 'reply-hint',
      onkeydown: (e) => this.onKey(e),
      oninput: () => this.onInput(),
    });
    limitField(this.reply, MAX_TEXT_CHARS);
    this.suggest = new CannedSuggest(this.reply, this.canned, (text) => this.insertCanned(text));
    this.label = h('label', { for: 'reply-text', text: t('dashboard.reply.label') });
    this.hint = h('p', { id: 'reply-hint', class: 'hint', text: t('dashboard.reply.hint') });
    this.noteToggle = h('input', {
      type: 'checkbox',
      id: 'note-toggle',
      'aria-describedby': 'note-toggle-hint',
      onchange: () => this.setNoteMode(this.noteToggle.checked),
    });
    this.sendBtn = h('button', { type: 'submit', text: t('dashboard.reply.send') });
    this.fileInput = h('input', {
      type: 'file',
      id: 'file-input',
      hidden: true, // the "Send file" button opens it
      multiple: true,
      accept: FILE_TYPES.join(','),
      onchange: () => {
        const files = [...(this.fileInput.files || [])];
        this.fileInput.value = '';
        chooseFiles(files);
      },
    });
    this.fileBtn = h('button', {
      type: 'button',
      class: 'btn-secondary',
      text: t('dashboard.file.send'),
      'aria-describedby': 'file-hint',
      onclick: () => {
        if (this.view.selected !== null) this.fileInput.click();
      },
    });
    this.el = h(
      'form',
      { class: 'reply', onsubmit: (e) => this.onSubmit(e) },
      h(
        'div',
        { class: 'reply-head' },
        this.label,
        h(
          'span',
          { class: 'note-switch' },
          this.noteToggle,
          h('label', { for: 'note-toggle', text: t('dashboard.note.toggle') }),
          h('span', { id: 'note-toggle-hint', class: 'vh', text: t('dashboard.note.toggle_hint') }),
        ),
      ),
      this.reply,
      ...this.suggest.elements(),
      h(
        'div',
        { class: 'reply-row' },
        this.hint,
        h(
          'div',
          { class: 'reply-tools' },
          this.fileBtn,
          h('span', { id: 'file-hint', class: 'vh', text: t('dashboard.file.hint') }),
          this.fileInput,
          this.sendBtn,
        ),
      ),
    );
  }

  /** Another chat is selected: the draft of the one left is kept, the new one's shown. */
  switchChat(from, to) {
    if (from !== null && from !== to) this.drafts.set(from, this.reply.value);
    if (from !== to) {
      this.reply.value = this.drafts.get(to) || '';
      this.suggest.close();
    }
  }

  /** The box is usable only for an open chat. */
  setUsable(usable) {
    this.el.hidden = !usable;
    this.reply.disabled = !usable;
    this.sendBtn.disabled = !usable;
    this.renderNoteMode();
  }

  focus() {
    this.reply.focus();
  }

  /** A chat left the list: its draft and mode go. */
  forget(convId) {
    this.drafts.delete(convId);
    this.noteModes.delete(convId);
  }

  onKey(e) {
    if (this.suggest.onKey(e)) return;
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    this.el.requestSubmit();
  }

  onInput() {
    const id = this.view.selected;
    if (id === null) return;
    this.drafts.set(id, this.reply.value);
    // Writing a note is nothing the visitor should hear about.
    if (this.reply.value.trim() && !this.noteMode()) this.model.typing(id);
  }

  insertCanned(text) {
    this.reply.value = text;
    this.reply.setSelectionRange(text.length, text.length);
    this.reply.focus();
    this.onInput();
  }

  noteMode() {
    const id = this.view.selected;
    return id !== null && this.noteModes.get(id) === true;
  }

  setNoteMode(on) {
    const id = this.view.selected;
    if (id === null) return;
    if (on) this.noteModes.set(id, true);
    else this.noteModes.delete(id);
    this.renderNoteMode();
  }

  /** The reply box in note mode looks and reads differently: notes never reach the visitor. */
  renderNoteMode() {
    const on = this.noteMode();
    this.noteToggle.checked = on;
    this.el.classList.toggle('note-mode', on);
    this.label.textContent = t(on ? 'dashboard.note.label' : 'dashboard.reply.label');
    this.hint.textContent = t(on ? 'dashboard.note.hint' : 'dashboard.reply.hint');
    this.sendBtn.textContent = t(on ? 'dashboard.note.save' : 'dashboard.reply.send');
    // Files always go to the visitor: not offered while writing a note.
    const fileHadFocus = hasFocus(this.fileBtn);
    this.fileBtn.hidden = on;
    if (fileHadFocus && on) this.noteToggle.focus();
  }

  onSubmit(e) {
    e.preventDefault();
    const id = this.view.selected;
    const text = this.reply.value;
    if (id === null || !text.trim()) {
      this.reply.focus();
      return;
    }
    if (charCount(text) > MAX_TEXT_CHARS) {
      this.view.showError('message_too_long', '');
      return;
    }
    if (this.model.sendMessage(id, text, this.noteMode() ? 'note' : 'message')) {
      this.reply.value = '';
      this.drafts.delete(id);
    }
    this.reply.focus();
  }
}
