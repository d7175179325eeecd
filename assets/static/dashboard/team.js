// Settings → Agents and roles (the agents permission only: settings.js mounts this panel for
// nobody else, so nobody else asks for it). `GET /api/agents`, `PUT /api/agents/{id}` (display
// name, role, disabled), `GET/POST /api/roles`, `PUT/DELETE /api/roles/{id}`. Admin, Supervisor
// and Agent are built in and cannot be changed; a new role or a disabling signs the agent out,
// and so does a change of a role's permissions for everyone who has it.
// Admins invite agents here (`POST /api/agents/invite`) and issue password links
// (`POST /api/agents/{id}/reset-link`): the single-use link is shown to the admin to pass on,
// and with email on it is also mailed to the agent (the answer's `mailed`).
// Capacity and departments per agent go with `PUT /api/agents/{id}` too.
// Emails, names and role names are set as text only (dom.js).

import { h, hasFocus, whileBusy } from './dom.js';
import { t, has, formatNumber } from './i18n.js';
import { request, serverError, httpError } from './api.js';
import { showFieldError, field, hint } from './form.js';
import { captionedTable } from './tables.js';

/** Every permission in the order the server lists them (used until the server says otherwise). */
const PERMISSIONS = [
  'visitors.view',
  'chat',
  'chats.all',
  'chats.supervise',
  'stats.view',
  'campaigns.manage',
  'agents.manage',
  'sites.manage',
  'settings.manage',
  'gdpr.handle',
  'audit.read',
];
const BUILTIN_NAMES = ['admin', 'supervisor', 'agent'];
/** What the server takes as a role name: 1 to 40 letters, digits, spaces, '-' or '_'. */
const ROLE_NAME = /^[\p{Alphabetic}\p{N} _-]{1,40}$/u;
const DISPLAY_MAX = 100;

const isInt = (v) => Number.isSafeInteger(v);
const str = (v) => (typeof v === 'string' ? v : '');
const chars = (s) => [...s].length;
const names = (v) => (Array.isArray(v) ? v.filter((p) => typeof p === 'string') : []);
/** Control characters (line breaks, escapes): the server refuses them in names. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** An agent from the API, or null. */
export function parseAgent(a) {
  if (!a || typeof a !== 'object' || !isInt(a.id)) return null;
  return {
    id: a.id,
    email: str(a.email),
    display_name: str(a.display_name),
    role: str(a.role),
    role_id: isInt(a.role_id) ? a.role_id : null,
    disabled: a.disabled === true,
    permissions: names(a.permissions),
    two_factor: a.two_factor === true,
    capacity: isInt(a.capacity) ? a.capacity : 3,
    department_ids: Array.isArray(a.department_ids) ? a.department_ids.filter(isInt) : [],
    invited: a.invited === true,
  };
}

const CAPACITY_MAX = 50;
/** The shape of an email address the server takes (it checks it again). */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A role from the API, or null. */
export function parseRole(r) {
  if (!r || typeof r !== 'object' || !isInt(r.id)) return null;
  return {
    id: r.id,
    name: str(r.name),
    builtin: r.builtin === true,
    permissions: names(r.permissions),
    agents: isInt(r.agents) && r.agents > 0 ? r.agents : 0,
    two_factor: r.two_factor === true,
  };
}

/** The permission catalog from the API: [{name, what}]. */
function parseCatalog(list) {
  if (!Array.isArray(list)) return null;
  const out = list
    .filter((p) => p && typeof p === 'object' && typeof p.name === 'string' && p.name)
    .map((p) => ({ name: p.name, what: str(p.what) }));
  return out.length ? out : null;
}

/** A role's name as shown: the built-in ones translated. */
export function roleName(r) {
  if (r.builtin && BUILTIN_NAMES.includes(r.name)) return t(`dashboard.team.role.${r.name}`);
  return r.name || t('dashboard.team.unknown_role', { id: r.id });
}

/** A permission in words: translated, else the server's text, else its name. */
function permText(name, what) {
  const key = `dashboard.team.perm.${name}`;
  if (has(key)) return t(key);
  return what || name;
}

