// The Privacy section (admins): data-subject requests (find, export, correct, restrict
// (restrictions.js) and erase what is stored about one person: `/api/gdpr/*`, with the
// deletion protocols kept afterwards), the
// retention periods (`/api/retention`), the audit trail with its hash-chain check
// (`/api/audit`) and the read log (`/api/audit/reads`: who read which chat, visitor, file or
// export). Names, addresses and log fields are set as text only (dom.js).

import { h, srOnly, whileBusy } from './dom.js';
import { t, tn, has, formatDateTime, formatNumber } from './i18n.js';
import { request, httpError } from './api.js';
import { showFieldError, field, growField, checkField, hint } from './form.js';
import { captionedTable } from './tables.js';
import { parseDay } from './days.js';
import { RestrictionsBlock } from './restrictions.js';

export function mountPrivacy(root) {
  return new PrivacyView(root);
}

// ----- reading answers (anything odd counts as zero or is left out) -----

const isInt = (v) => Number.isSafeInteger(v);
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v) => (typeof v === 'string' ? v : '');
const list = (v) => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []);

/** What a search, an export or an erasure can be about. */
const BY = ['email', 'name', 'visitor', 'chat'];
/** The kinds of data the counts and the deletion protocols name, in this order. */
const KINDS = ['conversations', 'messages', 'notes', 'files', 'offline_messages', 'visitors', 'visits', 'page_views', 'conversions', 'invitations'];
const RETENTION = ['chats_days', 'files_days', 'offline_days', 'page_views_days', 'visitors_days', 'audit_days', 'reads_days', 'presence_days'];
/** What the read log records. */
const READS = ['conversation', 'visitor', 'offline', 'file', 'history.search', 'gdpr.find', 'gdpr.export', 'stats.csv'];
const RESULTS = ['success', 'failure', 'throttled', 'authz denied'];
const AUDIT_LIMIT = 100;
const DAY_S = 86_400;

/** {kind: count} for every kind. */
function parseCounts(v) {
  const o = v && typeof v === 'object' ? v : {};
  return Object.fromEntries(KINDS.map((k) => [k, num(o[k])]));
}

const total = (counts) => KINDS.reduce((a, k) => a + counts[k], 0);

/** A deletion protocol from the API, or null. */
function parseProtocol(p) {
  if (!p || typeof p !== 'object') return null;
  return { id: isInt(p.id) ? p.id : null, at: num(p.at), by: str(p.by), deleted: parseCounts(p.deleted) };
}

/** A failed call in words: the server's own message for a refusal (4xx), else the usual words. */
function failText(res) {
  if (res.status >= 400 && res.status < 500 && res.message) return res.message;
  return httpError(res);
}

/** Unix seconds of a `YYYY-MM-DD` day at 00:00 UTC, or null when it is no real date. */
function dayStart(text) {
  const ms = parseDay(text);
  return ms === null ? null : ms / 1000;
}

// ----- small builders -----

const dash = () => h('span', {}, h('span', { class: 'muted', 'aria-hidden': 'true', text: '–' }), srOnly(t('dashboard.privacy.none')));

/** A unix time as local date and time; a dash without one. */
function timeEl(sec) {
  if (!(sec > 0)) return dash();
  const d = new Date(sec * 1000);
  return h('time', { datetime: d.toISOString(), text: formatDateTime(d) });
}

const textOrDash = (v) => (v ? v : dash());
const kindText = (k) => t(`dashboard.privacy.kind.${k}`);
const byText = (by) => t(`dashboard.privacy.dsr.by.${by}`);

/** A known value in words (the key's last part), anything else as it came. */
function known(prefix, value) {
  const key = `${prefix}.${value.replace(/\s+/g, '_')}`;
  return value && has(key) ? t(key) : value;
}

/** One row: the first column heads it. */
function tableRow(columns, r) {
  return h(
    'tr',
    {},
    columns.map((c, i) =>
      i === 0
        ? h('th', { scope: 'row', class: c.num ? 'num' : null }, c.cell(r))
        : h('td', { class: c.cls || (c.num ? 'num' : null) }, c.cell(r)),
    ),
  );
}

/** One of the section's panels (`dsr`, `retention`, `audit`, `reads`): its heading and intro, then `children`. */
function panel(part, ...children) {
  return h(
    'section',
    { id: part, class: 'panel privacy-panel', 'aria-labelledby': `${part}-title` },
    h('h2', { id: `${part}-title`, text: t(`dashboard.privacy.${part}.title`) }),
    h('p', { class: 'hint', text: t(`dashboard.privacy.${part}.intro`) }),
    ...children,
  );
}

/** A plain table with a caption for screen readers; without rows, one row says so. */
function dataTable(caption, columns, rows, props = {}) {
  return captionedTable(
    { class: 'data-table privacy-table', ...props },
    caption,
    columns,
    h(
      'tbody',
      {},
      rows.length
        ? rows.map((r) => tableRow(columns, r))
        : h('tr', {}, h('td', { colspan: columns.length, class: 'empty', text: t('dashboard.privacy.table_empty') })),
    ),
  );
}

