// Handing an open chat over: the transfer panel of each chat, its targets (colleagues online,
// with their load, and departments) and the answer.

import { h, hasFocus, setDisabled } from '../dom.js';
import { t, tn, formatNumber } from '../i18n.js';
import { request } from '../api.js';
import { errorText } from './errors.js';

export class Transfers {
  /** view: the ChatsView (its items by conversation id). */
  constructor(view) {
    this.view = view;
    this.model = view.model;
    this.conn = view.conn;
    /** departments for transfers: null until loaded */
    this.departments = null;
    this.departmentsFailed = false;
  }

  /** Whether a transfer panel is open (a refused transfer is told there, not as an alert). */
  anyOpen() {
    return [...this.view.items.values()].some((it) => !it.transferPanel.hidden);
  }

  /** Adds the "Transfer" button and panel to a chat's item. */
  build(it) {
    const id = it.id;
    it.transferBtn = h('button', {
      type: 'button',
      class: 'btn-secondary',
      'aria-expanded': 'false',
      'aria-controls': `transfer-${id}`,
      text: t('dashboard.transfer.open'),
      onclick: () => (it.transferPanel.hidden ? this.show(it) : this.hide(it, { focus: true })),
    });
    it.transferSelect = h('select', { id: `transfer-target-${id}`, 'aria-describedby': `transfer-status-${id}` });
    it.transferSubmit = h('button', { type: 'submit', text: t('dashboard.transfer.submit') });
    it.transferStatus = h('p', { id: `transfer-status-${id}`, class: 'transfer-status', role: 'status' });
    it.transferPanel = h(
      'form',
      {
        id: `transfer-${id}`,
        class: 'transfer-panel',
        hidden: true,
        'aria-labelledby': `transfer-title-${id}`,
        onsubmit: (e) => this.onSubmit(e, it),
        onkeydown: (e) => {
          if (e.key !== 'Escape') return;
          e.preventDefault();
          this.hide(it, { focus: true });
        },
      },
      h('h3', { id: `transfer-title-${id}`, class: 'transfer-title', text: t('dashboard.transfer.title') }),
      h(
        'div',
        { class: 'transfer-row' },
        h('label', { for: `transfer-target-${id}`, text: t('dashboard.transfer.to') }),
        it.transferSelect,
        it.transferSubmit,
        h('button', {
          type: 'button',
          class: 'btn-secondary',
          text: t('dashboard.transfer.cancel'),
          onclick: () => this.hide(it, { focus: true }),
        }),
      ),
      it.transferStatus,
    );
  }

  show(it) {
    it.transferPanel.hidden = false;
    it.transferBtn.setAttribute('aria-expanded', 'true');
    it.transferStatus.textContent = '';
    this.renderTarget(it);
    this.loadDepartments();
    it.transferSelect.focus();
  }

  hide(it, { focus }) {
    if (it.transferPanel.hidden) return;
    const hadFocus = hasFocus(it.transferPanel);
    it.transferPanel.hidden = true;
    it.transferBtn.setAttribute('aria-expanded', 'false');
    it.transferStatus.textContent = '';
    if ((focus || hadFocus) && !it.transferBtn.hidden) it.transferBtn.focus();
  }

  /** "Transfer" looks and announces itself disabled while the socket is down or one is under way. */
  setEnabled(it, on) {
    setDisabled(it.transferSubmit, !on || this.model.transferring.has(it.id));
  }

  /** Departments are fetched each time a transfer panel opens (they change rarely). */
  async loadDepartments() {
    const res = await request('GET', '/api/departments');
    if (res.ok && res.data && Array.isArray(res.data.departments)) {
      this.departments = res.data.departments
        .filter((d) => d && Number.isSafeInteger(d.id) && typeof d.name === 'string')
        .map((d) => ({ id: d.id, name: d.name }));
      this.departmentsFailed = false;
    } else if (this.departments === null) {
      this.departmentsFailed = true;
    }
    this.renderTargets();
  }

  renderTargets() {
    for (const it of this.view.items.values()) if (!it.transferPanel.hidden) this.renderTarget(it);
  }