/** An id fragment for a permission name (`visitors.view` → `visitors-view`). */
const permId = (name) => `role-perm-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;

/** The panel. `me` is the signed-in agent's email (their own row says so). */
export class TeamBlock {
  constructor({ me = '' } = {}) {
    this.me = me.toLowerCase();
    this.agents = [];
    this.roles = [];
    this.catalog = PERMISSIONS.map((name) => ({ name, what: '' }));
    this.editing = null; // the role in the form, or null for a new one
    this.busy = new Set(); // agent ids with a change under way
    this.seq = 0;
    this.departments = [];
    this.el = this.build();
    document.addEventListener('kontor:departments-changed', () => this.load());
  }

  // ----- building -----

  build() {
    this.title = h('h2', { id: 'team-title', tabindex: '-1', text: t('dashboard.team.title') });
    this.loadError = h('p', { class: 'form-error', role: 'alert' });
    return h(
      'section',
      { id: 'team', class: 'panel settings-panel team-panel', 'aria-labelledby': 'team-title' },
      this.title,
      h('p', { class: 'hint', text: t('dashboard.team.intro') }),
      this.loadError,
      this.buildAgents(),
      this.buildRoles(),
    );
  }

  /**
   * One part of the block (`agents`, `roles`): a heading, the intro, an error line, the table
   * and a status line; `form` (if any) between the table and the status line.
   */
  buildPart(part, intro, columns, form = null) {
    const p = {
      title: h('h3', { id: `team-${part}-title`, tabindex: '-1', text: t(`dashboard.team.${part}_title`) }),
      body: h('tbody'),
      error: h('p', { id: `team-${part}-error`, class: 'form-error', role: 'alert' }),
      status: h('p', { id: `team-${part}-status`, class: 'form-status', role: 'status', 'aria-live': 'polite' }),
    };
    p.table = captionedTable({ id: `team-${part}`, class: `data-table team-${part}` }, t(`dashboard.team.${part}_caption`), columns, p.body);
    p.el = h('div', { class: 'team-part' }, p.title, intro, p.error, h('div', { class: 'table-wrap' }, p.table), form, p.status);
    return p;
  }

  buildAgents() {
    this.agentsPart = this.buildPart(
      'agents',
      h('p', { id: 'team-signout-hint', class: 'hint team-signout-hint', text: t('dashboard.team.signout_hint') }),
      ['email', 'display_name', 'role', 'work', 'state'].map((k) => t(`dashboard.team.col.${k}`)),
      this.buildInvite(),
    );
    return this.agentsPart.el;
  }

  /** Checkboxes for the departments, ids prefixed with `prefix`; `ticked` are checked. */
  departmentChecks(prefix, ticked) {
    if (!this.departments.length) return h('p', { class: 'hint', text: t('dashboard.team.no_departments') });
    return this.departments.map((d) =>
      h(
        'div',
        { class: 'check-field' },
        h('input', { type: 'checkbox', id: `${prefix}-${d.id}`, name: 'department', value: String(d.id), checked: ticked.includes(d.id) }),
        h('label', { for: `${prefix}-${d.id}`, text: d.name }),
      ),
    );
  }

  /** The invitation form and the box that shows a new link. */
  buildInvite() {
    const input = (id, props = {}) => h('input', { id, required: true, autocomplete: 'off', ...props });
    this.inv = {
      name: input('invite-name', { maxlength: String(DISPLAY_MAX) }),
      email: input('invite-email', { type: 'email' }),
      role: h('select', { id: 'invite-role' }),
      capacity: input('invite-capacity', { type: 'number', min: '1', max: String(CAPACITY_MAX), value: '3', inputmode: 'numeric' }),
      deps: h('div', { class: 'team-perm-checks', id: 'invite-departments' }),
      error: h('p', { id: 'invite-error', class: 'form-error', role: 'alert' }),
      submit: h('button', { type: 'submit', text: t('dashboard.team.invite') }),
    };
    this.linkOut = h('input', { id: 'team-link', readonly: true, class: 'team-link', 'aria-describedby': 'team-link-hint' });
    this.linkLabel = h('label', { for: 'team-link' });
    this.linkBox = h(
      'div',
      { class: 'team-link-box', hidden: true },
      this.linkLabel,
      this.linkOut,
      h('p', { id: 'team-link-hint', class: 'hint', text: t('dashboard.team.link_hint') }),
    );
    const i = this.inv;
    return h(
      'div',
      {},
      this.linkBox,
      h(
        'form',
        { id: 'invite-form', class: 'rule-form team-invite-form', novalidate: true, 'aria-labelledby': 'invite-title', onsubmit: (e) => this.invite(e) },
        h('h4', { id: 'invite-title', text: t('dashboard.team.invite_title') }),
        h('p', { class: 'hint', text: t('dashboard.team.invite_intro') }),
        field(t('dashboard.team.field.display_name'), i.name),
        field(t('dashboard.team.field.email'), i.email),
        field(t('dashboard.team.field.role'), i.role),
        field(t('dashboard.team.field.capacity'), i.capacity, hint('invite-capacity-hint', t('dashboard.team.capacity_hint', { max: CAPACITY_MAX }))),
        h('fieldset', { class: 'rule-conditions' }, h('legend', { text: t('dashboard.team.field.departments') }), i.deps),
        i.error,
        h('div', { class: 'form-buttons' }, i.submit),
      ),
    );
  }

  /** Shows a new set-up link for `email`. */
  showLink(url, email, invited) {
    this.linkLabel.textContent = t(invited ? 'dashboard.team.link_invite' : 'dashboard.team.link_reset', { email });
    this.linkOut.value = url;
    this.linkBox.hidden = false;
    this.linkOut.focus();
    this.linkOut.select();
  }

  /** The capacity typed, or null when it is not 1 to 50. */
  static capacityOf(input) {
    const n = Number(input.value);
    return Number.isInteger(n) && n >= 1 && n <= CAPACITY_MAX ? n : null;
  }

  async invite(e) {
    e.preventDefault();
    const i = this.inv;
    const fields = [i.name, i.email, i.role, i.capacity];
    const fail = (f, text) => showFieldError(i.error, fields, f, text);
    const name = i.name.value.trim();
    const email = i.email.value.trim();
    const capacity = TeamBlock.capacityOf(i.capacity);
    if (!name || chars(name) > DISPLAY_MAX || CONTROL.test(name)) return fail(i.name, t('dashboard.team.bad_display_name', { max: formatNumber(DISPLAY_MAX) }));
    if (!EMAIL.test(email)) return fail(i.email, t('dashboard.team.bad_email'));
    if (capacity === null) return fail(i.capacity, t('dashboard.team.bad_capacity', { max: CAPACITY_MAX }));
    const department_ids = [...i.deps.querySelectorAll('input:checked')].map((b) => Number(b.value));
    fail(null, '');
    await whileBusy(i.submit, async () => {
      const body = { display_name: name, email, role_id: Number(i.role.value), capacity, department_ids };
      const res = await request('POST', '/api/agents/invite', { json: body });
      if (!res.ok) {
        if (res.status === 409) return fail(i.email, t('dashboard.team.email_taken', { email }));
        if (res.status === 400 && /email/i.test(res.message || '')) return fail(i.email, serverError(res));
        return fail(res.status === 403 ? i.role : null, serverError(res));
      }
      for (const f of [i.name, i.email]) f.value = '';
      await this.load();
      const mailed = Boolean(res.data && res.data.mailed);
      this.agentsPart.status.textContent = t(mailed ? 'dashboard.team.invited_mailed' : 'dashboard.team.invited_done', { email: email.toLowerCase() });
      if (res.data && typeof res.data.url === 'string') this.showLink(res.data.url, email.toLowerCase(), true);
    });
  }

  /** A new set-up link for an agent (their password; an invitation again if never set up). */
  async resetLink(a) {
    if (!a.invited && !window.confirm(t('dashboard.team.confirm_reset', { email: a.email }))) return;
    const res = await request('POST', `/api/agents/${encodeURIComponent(a.id)}/reset-link`, { json: {} });
    if (!res.ok) {
      this.agentsFieldError(null, serverError(res));
      return;
    }
    this.agentsFieldError(null, '');
    const mailed = Boolean(res.data && res.data.mailed);
    this.agentsPart.status.textContent = t(mailed ? 'dashboard.team.link_mailed' : 'dashboard.team.link_done', { email: a.email });
    if (res.data && typeof res.data.url === 'string') this.showLink(res.data.url, a.email, a.invited);
  }

  /** The role menu and department boxes of the invitation form. */
  renderInvite() {
    const role = this.inv.role.value;
    this.inv.role.replaceChildren(...this.roles.map((r) => h('option', { value: String(r.id), text: roleName(r) })));
    const agentRole = this.roles.find((r) => r.builtin && r.name === 'agent');
    this.inv.role.value = role || (agentRole ? String(agentRole.id) : '');
    const ticked = [...this.inv.deps.querySelectorAll('input:checked')].map((b) => Number(b.value));
    const boxes = this.departmentChecks('invite-dep', ticked);
    this.inv.deps.replaceChildren(...(Array.isArray(boxes) ? boxes : [boxes]));
  }

  /** Capacity and departments of one agent, saved together. */
  workForm(a, base) {
    const cap = h('input', {
      id: `${base}-capacity`,
      type: 'number',
      min: '1',
      max: String(CAPACITY_MAX),
      inputmode: 'numeric',
      value: String(a.capacity),
      class: 'team-capacity',
      'data-control': 'capacity',
    });
    const boxes = this.departmentChecks(`${base}-dep`, a.department_ids);
    const save = h('button', {
      type: 'submit',
      class: 'btn-secondary btn-small',
      'data-control': 'save-work',
      text: t('dashboard.team.save_work'),
      'aria-label': t('dashboard.team.save_work_label', { email: a.email }),
    });
    return h(
      'form',
      { class: 'team-work-form', novalidate: true, onsubmit: (e) => this.saveWork(e, a, cap, save) },
      h('label', { for: `${base}-capacity`, text: t('dashboard.team.capacity_label') }),
      cap,
      h('fieldset', { class: 'team-work-deps' }, h('legend', { text: t('dashboard.team.departments_label', { email: a.email }) }), boxes),
      save,
    );
  }

  async saveWork(e, a, cap, btn) {
    e.preventDefault();
    const capacity = TeamBlock.capacityOf(cap);
    if (capacity === null) {
      this.agentsFieldError(cap, t('dashboard.team.bad_capacity', { max: CAPACITY_MAX }));
      return;
    }
    const department_ids = [...e.currentTarget.querySelectorAll('input[name="department"]:checked')].map((b) => Number(b.value));
    await whileBusy(btn, async () => {
      const res = await this.change(a, { capacity, department_ids });
      if (!res) return;
      if (!res.ok) {
        this.agentsFieldError(cap, serverError(res));
        return;
      }
      this.agentsFieldError(null, '');
      await this.load();
      this.agentsPart.status.textContent = t('dashboard.team.work_saved', { email: a.email });
    });
  }

  buildRoles() {
    this.rolesPart = this.buildPart(
      'roles',
      h('p', { class: 'hint', text: t('dashboard.team.roles_intro') }),
      [
        t('dashboard.team.col.role'),
        t('dashboard.team.col.permissions'),
        { label: t('dashboard.team.col.agents'), num: true },
        t('dashboard.team.col.two_factor'),
        { label: t('dashboard.team.col.actions'), hidden: true },
      ],
      this.buildForm(),
    );
    return this.rolesPart.el;
  }

  buildForm() {
    this.formTitle = h('h4', { id: 'role-form-title', text: t('dashboard.team.new_role') });
    this.nameField = h('input', {
      id: 'role-name',
      name: 'name',
      required: true,
      maxlength: '40',
      autocomplete: 'off',
      'aria-describedby': 'role-name-hint',
    });
    this.checks = h('div', { class: 'team-perm-checks' });
    this.editHint = h('p', { id: 'role-edit-hint', class: 'hint', hidden: true, text: t('dashboard.team.edit_hint') });
    this.formError = h('p', { id: 'role-error', class: 'form-error', role: 'alert' });
    this.submitBtn = h('button', { type: 'submit', text: t('dashboard.team.create') });
    this.cancelBtn = h('button', {
      type: 'button',
      class: 'btn-secondary',
      hidden: true,
      text: t('dashboard.team.cancel'),
      onclick: () => this.resetForm({ focus: true }),
    });
    this.renderChecks();
    return h(
      'form',
      {
        id: 'role-form',
        class: 'rule-form team-role-form',
        novalidate: true,
        'aria-labelledby': 'role-form-title',
        onsubmit: (e) => this.submit(e),
      },
      this.formTitle,
      field(t('dashboard.team.field.name'), this.nameField, hint('role-name-hint', t('dashboard.team.name_hint'))),
      h(
        'fieldset',
        { class: 'rule-conditions team-perms-fieldset' },
        h('legend', { text: t('dashboard.team.permissions_legend') }),
        this.editHint,
        this.checks,
      ),
      this.formError,
      h('div', { class: 'form-buttons' }, this.submitBtn, this.cancelBtn),
    );
  }

  /** One checkbox per permission of the catalog; the ticks survive a rebuild. */
  renderChecks() {
    const ticked = new Set(this.checkedPermissions());
    this.checks.replaceChildren(
      ...this.catalog.map((p) =>
        h(
          'div',
          { class: 'check-field' },
          h('input', { type: 'checkbox', id: permId(p.name), name: 'perm', value: p.name, checked: ticked.has(p.name) }),
          h('label', { for: permId(p.name), text: permText(p.name, p.what) }),
        ),
      ),
    );
  }

  permBoxes() {
    return [...this.checks.querySelectorAll('input[name="perm"]')];
  }

  checkedPermissions() {
    return this.permBoxes().filter((b) => b.checked).map((b) => b.value);
  }

  // ----- loading -----

  /** Agents and roles together (the role menus need both). */
  async load() {
    const seq = ++this.seq;
    this.agentsPart.table.setAttribute('aria-busy', 'true');
    this.rolesPart.table.setAttribute('aria-busy', 'true');
    const [agents, roles, deps] = await Promise.all([
      request('GET', '/api/agents'),
      request('GET', '/api/roles'),
      request('GET', '/api/departments'),
    ]);
    if (seq !== this.seq) return false; // a newer load is under way
    this.agentsPart.table.removeAttribute('aria-busy');
    this.rolesPart.table.removeAttribute('aria-busy');
    const agentsOk = agents.ok && agents.data && Array.isArray(agents.data.agents);
    const rolesOk = roles.ok && roles.data && Array.isArray(roles.data.roles);
    if (!agentsOk || !rolesOk) {
      const bad = !agentsOk ? agents : roles;
      this.loadError.textContent = bad.ok ? t('dashboard.settings.load_failed') : serverError(bad);
    } else {
      this.loadError.textContent = '';
    }
    if (deps.ok && deps.data && Array.isArray(deps.data.departments)) {
      this.departments = deps.data.departments
        .filter((d) => d && isInt(d.id))
        .map((d) => ({ id: d.id, name: str(d.name) }));
    }
    if (rolesOk) {
      this.roles = roles.data.roles.map(parseRole).filter(Boolean);
      this.renderInvite();
      const catalog = parseCatalog(roles.data.permissions);
      if (catalog) {
        const changed = catalog.map((p) => `${p.name}=${p.what}`).join(',') !== this.catalog.map((p) => `${p.name}=${p.what}`).join(',');
        this.catalog = catalog;
        if (changed) this.renderChecks();
      }
      this.renderRoles();
    }
    if (agentsOk) this.agents = agents.data.agents.map(parseAgent).filter(Boolean);
    // The role menus follow the roles too; an agent list that never loaded stays empty.
    if (agentsOk || (rolesOk && this.agents.length)) this.renderAgents();
    return agentsOk && rolesOk;
  }

  // ----- agents -----

  /** Where focus was in a table, to put it back after the rows are rebuilt. */
  focusSpot(tbody, key) {
    if (!hasFocus(tbody)) return null;
    const el = document.activeElement;
    const row = el.closest('tr');
    if (!row) return null;
    return { id: row.getAttribute(key), control: el.getAttribute('data-control') };
  }

  restoreFocus(tbody, key, spot, fallback) {
    if (!spot) return;
    const row = [...tbody.rows].find((r) => r.getAttribute(key) === spot.id);
    const el = row && spot.control ? row.querySelector(`[data-control="${spot.control}"]`) : null;
    (el || fallback).focus();
  }

  renderAgents() {
    const spot = this.focusSpot(this.agentsPart.body, 'data-agent-id');
    // Names typed but not saved yet stay in their fields.
    const drafts = new Map();
    for (const input of this.agentsPart.body.querySelectorAll('input[name="display_name"]')) {
      const id = Number(input.closest('tr').getAttribute('data-agent-id'));
      if (input.value !== input.defaultValue) drafts.set(id, input.value);
    }
    if (!this.agents.length) {
      this.agentsPart.body.replaceChildren(h('tr', {}, h('td', { colspan: '5', class: 'empty', text: t('dashboard.team.agents_empty') })));
    } else {
      this.agentsPart.body.replaceChildren(...this.agents.map((a) => this.agentRow(a, drafts.get(a.id))));
    }
    this.restoreFocus(this.agentsPart.body, 'data-agent-id', spot, this.agentsPart.title);
  }

  agentRow(a, draft) {
    const base = `team-agent-${a.id}`;
    const mine = !!this.me && a.email.toLowerCase() === this.me;
    const input = h('input', {
      id: `${base}-name`,
      name: 'display_name',
      required: true,
      maxlength: String(DISPLAY_MAX),
      autocomplete: 'off',
      value: a.display_name,
      'data-control': 'name',
    });
    if (draft !== undefined) input.value = draft;
    const save = h('button', {
      type: 'submit',
      class: 'btn-secondary btn-small',
      'data-control': 'save',
      text: t('dashboard.team.save_name'),
      'aria-label': t('dashboard.team.save_name_label', { email: a.email }),
    });
    const nameForm = h(
      'form',
      { class: 'team-name-form', novalidate: true, onsubmit: (e) => this.saveName(e, a, input, save) },
      h('label', { for: `${base}-name`, class: 'vh', text: t('dashboard.team.display_name_label', { email: a.email }) }),
      input,
      save,
    );

    const select = h('select', {
      id: `${base}-role`,
      name: 'role_id',
      'data-control': 'role',
      'aria-describedby': 'team-signout-hint',
    });
    const options = this.roles.map((r) => h('option', { value: String(r.id), text: roleName(r) }));
    if (a.role_id !== null && !this.roles.some((r) => r.id === a.role_id)) {
      // Roles not loaded (or just gone): the agent's own role stays selectable as it is.
      options.unshift(h('option', { value: String(a.role_id), text: a.role || t('dashboard.team.unknown_role', { id: a.role_id }) }));
    }
    select.replaceChildren(...options);
    if (a.role_id !== null) select.value = String(a.role_id);
    select.addEventListener('change', () => this.changeRole(a, select));

    // An invitation not used yet is withdrawn by disabling (its link dies), not enabled.
    const stateBtn = a.invited
      ? h('button', {
          type: 'button',
          class: 'btn-danger btn-small',
          'data-control': 'state',
          text: t('dashboard.team.withdraw'),
          'aria-label': t('dashboard.team.withdraw_label', { email: a.email }),
          onclick: () => whileBusy(stateBtn, () => this.setDisabled(a, true)),
        })
      : h('button', {
          type: 'button',
          class: a.disabled ? 'btn-secondary btn-small' : 'btn-danger btn-small',
          'data-control': 'state',
          text: t(a.disabled ? 'dashboard.team.enable' : 'dashboard.team.disable'),
          'aria-label': t(a.disabled ? 'dashboard.team.enable_label' : 'dashboard.team.disable_label', { email: a.email }),
          'aria-describedby': 'team-signout-hint',
          onclick: () => whileBusy(stateBtn, () => this.setDisabled(a, !a.disabled)),
        });

    const stateKey = a.invited ? 'invited' : a.disabled ? 'disabled' : 'active';
    const linkBtn = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      'data-control': 'reset-link',
      text: t(a.invited ? 'dashboard.team.new_invite_link' : 'dashboard.team.reset_link'),
      'aria-label': t(a.invited ? 'dashboard.team.new_invite_link_label' : 'dashboard.team.reset_link_label', { email: a.email }),
      onclick: () => whileBusy(linkBtn, () => this.resetLink(a)),
    });
    return h(
      'tr',
      { 'data-agent-id': a.id, 'data-disabled': a.disabled ? 'true' : null, class: a.disabled ? 'team-agent-disabled' : null },
      h(
        'th',
        { scope: 'row', class: 'cell-email' },
        h('span', { class: 'team-email', text: a.email }),
        mine ? [' ', h('span', { class: 'tag tag-shared', text: t('dashboard.team.you') })] : null,
      ),
      h('td', {}, nameForm),
      h('td', {}, h('label', { for: `${base}-role`, class: 'vh', text: t('dashboard.team.role_label', { email: a.email }) }), select),
      h('td', {}, this.workForm(a, base)),
      h(
        'td',
        { class: 'team-state' },
        h('span', { class: a.invited ? 'tag' : a.disabled ? 'tag tag-bad' : 'tag tag-on', 'data-state': stateKey, text: t(`dashboard.team.state.${stateKey}`) }),
        ' ',
        stateBtn,
        ' ',
        linkBtn,
        a.two_factor ? this.twoFactorControls(a) : null,
      ),
    );
  }

  /** The "two-factor" tag and its reset button in an agent's row. */
  twoFactorControls(a) {
    const btn = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      'data-control': 'two-factor-reset',
      text: t('dashboard.team.two_factor_reset'),
      'aria-label': t('dashboard.team.two_factor_reset_label', { email: a.email }),
      onclick: () => whileBusy(btn, () => this.resetTwoFactor(a)),
    });
    return [' ', h('span', { class: 'tag tag-on', 'data-two-factor': 'true', text: t('dashboard.team.two_factor_tag') }), ' ', btn];
  }

  agentsFieldError(field, text) {
    // The fields of any row: those marked before, and this one.
    const marked = [...this.agentsPart.body.querySelectorAll('[aria-invalid]')];
    showFieldError(this.agentsPart.error, [...marked, field], field, text);
  }

  /** `PUT /api/agents/{id}`; the answer's agent replaces the row's, then the lists reload. */
  async change(a, body) {
    if (this.busy.has(a.id)) return null;
    this.busy.add(a.id);
    this.agentsPart.status.textContent = t('dashboard.settings.saving');
    let res;
    try {
      res = await request('PUT', `/api/agents/${encodeURIComponent(a.id)}`, { json: body });
    } finally {
      this.busy.delete(a.id);
    }
    if (!res.ok) {
      this.agentsPart.status.textContent = '';
      if (res.status === 404) {
        this.agentsPart.error.textContent = t('dashboard.team.agent_gone');
        await this.load();
        return null;
      }
      return res;
    }
    this.agentsPart.error.textContent = '';
    const saved = parseAgent(res.data);
    if (saved) this.agents = this.agents.map((x) => (x.id === saved.id ? saved : x));
    return res;
  }

  async saveName(e, a, input, btn) {
    e.preventDefault();
    const name = input.value.trim();
    if (!name || chars(name) > DISPLAY_MAX || CONTROL.test(name)) {
      this.agentsPart.status.textContent = '';
      this.agentsFieldError(input, t('dashboard.team.bad_display_name', { max: formatNumber(DISPLAY_MAX) }));
      return;
    }
    await whileBusy(btn, async () => {
      const res = await this.change(a, { display_name: name });
      if (!res) return;
      if (!res.ok) {
        this.agentsFieldError(input, serverError(res));
        return;
      }
      this.agentsFieldError(null, '');
      input.defaultValue = input.value = name; // not a draft any more
      await this.load();
      const saved = this.agents.find((x) => x.id === a.id);
      this.agentsPart.status.textContent = t('dashboard.team.name_saved', { email: a.email, name: saved ? saved.display_name : name });
    });
  }

  async changeRole(a, select) {
    const roleId = Number(select.value);
    const role = this.roles.find((r) => r.id === roleId);
    if (this.busy.has(a.id) || !isInt(roleId) || roleId === a.role_id) {
      if (a.role_id !== null) select.value = String(a.role_id);
      return;
    }
    const res = await this.change(a, { role_id: roleId });
    if (!res) {
      if (a.role_id !== null && select.isConnected) select.value = String(a.role_id);
      return;
    }
    if (!res.ok) {
      if (a.role_id !== null) select.value = String(a.role_id);
      this.agentsFieldError(select, serverError(res));
      return;
    }
    this.agentsFieldError(null, '');
    await this.load();
    this.agentsPart.status.textContent = t('dashboard.team.role_changed', {
      email: a.email,
      role: role ? roleName(role) : t('dashboard.team.unknown_role', { id: roleId }),
    });
  }

  async setDisabled(a, disabled) {
    const res = await this.change(a, { disabled });
    if (!res) return;
    const btn = this.agentsPart.body.querySelector(`tr[data-agent-id="${a.id}"] [data-control="state"]`);
    if (!res.ok) {
      this.agentsFieldError(null, serverError(res));
      if (btn) btn.focus();
      return;
    }
    this.agentsFieldError(null, '');
    await this.load();
    const done = a.invited ? 'dashboard.team.withdrawn_done' : disabled ? 'dashboard.team.disabled_done' : 'dashboard.team.enabled_done';
    this.agentsPart.status.textContent = t(done, { email: a.email });
  }

  // ----- roles -----

  permissionList(r) {
    if (!r.permissions.length) return h('span', { class: 'muted', text: t('dashboard.team.no_permissions') });
    const order = this.catalog.map((p) => p.name);
    const rank = (n) => (order.includes(n) ? order.indexOf(n) : order.length);
    const sorted = [...r.permissions].sort((x, y) => rank(x) - rank(y));
    return h(
      'ul',
      { class: 'team-perm-list' },
      sorted.map((n) => {
        const p = this.catalog.find((c) => c.name === n);
        return h('li', { 'data-permission': n, text: permText(n, p ? p.what : '') });
      }),
    );
  }

  renderRoles() {
    const spot = this.focusSpot(this.rolesPart.body, 'data-role-id');
    if (!this.roles.length) {
      this.rolesPart.body.replaceChildren(h('tr', {}, h('td', { colspan: '5', class: 'empty', text: t('dashboard.team.roles_empty') })));
    } else {
      this.rolesPart.body.replaceChildren(...this.roles.map((r) => this.roleRow(r)));
    }
    this.restoreFocus(this.rolesPart.body, 'data-role-id', spot, this.rolesPart.title);
  }

  roleRow(r) {
    const name = roleName(r);
    return h(
      'tr',
      { 'data-role-id': r.id, 'data-builtin': r.builtin ? 'true' : null },
      h(
        'th',
        { scope: 'row' },
        h('span', { class: 'team-role-name', text: name }),
        r.builtin ? [' ', h('span', { class: 'tag', 'data-builtin': 'true', text: t('dashboard.team.builtin') })] : null,
      ),
      h('td', {}, this.permissionList(r)),
      h('td', { class: 'num', text: formatNumber(r.agents) }),
      h('td', {}, this.policyBox(r, name)),
      h(
        'td',
        { class: 'cell-actions' },
        r.builtin
          ? null
          : [
              h('button', {
                type: 'button',
                class: 'btn-secondary btn-small role-edit',
                'data-control': 'edit',
                text: t('dashboard.team.edit'),
                'aria-label': t('dashboard.team.edit_label', { name }),
                onclick: () => this.edit(r),
              }),
              ' ',
              h('button', {
                type: 'button',
                class: 'btn-danger btn-small role-delete',
                'data-control': 'delete',
                text: t('dashboard.team.delete'),
                'aria-label': t('dashboard.team.delete_label', { name }),
                onclick: (e) => whileBusy(e.currentTarget, () => this.remove(r)),
              }),
            ],
      ),
    );
  }

  /** "Second factor required" for a role's agents (`PUT /api/roles/{id}/two-factor`). */
  policyBox(r, name) {
    const box = h('input', {
      type: 'checkbox',
      id: `role-${r.id}-two-factor`,
      'data-control': 'two-factor',
      checked: r.two_factor,
    });
    box.addEventListener('change', async () => {
      const res = await request('PUT', `/api/roles/${r.id}/two-factor`, { json: { required: box.checked } });
      if (!res.ok) {
        box.checked = !box.checked;
        this.rolesPart.error.textContent = httpError(res);
        return;
      }
      r.two_factor = box.checked;
      this.rolesPart.error.textContent = '';
      this.rolesPart.status.textContent = t(box.checked ? 'dashboard.team.two_factor_on' : 'dashboard.team.two_factor_off', { name });
    });
    return h(
      'span',
      { class: 'check-inline' },
      box,
      h('label', { for: `role-${r.id}-two-factor`, text: t('dashboard.team.two_factor_required') }),
      h('span', { class: 'vh', text: ` (${name})` }),
    );
  }

  /** An admin's reset of an agent's second factor (`DELETE /api/agents/{id}/two-factor`). */
  async resetTwoFactor(a) {
    const res = await request('DELETE', `/api/agents/${a.id}/two-factor`);
    if (!res.ok) {
      this.agentsPart.error.textContent = httpError(res);
      return;
    }
    this.agentsPart.error.textContent = '';
    this.agentsPart.status.textContent = t('dashboard.team.two_factor_reset_done', { email: a.email });
    await this.load();
  }

  // ----- the role form -----

  fillForm(r) {
    this.nameField.value = r ? r.name : '';
    const ticked = new Set(r ? r.permissions : []);
    for (const b of this.permBoxes()) b.checked = ticked.has(b.value);
  }

  edit(r) {
    this.editing = r;
    this.fillForm(r);
    this.formFieldError(null, '');
    this.formTitle.textContent = t('dashboard.team.edit_title', { name: r.name });
    this.submitBtn.textContent = t('dashboard.team.save');
    this.cancelBtn.hidden = false;
    this.editHint.hidden = false;
    this.editHint.parentElement.setAttribute('aria-describedby', this.editHint.id);
    this.nameField.focus();
  }

  resetForm({ focus }) {
    this.editing = null;
    this.fillForm(null);
    this.formFieldError(null, '');
    this.formTitle.textContent = t('dashboard.team.new_role');
    this.submitBtn.textContent = t('dashboard.team.create');
    this.cancelBtn.hidden = true;
    this.editHint.hidden = true;
    if (this.editHint.parentElement) this.editHint.parentElement.removeAttribute('aria-describedby');
    if (focus) this.nameField.focus();
  }

  formFieldError(field, text) {
    showFieldError(this.formError, [this.nameField], field, text);
  }

  async submit(e) {
    e.preventDefault();
    const name = this.nameField.value.trim();
    if (!ROLE_NAME.test(name)) {
      this.rolesPart.status.textContent = '';
      this.formFieldError(this.nameField, t('dashboard.team.bad_name'));
      return;
    }
    const permissions = this.checkedPermissions();
    this.formFieldError(null, '');
    await whileBusy(this.submitBtn, () => (this.editing ? this.update(this.editing, name, permissions) : this.create(name, permissions)));
  }

  /** A refusal of the form: the server's words, focus where the problem is. */
  formRefused(res) {
    this.rolesPart.status.textContent = '';
    const aboutName = res.status === 400 || (res.status === 409 && /\bnamed?\b/i.test(res.message));
    this.formFieldError(aboutName ? this.nameField : null, serverError(res));
    if (!aboutName) this.submitBtn.focus();
  }

  async create(name, permissions) {
    this.rolesPart.status.textContent = t('dashboard.settings.saving');
    const res = await request('POST', '/api/roles', { json: { name, permissions } });
    if (!res.ok) {
      this.formRefused(res);
      return;
    }
    const saved = parseRole(res.data);
    this.resetForm({ focus: false });
    await this.load();
    this.rolesPart.status.textContent = t('dashboard.team.created', { name: saved ? saved.name : name });
    this.nameField.focus();
  }

  async update(r, name, permissions) {
    const body = {};
    if (name !== r.name) body.name = name;
    const before = [...r.permissions].sort().join(' ');
    if ([...permissions].sort().join(' ') !== before) body.permissions = permissions;
    if (!Object.keys(body).length) {
      this.resetForm({ focus: true });
      this.rolesPart.status.textContent = t('dashboard.team.unchanged', { name: r.name });
      return;
    }
    this.rolesPart.status.textContent = t('dashboard.settings.saving');
    const res = await request('PUT', `/api/roles/${encodeURIComponent(r.id)}`, { json: body });
    if (!res.ok) {
      if (res.status === 404) {
        this.resetForm({ focus: true });
        this.rolesPart.status.textContent = '';
        this.formError.textContent = t('dashboard.team.role_gone');
        await this.load();
        return;
      }
      this.formRefused(res);
      return;
    }
    const signedOut = body.permissions !== undefined && r.agents > 0;
    this.resetForm({ focus: false });
    await this.load();
    this.rolesPart.status.textContent = t(signedOut ? 'dashboard.team.saved_signed_out' : 'dashboard.team.saved', { name });
    this.nameField.focus();
  }

  async remove(r) {
    if (!window.confirm(t('dashboard.team.confirm_delete', { name: r.name }))) return;
    this.rolesPart.error.textContent = '';
    const res = await request('DELETE', `/api/roles/${encodeURIComponent(r.id)}`);
    if (!res.ok && res.status !== 404) {
      this.rolesPart.status.textContent = '';
      this.rolesPart.error.textContent = serverError(res);
      return;
    }
    if (this.editing && this.editing.id === r.id) this.resetForm({ focus: false });
    await this.load();
    this.rolesPart.status.textContent = t('dashboard.team.deleted', { name: r.name });
    this.rolesPart.title.focus();
  }
}