/** Kinds and counts as a table (found data, a deletion protocol). */
function countsTable(caption, counts) {
  const columns = [
    { label: t('dashboard.privacy.col.kind'), cell: (k) => kindText(k) },
    { label: t('dashboard.privacy.col.count'), num: true, cell: (k) => formatNumber(counts[k]) },
  ];
  return h('div', { class: 'table-wrap privacy-counts' }, dataTable(caption, columns, KINDS));
}

// ----- the view -----

class PrivacyView {
  constructor(root) {
    this.subject = null; // {by, value} of the results on screen
    this.findSeq = 0;
    this.auditSeq = 0;
    this.auditQuery = new URLSearchParams();
    this.minId = null; // the smallest audit entry id shown, for "older entries"
    root.classList.add('dash-app', 'privacy-app');
    this.readsSeq = 0;
    root.replaceChildren(this.buildDsr(), this.buildRetention(), this.buildAudit(), this.buildReads(), this.buildRecord());
    this.loadProtocols();
    this.restrictions.load();
    this.loadRetention();
    this.loadAudit(false);
    this.loadReads();
  }

  // ----- 1. data-subject requests -----

  buildDsr() {
    this.restrictions = new RestrictionsBlock(
      () => this.subject,
      () => this.subject && this.find(this.subject),
    );
    this.bySelect = h(
      'select',
      { id: 'dsr-by', name: 'by', onchange: () => this.byHint() },
      BY.map((b) => h('option', { value: b, text: byText(b) })),
    );
    this.valueInput = h('input', {
      id: 'dsr-value',
      name: 'value',
      required: true,
      maxlength: '320',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': 'dsr-value-hint',
    });
    this.valueHint = h('span', { id: 'dsr-value-hint', class: 'hint' });
    this.findBtn = h('button', { type: 'submit', text: t('dashboard.privacy.dsr.search') });
    this.dsrError = h('p', { id: 'dsr-error', class: 'form-error', role: 'alert' });
    this.dsrStatus = h('p', { class: 'form-status', role: 'status' });
    this.result = h('div', { id: 'dsr-result', class: 'privacy-result', 'aria-live': 'polite' });
    this.actions = h(
      'div',
      { id: 'dsr-actions', class: 'privacy-actions', hidden: true },
      this.buildExport(),
      this.buildRectify(),
      this.restrictions.form,
      this.buildErase(),
    );
    this.protocolTitle = h('h3', { id: 'dsr-protocol-title', tabindex: '-1', text: t('dashboard.privacy.dsr.protocol') });
    this.protocolBody = h('div');
    this.protocol = h(
      'section',
      { id: 'dsr-protocol', class: 'privacy-protocol', hidden: true, 'aria-labelledby': 'dsr-protocol-title' },
      this.protocolTitle,
      this.protocolBody,
    );
    this.protocolsStatus = h('p', { class: 'form-status', role: 'status' });
    this.protocols = h('div', { id: 'dsr-protocols', class: 'privacy-protocols' });
    this.byHint();
    return panel(
      'dsr',
      h(
        'form',
        {
          id: 'dsr-form',
          class: 'privacy-search',
          role: 'search',
          'aria-label': t('dashboard.privacy.dsr.search_label'),
          novalidate: true,
          onsubmit: (e) => {
            e.preventDefault();
            this.newSearch();
          },
        },
        field(t('dashboard.privacy.dsr.by_label'), this.bySelect),
        growField(t('dashboard.privacy.dsr.value'), this.valueInput, this.valueHint),
        h('div', { class: 'field field-button' }, this.findBtn),
      ),
      this.dsrError,
      this.dsrStatus,
      this.result,
      this.actions,
      this.protocol,
      h('h3', { id: 'dsr-protocols-title', text: t('dashboard.privacy.dsr.protocols') }),
      h('p', { class: 'hint', text: t('dashboard.privacy.dsr.protocols_hint') }),
      this.protocolsStatus,
      this.protocols,
      this.restrictions.listEl,
    );
  }

  /** The value field's hint follows what is searched for. */
  byHint() {
    this.valueHint.textContent = t(`dashboard.privacy.dsr.hint.${this.bySelect.value}`);
  }

  /** A search the agent asked for: what an earlier action said no longer applies. */
  newSearch() {
    const value = this.valueInput.value.trim();
    const fields = [this.valueInput];
    if (!value) {
      showFieldError(this.dsrError, fields, this.valueInput, t('dashboard.privacy.dsr.need_value'));
      return;
    }
    showFieldError(this.dsrError, fields, null, '');
    this.protocol.hidden = true;
    this.rectifyStatus.textContent = '';
    this.find({ by: this.bySelect.value, value });
  }