  /** The targets: connected colleagues (status, load) and departments (who is online there). */
  renderTarget(it) {
    const prev = it.transferSelect.value;
    const groups = [this.agentGroup()];
    if (this.departmentsFailed || this.departments === null || this.departments.length) {
      groups.push(this.departmentGroup());
    }
    it.transferSelect.replaceChildren(h('option', { value: '', text: t('dashboard.transfer.choose') }), ...groups);
    const keep = [...it.transferSelect.options].find((o) => o.value === prev && prev && !o.disabled);
    it.transferSelect.value = keep ? prev : '';
  }

  agentGroup() {
    const me = this.model.agentId;
    const others = this.model.agents
      .filter((a) => a.id !== me)
      .sort((a, b) => (a.status === 'online' ? 0 : 1) - (b.status === 'online' ? 0 : 1) || a.name.localeCompare(b.name));
    const group = h('optgroup', { label: t('dashboard.transfer.agents') });
    if (!others.length) {
      group.append(h('option', { value: '', disabled: true, text: t('dashboard.transfer.no_agents') }));
    }
    for (const a of others) {
      const full = a.open >= a.capacity;
      const vars = {
        name: a.name || t('dashboard.transfer.agent_number', { id: a.id }),
        status: t(`dashboard.status.${a.status}`),
        open: formatNumber(a.open),
        capacity: formatNumber(a.capacity),
      };
      const key = a.status === 'online' && full ? 'dashboard.transfer.agent_full' : 'dashboard.transfer.agent_option';
      group.append(
        h('option', {
          value: `agent:${a.id}`,
          // The server takes only online agents with room (`agent_unavailable` otherwise).
          disabled: a.status !== 'online' || full,
          'data-label': vars.name,
          text: t(key, vars),
        }),
      );
    }
    return group;
  }

  departmentGroup() {
    const group = h('optgroup', { label: t('dashboard.transfer.departments') });
    if (this.departments === null) {
      group.append(
        h('option', {
          value: '',
          disabled: true,
          text: t(this.departmentsFailed ? 'dashboard.transfer.departments_failed' : 'dashboard.transfer.loading'),
        }),
      );
      return group;
    }
    for (const d of this.departments) {
      const online = this.model.agents.filter(
        (a) => a.status === 'online' && a.open < a.capacity && a.departments.includes(d.id),
      ).length;
      group.append(
        h('option', {
          value: `department:${d.id}`,
          'data-label': d.name,
          text: tn('dashboard.transfer.department_option', online, { name: d.name }),
        }),
      );
    }
    return group;
  }

  onSubmit(e, it) {
    e.preventDefault();
    if (!this.conn.open) {
      it.transferStatus.textContent = t('dashboard.error.offline');
      return;
    }
    if (this.model.transferring.has(it.id)) return;
    const m = /^(agent|department):(\d+)$/.exec(it.transferSelect.value);
    if (!m) {
      it.transferStatus.textContent = t('dashboard.transfer.pick_first');
      it.transferSelect.focus();
      return;
    }
    const opt = it.transferSelect.selectedOptions[0];
    const name = (opt && opt.dataset.label) || '';
    const ok =
      m[1] === 'agent'
        ? this.model.transfer(it.id, { agent: Number(m[2]), label: t('dashboard.conversation.transferred_to', { name }) })
        : this.model.transfer(it.id, {
            department: Number(m[2]),
            label: t('dashboard.conversation.transferred_to_department', { name }),
          });
    if (!ok) {
      it.transferStatus.textContent = t('dashboard.error.offline');
      return;
    }
    setDisabled(it.transferSubmit, true);
    it.transferStatus.textContent = t('dashboard.transfer.sending');
  }

  /** A transfer was refused (or lost with the connection): the panel says so and stays. */
  onDone({ convId, code }) {
    const it = this.view.items.get(convId);
    if (!it) return;
    setDisabled(it.transferSubmit, !this.conn.open);
    it.transferStatus.textContent = code ? errorText(code, '') : t('dashboard.transfer.not_done');
    if (!it.transferPanel.hidden) this.renderTarget(it);
  }
}