  async find(subject) {
    const seq = ++this.findSeq;
    this.bySelect.value = subject.by;
    this.valueInput.value = subject.value;
    this.byHint();
    this.dsrError.textContent = '';
    this.dsrStatus.textContent = t('dashboard.privacy.dsr.searching');
    this.result.setAttribute('aria-busy', 'true');
    const q = new URLSearchParams(subject);
    const res = await request('GET', `/api/gdpr/find?${q}`);
    if (seq !== this.findSeq) return; // a newer search is under way
    this.result.removeAttribute('aria-busy');
    this.dsrStatus.textContent = '';
    const data = res.ok && res.data && typeof res.data === 'object' ? res.data : null;
    if (!data) {
      this.dsrError.textContent = res.ok ? t('dashboard.http.failed') : failText(res);
      this.showSubject(null);
      return;
    }
    // The actions name what the server searched for (normalised; visitor and chat numbers come
    // as numbers), not what the field holds by now.
    const s = data.subject && typeof data.subject === 'object' ? data.subject : {};
    const value = isInt(s.value) ? String(s.value) : str(s.value);
    this.showSubject({ by: BY.includes(s.by) ? s.by : subject.by, value: value || subject.value }, data);
  }

  /** Shows the results for `subject` (null: none), and the actions when something was found. */
  showSubject(subject, data) {
    this.subject = null;
    this.actions.hidden = true;
    this.rectifyError.textContent = '';
    this.eraseError.textContent = '';
    this.confirm.checked = false;
    this.eraseBtn.disabled = true;
    if (!subject) {
      this.result.removeAttribute('data-empty');
      this.result.replaceChildren();
      return;
    }
    const counts = parseCounts(data.counts);
    const words = { value: subject.value, by: byText(subject.by) };
    if (total(counts) === 0) {
      this.result.dataset.empty = 'true';
      this.result.replaceChildren(h('p', { class: 'empty', text: t('dashboard.privacy.dsr.nothing', words) }));
      return;
    }
    this.result.dataset.empty = 'false';
    const parts = [
      h('p', { class: 'privacy-subject', text: t('dashboard.privacy.dsr.found', words) }),
      h('h3', { text: t('dashboard.privacy.dsr.counts') }),
      countsTable(t('dashboard.privacy.dsr.counts'), counts),
      this.listBlock('conversations', list(data.conversations), [
        { label: t('dashboard.privacy.col.chat'), cell: (c) => this.chatLink(c.id) },
        { label: t('dashboard.privacy.col.started'), cell: (c) => timeEl(num(c.created_at)) },
        { label: t('dashboard.privacy.col.status'), cell: (c) => known('dashboard.history.status', str(c.status)) },
        { label: t('dashboard.privacy.col.name'), cell: (c) => textOrDash(str(c.visitor_name)) },
        { label: t('dashboard.privacy.col.email'), cls: 'cell-email', cell: (c) => textOrDash(str(c.visitor_email)) },
        { label: t('dashboard.privacy.col.consent'), cell: (c) => this.consentEl(c) },
        { label: t('dashboard.privacy.col.messages'), num: true, cell: (c) => formatNumber(num(c.messages)) },
      ]),
      this.listBlock('offline_messages', list(data.offline_messages), [
        { label: t('dashboard.privacy.col.number'), cell: (m) => `#${num(m.id)}` },
        { label: t('dashboard.privacy.col.received'), cell: (m) => timeEl(num(m.created_at)) },
        { label: t('dashboard.privacy.col.name'), cell: (m) => textOrDash(str(m.name)) },
        { label: t('dashboard.privacy.col.email'), cls: 'cell-email', cell: (m) => textOrDash(str(m.email)) },
      ]),
      this.listBlock('visitors', list(data.visitors), [
        { label: t('dashboard.privacy.col.visitor'), cell: (v) => `#${num(v.id)}` },
        { label: t('dashboard.privacy.col.mode'), cell: (v) => known('dashboard.tracking.mode', str(v.mode)) },
        { label: t('dashboard.privacy.col.first_seen'), cell: (v) => timeEl(num(v.first_seen)) },
        { label: t('dashboard.privacy.col.last_seen'), cell: (v) => timeEl(num(v.last_seen)) },
        { label: t('dashboard.privacy.col.visits'), num: true, cell: (v) => formatNumber(num(v.visits)) },
      ]),
    ];
    this.result.replaceChildren(...parts.flat().filter(Boolean));
    this.subject = subject;
    this.exportLink.href = `/api/gdpr/export?${new URLSearchParams(subject)}`;
    this.actions.hidden = false;
  }

  /** A titled table of one kind of record; nothing when there are none. */
  listBlock(kind, rows, columns) {
    if (!rows.length) return null;
    const title = kindText(kind);
    return [h('h3', { text: title }), h('div', { class: 'table-wrap' }, dataTable(title, columns, rows, { 'data-table': kind }))];
  }

  /** The chat's number, a link to its transcript in History. */
  chatLink(id) {
    if (!isInt(id)) return dash();
    return h('a', { href: `/app/history?c=${id}`, text: `#${id}` });
  }

  consentEl(c) {
    if (!(num(c.consent_at) > 0)) return h('span', { class: 'muted', text: t('dashboard.privacy.dsr.no_consent') });
    const version = str(c.consent_version);
    return h('span', {}, timeEl(num(c.consent_at)), version ? ` (${version})` : '');
  }

  // ----- export, rectify, erase -----

  buildExport() {
    this.exportLink = h('a', {
      id: 'dsr-export',
      class: 'btn-link',
      href: '/api/gdpr/export',
      download: true,
      'aria-describedby': 'dsr-export-hint',
      text: t('dashboard.privacy.dsr.export'),
    });
    return h(
      'section',
      { class: 'privacy-action', 'aria-labelledby': 'dsr-export-title' },
      h('h3', { id: 'dsr-export-title', text: t('dashboard.privacy.dsr.export_title') }),
      h('p', { id: 'dsr-export-hint', class: 'hint', text: t('dashboard.privacy.dsr.export_hint') }),
      h('p', {}, this.exportLink),
    );
  }

  buildRectify() {
    this.newName = h('input', { id: 'dsr-new-name', name: 'new_name', maxlength: '200', autocomplete: 'off' });
    this.newEmail = h('input', { id: 'dsr-new-email', name: 'new_email', type: 'email', maxlength: '320', autocomplete: 'off', spellcheck: 'false' });
    this.rectifyBtn = h('button', { type: 'submit', text: t('dashboard.privacy.dsr.rectify') });
    this.rectifyError = h('p', { id: 'dsr-rectify-error', class: 'form-error', role: 'alert' });
    this.rectifyStatus = h('p', { class: 'form-status', role: 'status' });
    return h(
      'form',
      { id: 'dsr-rectify', class: 'privacy-action', novalidate: true, 'aria-labelledby': 'dsr-rectify-title', onsubmit: (e) => this.rectify(e) },
      h('h3', { id: 'dsr-rectify-title', text: t('dashboard.privacy.dsr.rectify_title') }),
      h('p', { class: 'hint', text: t('dashboard.privacy.dsr.rectify_hint') }),
      h(
        'div',
        { class: 'privacy-fields' },
        field(t('dashboard.privacy.dsr.new_name'), this.newName),
        field(t('dashboard.privacy.dsr.new_email'), this.newEmail),
      ),
      this.rectifyError,
      h('div', { class: 'form-buttons' }, this.rectifyBtn),
      this.rectifyStatus,
    );
  }

  async rectify(e) {
    e.preventDefault();
    const subject = this.subject;
    if (!subject) return;
    const name = this.newName.value.trim();
    const email = this.newEmail.value.trim();
    this.rectifyStatus.textContent = '';
    const fields = [this.newName];
    if (!name && !email) {
      showFieldError(this.rectifyError, fields, this.newName, t('dashboard.privacy.dsr.rectify_need'));
      return;
    }
    showFieldError(this.rectifyError, fields, null, '');
    await whileBusy(this.rectifyBtn, () => this.sendRectify(subject, name, email));
  }

  async sendRectify(subject, name, email) {
    const res = await request('POST', '/api/gdpr/rectify', {
      json: { by: subject.by, value: subject.value, name: name || null, email: email || null },
    });
    if (!res.ok) {
      this.rectifyError.textContent = failText(res);
      return;
    }
    const u = res.data && res.data.updated && typeof res.data.updated === 'object' ? res.data.updated : {};
    this.newName.value = '';
    this.newEmail.value = '';
    this.rectifyStatus.textContent = t('dashboard.privacy.dsr.rectified', {
      chats: tn('dashboard.privacy.dsr.n_chats', num(u.conversations)),
      offline: tn('dashboard.privacy.dsr.n_offline', num(u.offline_messages)),
    });
    // Searched by the field just changed: the old value finds nothing now, the new one does.
    const next = { ...subject };
    if (subject.by === 'email' && email) next.value = email;
    if (subject.by === 'name' && name) next.value = name;
    await this.find(next);
  }

  buildErase() {
    this.confirm = h('input', {
      type: 'checkbox',
      id: 'dsr-confirm',
      name: 'confirm',
      onchange: () => {
        this.eraseBtn.disabled = !this.confirm.checked;
      },
    });
    this.eraseBtn = h('button', { type: 'submit', class: 'btn-danger', disabled: true, text: t('dashboard.privacy.dsr.erase') });
    this.eraseError = h('p', { class: 'form-error', role: 'alert' });
    return h(
      'form',
      { id: 'dsr-erase', class: 'privacy-action privacy-erase', novalidate: true, 'aria-labelledby': 'dsr-erase-title', onsubmit: (e) => this.erase(e) },
      h('h3', { id: 'dsr-erase-title', text: t('dashboard.privacy.dsr.erase_title') }),
      h('p', { class: 'hint', text: t('dashboard.privacy.dsr.erase_hint') }),
      checkField(this.confirm, t('dashboard.privacy.dsr.confirm')),
      this.eraseError,
      h('div', { class: 'form-buttons' }, this.eraseBtn),
    );
  }

  async erase(e) {
    e.preventDefault();
    const subject = this.subject;
    if (!subject || !this.confirm.checked) return;
    this.eraseError.textContent = '';
    await whileBusy(this.eraseBtn, () => this.sendErase(subject));
  }

  async sendErase(subject) {
    const res = await request('POST', '/api/gdpr/erase', { json: { by: subject.by, value: subject.value, confirm: true } });
    if (!res.ok) {
      this.eraseError.textContent = failText(res);
      return;
    }
    this.showProtocol(parseProtocol(res.data));
    // The form goes away with the results (nothing is left): focus to what happened instead.
    this.protocolTitle.focus();
    await Promise.all([this.find(subject), this.loadProtocols()]);
  }

  /** The protocol of the erasure just done. */
  showProtocol(p) {
    this.protocol.hidden = false;
    if (!p) {
      this.protocolBody.replaceChildren(h('p', { text: t('dashboard.privacy.dsr.erased') }));
      return;
    }
    this.protocolBody.replaceChildren(
      h('p', { text: tn('dashboard.privacy.dsr.erased_total', total(p.deleted)) }),
      h(
        'dl',
        { class: 'privacy-meta' },
        p.id !== null ? [h('dt', { text: t('dashboard.privacy.col.number') }), h('dd', { text: `#${p.id}` })] : null,
        h('dt', { text: t('dashboard.privacy.col.time') }),
        h('dd', {}, timeEl(p.at)),
        h('dt', { text: t('dashboard.privacy.col.by') }),
        h('dd', {}, textOrDash(p.by)),
      ),
      countsTable(t('dashboard.privacy.dsr.protocol'), p.deleted),
    );
  }

  async loadProtocols() {
    const res = await request('GET', '/api/gdpr/erasures');
    if (!res.ok || !res.data || !Array.isArray(res.data.erasures)) {
      this.protocolsStatus.textContent = res.ok ? t('dashboard.http.failed') : failText(res);
      return;
    }
    this.protocolsStatus.textContent = '';
    const rows = res.data.erasures.map(parseProtocol).filter(Boolean);
    const columns = [
      { label: t('dashboard.privacy.col.time'), cell: (p) => timeEl(p.at) },
      { label: t('dashboard.privacy.col.by'), cell: (p) => textOrDash(p.by) },
      { label: t('dashboard.privacy.col.total'), num: true, cell: (p) => formatNumber(total(p.deleted)) },
      { label: t('dashboard.privacy.col.details'), cell: (p) => this.protocolDetails(p) },
    ];
    this.protocols.replaceChildren(h('div', { class: 'table-wrap' }, dataTable(t('dashboard.privacy.dsr.protocols'), columns, rows)));
  }

  /** The kinds an erasure deleted, folded away. */
  protocolDetails(p) {
    const kinds = KINDS.filter((k) => p.deleted[k] > 0);
    return h(
      'details',
      { class: 'privacy-details' },
      h('summary', { text: t('dashboard.privacy.dsr.details') }),
      kinds.length
        ? h('ul', {}, kinds.map((k) => h('li', { text: `${kindText(k)}: ${formatNumber(p.deleted[k])}` })))
        : h('p', { class: 'muted', text: t('dashboard.privacy.dsr.nothing_deleted') }),
    );
  }

  // ----- 2. retention periods -----

  buildRetention() {
    this.retInputs = {};
    this.retDefaults = {};
    this.maxDays = 3650;
    const retentionField = (key) => {
      const input = h('input', {
        type: 'number',
        id: `ret-${key}`,
        name: key,
        min: '1',
        max: String(this.maxDays),
        step: '1',
        inputmode: 'numeric',
        required: true,
        disabled: true, // until the periods are loaded
        'aria-describedby': `ret-${key}-help ret-${key}-default`,
      });
      this.retInputs[key] = input;
      this.retDefaults[key] = h('span', { id: `ret-${key}-default`, class: 'hint' });
      return field(
        t(`dashboard.privacy.retention.field.${key}`),
        input,
        hint(`ret-${key}-help`, t(`dashboard.privacy.retention.help.${key}`)),
        this.retDefaults[key],
      );
    };
    this.retBtn = h('button', { type: 'submit', disabled: true, text: t('dashboard.privacy.retention.save') });
    this.retError = h('p', { id: 'retention-error', class: 'form-error', role: 'alert' });
    this.retStatus = h('p', { class: 'form-status', role: 'status' });
    return panel(
      'retention',
      h(
        'form',
        { id: 'retention-form', novalidate: true, onsubmit: (e) => this.saveRetention(e) },
        h(
          'fieldset',
          { class: 'privacy-fieldset' },
          h('legend', { text: t('dashboard.privacy.retention.legend') }),
          h('div', { class: 'privacy-grid' }, RETENTION.map(retentionField)),
        ),
        this.retError,
        h('div', { class: 'form-buttons' }, this.retBtn),
        this.retStatus,
      ),
    );
  }

  /** Fills the fields with the periods and enables them. */
  setRetention(r) {
    for (const key of RETENTION) {
      if (isInt(r[key])) this.retInputs[key].value = String(r[key]);
      this.retInputs[key].disabled = false;
    }
    this.retBtn.disabled = false;
  }

  async loadRetention() {
    const res = await request('GET', '/api/retention');
    const d = res.ok && res.data && typeof res.data === 'object' ? res.data : null;
    if (!d || !d.retention || typeof d.retention !== 'object') {
      this.retError.textContent = res.ok ? t('dashboard.http.failed') : failText(res);
      return;
    }
    if (isInt(d.max_days) && d.max_days > 0) this.maxDays = d.max_days;
    const defaults = d.defaults && typeof d.defaults === 'object' ? d.defaults : {};
    for (const key of RETENTION) {
      this.retInputs[key].max = String(this.maxDays);
      this.retDefaults[key].textContent = isInt(defaults[key]) ? tn('dashboard.privacy.retention.default', defaults[key]) : '';
    }
    this.setRetention(d.retention);
  }

  retFieldError(field, text) {
    showFieldError(this.retError, Object.values(this.retInputs), field, text);
  }

  async saveRetention(e) {
    e.preventDefault();
    this.retStatus.textContent = '';
    const body = {};
    for (const key of RETENTION) {
      const el = this.retInputs[key];
      const raw = el.value.trim();
      const n = Number(raw);
      // A number field holding something else reads as empty: `badInput` tells them apart.
      if ((el.validity && el.validity.badInput) || !/^\d+$/.test(raw) || n < 1 || n > this.maxDays) {
        this.retFieldError(el, t('dashboard.privacy.retention.bad_days', { max: formatNumber(this.maxDays) }));
        return;
      }
      body[key] = n;
    }
    this.retFieldError(null, '');
    await whileBusy(this.retBtn, () => this.sendRetention(body));
  }

  async sendRetention(body) {
    const res = await request('PUT', '/api/retention', { json: body });
    if (!res.ok) {
      this.retError.textContent = failText(res);
      return;
    }
    if (res.data && res.data.retention && typeof res.data.retention === 'object') this.setRetention(res.data.retention);
    this.retStatus.textContent = t('dashboard.privacy.retention.saved');
  }

  // ----- 3. audit trail -----

  buildAudit() {
    const input = (name, props = {}) => h('input', { id: `audit-${name}`, name, autocomplete: 'off', ...props });
    const filterField = (name, el, hintText) =>
      field(t(`dashboard.privacy.audit.filter.${name}`), el, hintText ? hint(`audit-${name}-hint`, hintText) : null);
    this.fActor = input('actor', { maxlength: '200', spellcheck: 'false' });
    this.fAction = input('action', { maxlength: '100', spellcheck: 'false', 'aria-describedby': 'audit-action-hint' });
    this.fResult = h(
      'select',
      { id: 'audit-result', name: 'result' },
      h('option', { value: '', text: t('dashboard.privacy.audit.result_any') }),
      RESULTS.map((r) => h('option', { value: r, text: known('dashboard.privacy.audit.result', r) })),
    );
    this.fFrom = input('from', { type: 'date', 'aria-describedby': 'audit-utc-hint' });
    this.fTo = input('to', { type: 'date', 'aria-describedby': 'audit-utc-hint' });
    this.auditError = h('p', { id: 'audit-error', class: 'form-error', role: 'alert' });
    this.auditStatus = h('p', { class: 'form-status', role: 'status' });

    this.chain = h('div', { id: 'audit-chain', class: 'privacy-chain', hidden: true });
    this.head = h('code', { id: 'audit-head', class: 'privacy-hash' });
    this.headBox = h(
      'div',
      { class: 'privacy-head', hidden: true },
      h('p', {}, `${t('dashboard.privacy.audit.head')} `, this.head),
      h('p', { class: 'hint', text: t('dashboard.privacy.audit.head_hint') }),
    );

    this.auditColumns = [
      { label: t('dashboard.privacy.col.time'), cell: (e) => timeEl(num(e.at)) },
      { label: t('dashboard.privacy.col.actor'), cls: 'cell-email', cell: (e) => textOrDash(str(e.actor)) },
      { label: t('dashboard.privacy.col.role'), cell: (e) => textOrDash(known('dashboard.privacy.audit.role', str(e.role))) },
      { label: t('dashboard.privacy.col.action'), cell: (e) => h('code', { text: str(e.action) }) },
      { label: t('dashboard.privacy.col.object'), cls: 'cell-wrap', cell: (e) => textOrDash(str(e.object)) },
      { label: t('dashboard.privacy.col.result'), cell: (e) => this.resultEl(str(e.result)) },
      { label: t('dashboard.privacy.col.ip'), cell: (e) => textOrDash(str(e.ip)) },
      { label: t('dashboard.privacy.col.request_id'), cell: (e) => (str(e.request_id) ? h('code', { text: str(e.request_id) }) : dash()) },
    ];
    this.auditBody = h('tbody');
    this.auditTable = captionedTable(
      { id: 'audit-table', class: 'data-table privacy-table audit-table' },
      t('dashboard.privacy.audit.caption'),
      this.auditColumns,
      this.auditBody,
    );
    this.olderBtn = h('button', {
      type: 'button',
      id: 'audit-older',
      class: 'btn-secondary',
      hidden: true,
      text: t('dashboard.privacy.audit.older'),
      onclick: () => whileBusy(this.olderBtn, () => this.loadAudit(true)),
    });

    return panel(
      'audit',
      this.chain,
      this.headBox,
      h(
        'form',
        { id: 'audit-filter', class: 'privacy-filter', novalidate: true, 'aria-labelledby': 'audit-filter-title', onsubmit: (e) => this.filterAudit(e) },
        h('h3', { id: 'audit-filter-title', class: 'vh', text: t('dashboard.privacy.audit.filter_title') }),
        filterField('actor', this.fActor),
        filterField('action', this.fAction, t('dashboard.privacy.audit.action_hint')),
        filterField('result', this.fResult),
        filterField('from', this.fFrom),
        filterField('to', this.fTo),
        h('div', { class: 'field field-button' }, h('button', { type: 'submit', text: t('dashboard.privacy.audit.apply') })),
        h('p', { id: 'audit-utc-hint', class: 'hint privacy-utc', text: t('dashboard.privacy.audit.utc_hint') }),
      ),
      this.auditError,
      this.auditStatus,
      h('div', { class: 'table-wrap' }, this.auditTable),
      h('div', { class: 'form-buttons' }, this.olderBtn),
    );
  }

  resultEl(result) {
    return h('span', { class: result === 'success' ? 'tag' : 'tag tag-bad', 'data-result': result, text: known('dashboard.privacy.audit.result', result) });
  }

  dateFail(field, text) {
    showFieldError(this.auditError, [this.fFrom, this.fTo], field, text);
  }

  filterAudit(e) {
    e.preventDefault();
    const since = this.fFrom.value ? dayStart(this.fFrom.value) : null;
    const to = this.fTo.value ? dayStart(this.fTo.value) : null;
    if (this.fFrom.value && since === null) return this.dateFail(this.fFrom, t('dashboard.privacy.audit.bad_day'));
    if (this.fTo.value && to === null) return this.dateFail(this.fTo, t('dashboard.privacy.audit.bad_day'));
    if (since !== null && to !== null && since > to) return this.dateFail(this.fTo, t('dashboard.privacy.audit.bad_range'));
    this.dateFail(null, '');
    // Empty filters are left out (the server reads a missing one as "any").
    const q = new URLSearchParams();
    if (this.fAction.value.trim()) q.set('action', this.fAction.value.trim());
    if (this.fActor.value.trim()) q.set('actor', this.fActor.value.trim());
    if (this.fResult.value) q.set('result', this.fResult.value);
    if (since !== null) q.set('since', String(since));
    // `until` is exclusive: the end of the "to" day is the start of the next one.
    if (to !== null) q.set('until', String(to + DAY_S));
    this.auditQuery = q;
    this.loadAudit(false);
  }

  /** Loads the newest entries for the filter, or (older) the page below the ones shown. */
  async loadAudit(older) {
    const seq = ++this.auditSeq;
    const q = new URLSearchParams(this.auditQuery);
    if (older && this.minId !== null) q.set('before_id', String(this.minId));
    q.set('limit', String(AUDIT_LIMIT));
    this.auditStatus.textContent = t('dashboard.privacy.audit.loading');
    this.auditTable.setAttribute('aria-busy', 'true');
    const res = await request('GET', `/api/audit?${q}`);
    if (seq !== this.auditSeq) return; // a newer filter was asked for meanwhile
    this.auditTable.removeAttribute('aria-busy');
    if (!res.ok || !res.data || !Array.isArray(res.data.entries)) {
      this.auditStatus.textContent = '';
      this.auditError.textContent = res.ok ? t('dashboard.http.failed') : failText(res);
      return;
    }
    this.auditError.textContent = '';
    const entries = list(res.data.entries).filter((x) => isInt(x.id));
    const rows = entries.map((x) => tableRow(this.auditColumns, x));
    if (older) {
      this.auditBody.append(...rows);
    } else {
      this.auditBody.replaceChildren(...rows);
      if (!rows.length) {
        this.auditBody.append(h('tr', {}, h('td', { colspan: this.auditColumns.length, class: 'empty', text: t('dashboard.privacy.audit.empty') })));
      }
    }
    if (!older) this.minId = null;
    for (const x of entries) if (this.minId === null || x.id < this.minId) this.minId = x.id;
    // A full page means there may be more below.
    const hadFocus = document.activeElement === this.olderBtn;
    this.olderBtn.hidden = entries.length < AUDIT_LIMIT;
    if (hadFocus && this.olderBtn.hidden && rows.length) {
      // The button is gone: continue reading at the first entry just added.
      rows[0].setAttribute('tabindex', '-1');
      rows[0].focus();
    }
    this.auditStatus.textContent = older
      ? tn('dashboard.privacy.audit.loaded_older', entries.length)
      : tn('dashboard.privacy.audit.loaded', entries.length);
    this.renderChain(res.data.chain);
  }

  /** Whether the hash chain holds, and its head to keep elsewhere. */
  renderChain(chain) {
    if (!chain || typeof chain !== 'object') {
      this.chain.hidden = true;
      this.headBox.hidden = true;
      return;
    }
    const intact = chain.intact === true;
    const text = intact
      ? tn('dashboard.privacy.audit.intact', num(chain.entries))
      : isInt(chain.broken_at)
        ? t('dashboard.privacy.audit.broken_at', { id: chain.broken_at, problem: str(chain.problem) || '–' })
        : t('dashboard.privacy.audit.broken', { problem: str(chain.problem) || '–' });
    this.chain.hidden = false;
    this.chain.dataset.intact = String(intact);
    // Only changed text is written, so an alert is not read out again after every filter.
    if (this.chain.textContent !== text) {
      if (intact) this.chain.removeAttribute('role');
      else this.chain.setAttribute('role', 'alert');
      this.chain.replaceChildren(h('p', { text }));
    }
    const head = str(chain.head);
    this.head.textContent = head;
    this.headBox.hidden = !head;
  }

  // ----- 4. read log -----

  buildReads() {
    this.rActor = h('input', { id: 'reads-actor', name: 'actor', maxlength: '200', autocomplete: 'off', spellcheck: 'false' });
    this.rWhat = h(
      'select',
      { id: 'reads-what', name: 'what' },
      h('option', { value: '', text: t('dashboard.privacy.reads.what_any') }),
      READS.map((w) => h('option', { value: w, text: t(`dashboard.privacy.reads.what.${w}`) })),
    );
    this.readsError = h('p', { id: 'reads-error', class: 'form-error', role: 'alert' });
    this.readsStatus = h('p', { class: 'form-status', role: 'status' });
    this.readsColumns = [
      { label: t('dashboard.privacy.col.time'), cell: (e) => timeEl(num(e.at)) },
      { label: t('dashboard.privacy.col.actor'), cls: 'cell-email', cell: (e) => textOrDash(str(e.actor)) },
      { label: t('dashboard.privacy.col.role'), cell: (e) => textOrDash(known('dashboard.privacy.audit.role', str(e.role))) },
      { label: t('dashboard.privacy.reads.col.what'), cell: (e) => textOrDash(known('dashboard.privacy.reads.what', str(e.what))) },
      { label: t('dashboard.privacy.col.object'), cls: 'cell-wrap', cell: (e) => textOrDash(str(e.object)) },
      { label: t('dashboard.privacy.col.ip'), cell: (e) => textOrDash(str(e.ip)) },
    ];
    this.readsBody = h('tbody');
    this.readsTable = captionedTable(
      { id: 'reads-table', class: 'data-table privacy-table audit-table' },
      t('dashboard.privacy.reads.caption'),
      this.readsColumns,
      this.readsBody,
    );
    return panel(
      'reads',
      h(
        'form',
        {
          id: 'reads-filter',
          class: 'privacy-filter',
          novalidate: true,
          'aria-label': t('dashboard.privacy.reads.filter_title'),
          onsubmit: (e) => {
            e.preventDefault();
            this.loadReads();
          },
        },
        field(t('dashboard.privacy.audit.filter.actor'), this.rActor),
        field(t('dashboard.privacy.reads.col.what'), this.rWhat),
        h('div', { class: 'field field-button' }, h('button', { type: 'submit', text: t('dashboard.privacy.audit.apply') })),
      ),
      this.readsError,
      this.readsStatus,
      h('div', { class: 'table-wrap' }, this.readsTable),
    );
  }

  /** The newest reads (up to AUDIT_LIMIT) for the filter. */
  async loadReads() {
    const seq = ++this.readsSeq;
    const q = new URLSearchParams({ limit: String(AUDIT_LIMIT) });
    if (this.rActor.value.trim()) q.set('actor', this.rActor.value.trim());
    if (this.rWhat.value) q.set('what', this.rWhat.value);
    this.readsStatus.textContent = t('dashboard.privacy.audit.loading');
    this.readsTable.setAttribute('aria-busy', 'true');
    const res = await request('GET', `/api/audit/reads?${q}`);
    if (seq !== this.readsSeq) return;
    this.readsTable.removeAttribute('aria-busy');
    if (!res.ok || !res.data || !Array.isArray(res.data.entries)) {
      this.readsStatus.textContent = '';
      this.readsError.textContent = res.ok ? t('dashboard.http.failed') : failText(res);
      return;
    }
    this.readsError.textContent = '';
    const entries = list(res.data.entries).filter((x) => isInt(x.id));
    this.readsBody.replaceChildren(
      ...(entries.length
        ? entries.map((x) => tableRow(this.readsColumns, x))
        : [h('tr', {}, h('td', { colspan: this.readsColumns.length, class: 'empty', text: t('dashboard.privacy.audit.empty') }))]),
    );
    this.readsStatus.textContent = tn('dashboard.privacy.audit.loaded', entries.length);
  }

  // ----- 5. the record of measures -----

  /** Downloads of the technical and organisational measures as configured (Art. 30). */
  buildRecord() {
    const link = (format, lang) =>
      h('li', {}, h('a', { href: `/api/privacy/report?format=${format}&lang=${lang}`, download: '', 'data-format': format, 'data-lang': lang, text: t(`dashboard.privacy.record.${format}_${lang}`) }));
    return panel('record', h('ul', { class: 'privacy-downloads' }, link('html', 'de'), link('html', 'en'), link('md', 'de'), link('md', 'en')));
  }
}
