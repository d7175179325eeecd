// Settings → Campaigns and Goals (admins only: `GET/POST /api/campaigns`, `PUT/DELETE
// /api/campaigns/{id}`, the same for `/api/goals`). A campaign names the utm_* values of the
// links that lead to the site, its period and its cost; a goal is a page address pattern or a
// `kontor('goal', …)` call on the site, with a value. Statistics reads the results.
// Names, utm values and patterns are set as text only (dom.js).

import { h } from './dom.js';
import { t, numberFormat } from './i18n.js';
import { parseDay, dayText, dayWords, periodText } from './days.js';
import { ListEditor } from './list-editor.js';

const isInt = (v) => Number.isSafeInteger(v);
const str = (v) => (typeof v === 'string' ? v : '');
const amount = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
const chars = (s) => [...s].length;
const GOAL_NAME = /^[A-Za-z0-9_-]{1,60}$/;
const MONEY_MAX = 1e9;
export const UTM = ['utm_source', 'utm_medium', 'utm_campaign'];
/** Suggestions for the channel field (free text on the server). */
const CHANNELS = ['email', 'newsletter', 'social', 'search', 'display', 'affiliate', 'print', 'other'];

// ----- formatting -----

const moneyFmt = numberFormat({ minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** An amount in the tenant's currency, without a symbol: "1,250.00" / "1.250,00". */
export function formatMoney(n) {
  return moneyFmt.format(n);
}

/** Today as the server counts days: in UTC. */
const todayText = () => dayText(Date.now());

/** "1 Mar 2026 – 31 Mar 2026", or "from 1 Mar 2026" without an end. */
function campaignPeriod(c) {
  const a = parseDay(c.starts_on);
  const b = parseDay(c.ends_on);
  if (a === null) return '';
  if (b === null) return t('dashboard.campaigns.period_open', { from: dayWords(a) });
  return periodText(a, b);
}

/** planned, running or ended, by today's UTC day. */
function campaignState(c) {
  const today = todayText();
  if (c.starts_on > today) return 'planned';
  if (c.ends_on && c.ends_on < today) return 'ended';
  return 'running';
}

// ----- the API's shapes -----

/** A CAMPAIGN from the API, or null. */
export function parseCampaign(c) {
  if (!c || typeof c !== 'object' || !isInt(c.id)) return null;
  return {
    id: c.id,
    name: str(c.name),
    channel: str(c.channel),
    utm_source: str(c.utm_source),
    utm_medium: str(c.utm_medium),
    utm_campaign: str(c.utm_campaign),
    starts_on: str(c.starts_on),
    ends_on: typeof c.ends_on === 'string' && c.ends_on !== '' ? c.ends_on : null,
    cost: amount(c.cost),
    cost_per_visit: amount(c.cost_per_visit),
  };
}

/** A GOAL from the API, or null. */
export function parseGoal(g) {
  if (!g || typeof g !== 'object' || !isInt(g.id)) return null;
  return { id: g.id, name: str(g.name), url_pattern: str(g.url_pattern), value: amount(g.value) };
}

/**
 * The page address with the campaign's utm_* parameters (the others in its query kept), or ''
 * when the address is no http(s) address. Without a scheme, https:// is assumed.
 */
export function trackingLink(address, campaign) {
  let text = String(address || '').trim();
  if (!text) return '';
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `https://${text.replace(/^\/+/, '')}`;
  let u;
  try {
    u = new URL(text);
  } catch {
    return '';
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname) return '';
  const q = new URLSearchParams(u.search);
  for (const key of UTM) {
    if (campaign[key]) q.set(key, campaign[key]);
  }
  u.search = q.toString();
  return u.href;
}

/** The call for the customer's site: `kontor('goal', 'order', 49.9)`. */
export function goalCall(name, value) {
  const v = typeof value === 'number' && Number.isFinite(value) ? value : 0;
  return `kontor('goal', '${name}', ${String(v)})`;
}

/**
 * An amount field: 0 when empty, null when it is no number between 0 and 1e9 (a number field
 * that holds something else reads as empty, but says so in `validity.badInput`).
 */
function readAmount(el) {
  if (el.validity && el.validity.badInput) return null;
  const raw = el.value.trim().replace(',', '.');
  if (raw === '') return 0;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 && n <= MONEY_MAX ? n : null;
}

/** Copies text; falls back to selecting `el` and the old copy command (plain http). */
async function copyText(text, el) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* try the old way */
  }
  try {
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    const ok = document.execCommand('copy');
    sel.removeAllRanges();
    return ok;
  } catch {
    return false;
  }
}

// ----- campaigns -----

export class CampaignsEditor extends ListEditor {
  constructor() {
    super('campaigns', 'campaign', { uniqueNames: true });
    this.linkAddresses = new Map(); // campaign id → the page address typed for its link
  }

  parse(x) {
    return parseCampaign(x);
  }

  buildItem(c) {
    const name = this.itemName(c);
    const state = campaignState(c);
    const utm = UTM.filter((k) => c[k]);
    const money = [];
    if (c.cost > 0) money.push(this.t('cost_total', { amount: formatMoney(c.cost) }));
    if (c.cost_per_visit > 0) money.push(this.t('cost_visit', { amount: formatMoney(c.cost_per_visit) }));
    return h(
      'li',
      { class: `rule-item campaign-item campaign-${state}`, 'data-campaign-id': c.id },
      h(
        'div',
        { class: 'rule-head' },
        h('strong', { class: 'rule-name campaign-name', text: name }),
        h('span', { class: state === 'running' ? 'tag tag-on' : 'tag', 'data-state': state, text: this.t(`state.${state}`) }),
        c.channel ? h('span', { class: 'campaign-channel muted', text: this.t('on_channel', { channel: c.channel }) }) : null,
      ),
      h('p', { class: 'campaign-period', text: campaignPeriod(c) }),
      h(
        'p',
        { class: 'campaign-utm' },
        utm.flatMap((k, i) => [i ? ' ' : null, h('code', { class: 'utm-pair', text: `${k}=${c[k]}` })]),
      ),
      h('p', { class: 'campaign-cost muted', text: money.length ? money.join(' · ') : this.t('no_cost') }),
      this.admin ? this.buildLink(c) : null,
      this.admin ? this.actions(c) : null,
    );
  }

  /** The tracking-link generator: a page address in, the address with the utm values out. */
  buildLink(c) {
    const base = `campaign-${c.id}-link`;
    const address = h('input', {
      type: 'url',
      id: `${base}-url`,
      class: 'tracking-link-url',
      name: 'page_url',
      autocomplete: 'url',
      spellcheck: 'false',
      inputmode: 'url',
      placeholder: 'https://www.example.com/offer',
      'aria-describedby': `${base}-hint`,
    });
    address.value = this.linkAddresses.get(c.id) || '';
    // Read on request, not announced on every keystroke (an output is a live region).
    const out = h('output', { id: base, class: 'tracking-link', for: `${base}-url`, 'aria-live': 'off' });
    const copied = h('span', { class: 'tracking-link-status form-status', role: 'status' });
    const copy = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small tracking-link-copy',
      text: this.t('link.copy'),
      'aria-label': this.t('link.copy_label', { name: this.itemName(c) }),
      disabled: true,
      onclick: async () => {
        const link = out.textContent;
        if (!link) return;
        const ok = await copyText(link, out);
        copied.textContent = this.t(ok ? 'link.copied' : 'link.copy_failed');
      },
    });
    const hint = h('span', { id: `${base}-hint`, class: 'hint' });
    const update = () => {
      const text = address.value;
      this.linkAddresses.set(c.id, text);
      const link = trackingLink(text, c);
      out.textContent = link;
      copy.disabled = !link;
      copied.textContent = '';
      const bad = text.trim() !== '' && !link;
      hint.textContent = this.t(bad ? 'link.bad_url' : 'link.hint');
      hint.classList.toggle('form-error', bad);
      if (bad) address.setAttribute('aria-invalid', 'true');
      else address.removeAttribute('aria-invalid');
    };
    address.addEventListener('input', update);
    update();
    return h(
      'div',
      { class: 'tracking-link-box' },
      h(
        'div',
        { class: 'field' },
        h('label', { for: `${base}-url`, text: this.t('link.address') }),
        address,
        hint,
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: base, text: this.t('link.result') }),
        h('div', { class: 'tracking-link-row' }, out, copy),
        copied,
      ),
    );
  }

  buildFields(f) {
    const utmHint = 'campaign-utm-hint';
    f.name = this.input('name', { maxlength: '100', required: true });
    f.channel = this.input('channel', { maxlength: '50', list: 'campaign-channel-options', 'aria-describedby': 'campaign-channel-hint' });
    f.utm_source = this.input('utm_source', { maxlength: '100', spellcheck: 'false', 'aria-describedby': utmHint });
    f.utm_medium = this.input('utm_medium', { maxlength: '100', spellcheck: 'false', 'aria-describedby': utmHint });
    f.utm_campaign = this.input('utm_campaign', { maxlength: '100', spellcheck: 'false', 'aria-describedby': utmHint });
    f.starts_on = this.input('starts_on', { type: 'date', required: true });
    f.ends_on = this.input('ends_on', { type: 'date', 'aria-describedby': 'campaign-ends_on-hint' });
    const money = { type: 'number', min: '0', max: String(MONEY_MAX), inputmode: 'decimal' };
    f.cost = this.input('cost', { ...money, step: '0.01', 'aria-describedby': 'campaign-cost-hint' });
    f.cost_per_visit = this.input('cost_per_visit', { ...money, step: 'any', 'aria-describedby': 'campaign-cost_per_visit-hint' });
    f.fields = [f.name, f.channel, ...UTM.map((k) => f[k]), f.starts_on, f.ends_on, f.cost, f.cost_per_visit];
    return [
      h(
        'div',
        { class: 'rule-grid' },
        this.field('name', f.name),
        this.field('channel', f.channel, this.t('channel_hint')),
        h('datalist', { id: 'campaign-channel-options' }, CHANNELS.map((c) => h('option', { value: c }))),
      ),
      h(
        'fieldset',
        { class: 'rule-conditions' },
        h('legend', { text: this.t('utm_legend') }),
        h('p', { id: utmHint, class: 'hint', text: this.t('utm_hint') }),
        h('div', { class: 'rule-grid' }, UTM.map((k) => this.field(k, f[k]))),
      ),
      h(
        'div',
        { class: 'rule-grid' },
        this.field('starts_on', f.starts_on),
        this.field('ends_on', f.ends_on, this.t('ends_on_hint')),
      ),
      h(
        'div',
        { class: 'rule-grid' },
        this.field('cost', f.cost, this.t('cost_hint')),
        this.field('cost_per_visit', f.cost_per_visit, this.t('cost_per_visit_hint')),
      ),
    ];
  }

  fillForm(c) {
    const f = this.f;
    f.name.value = c ? c.name : '';
    f.channel.value = c ? c.channel : '';
    for (const k of UTM) f[k].value = c ? c[k] : '';
    f.starts_on.value = c ? c.starts_on : todayText();
    f.ends_on.value = c && c.ends_on ? c.ends_on : '';
    f.cost.value = c && c.cost ? String(c.cost) : '';
    f.cost_per_visit.value = c && c.cost_per_visit ? String(c.cost_per_visit) : '';
  }

  /** The form as a CAMPAIGN body (without id), or null after saying what is wrong. */
  readForm() {
    const f = this.f;
    const name = f.name.value.trim();
    const channel = f.channel.value.trim();
    if (!name || chars(name) > 100) return this.fail(f.name, 'bad_name');
    if (chars(channel) > 50) return this.fail(f.channel, 'bad_channel');
    const utm = {};
    for (const k of UTM) {
      utm[k] = f[k].value.trim();
      if (chars(utm[k]) > 100) return this.fail(f[k], 'bad_utm_length', { field: k });
    }
    if (UTM.every((k) => !utm[k])) return this.fail(f.utm_source, 'bad_utm');
    const starts = f.starts_on.value;
    const ends = f.ends_on.value;
    if (parseDay(starts) === null) return this.fail(f.starts_on, 'bad_starts_on');
    if ((f.ends_on.validity && f.ends_on.validity.badInput) || (ends && parseDay(ends) === null)) {
      return this.fail(f.ends_on, 'bad_ends_on');
    }
    if (ends && ends < starts) return this.fail(f.ends_on, 'bad_range');
    const cost = readAmount(f.cost);
    if (cost === null) return this.fail(f.cost, 'bad_amount');
    const perVisit = readAmount(f.cost_per_visit);
    if (perVisit === null) return this.fail(f.cost_per_visit, 'bad_amount');
    return {
      name,
      channel,
      ...utm,
      starts_on: starts,
      ends_on: ends || null,
      cost,
      cost_per_visit: perVisit,
    };
  }
}

// ----- goals -----

export class GoalsEditor extends ListEditor {
  constructor() {
    super('goals', 'goal', { uniqueNames: true });
  }

  parse(x) {
    return parseGoal(x);
  }

  buildItem(g) {
    const name = this.itemName(g);
    return h(
      'li',
      { class: 'rule-item goal-item', 'data-goal-id': g.id },
      h(
        'div',
        { class: 'rule-head' },
        h('strong', { class: 'rule-name goal-name', text: name }),
        h('span', { class: 'goal-value muted', text: this.t('value_is', { amount: formatMoney(g.value) }) }),
      ),
      h('p', { class: 'goal-pattern', text: g.url_pattern ? this.t('pattern_is', { pattern: g.url_pattern }) : this.t('call_only') }),
      h(
        'p',
        { class: 'goal-call-line' },
        h('span', { class: 'muted', text: `${this.t('call_label')} ` }),
        h('code', { class: 'goal-call', text: goalCall(g.name, g.value) }),
      ),
      this.admin ? this.actions(g) : null,
    );
  }

  buildFields(f) {
    f.name = this.input('name', { maxlength: '60', required: true, spellcheck: 'false', 'aria-describedby': 'goal-name-hint' });
    f.url_pattern = this.input('url_pattern', { maxlength: '500', spellcheck: 'false', 'aria-describedby': 'goal-url_pattern-hint' });
    f.value = this.input('value', { type: 'number', min: '0', max: String(MONEY_MAX), step: 'any', inputmode: 'decimal', 'aria-describedby': 'goal-value-hint' });
    f.fields = [f.name, f.url_pattern, f.value];
    // The call for the site, as the form stands.
    f.call = h('code', { id: 'goal-call', class: 'goal-call' });
    const renderCall = () => {
      const name = f.name.value.trim();
      const value = readAmount(f.value);
      f.call.textContent = goalCall(GOAL_NAME.test(name) ? name : 'NAME', value === null ? 0 : value);
    };
    f.renderCall = renderCall;
    f.name.addEventListener('input', renderCall);
    f.value.addEventListener('input', renderCall);
    return [
      h(
        'div',
        { class: 'rule-grid' },
        this.field('name', f.name, this.t('name_hint')),
        this.field('value', f.value, this.t('value_hint')),
      ),
      this.field('url_pattern', f.url_pattern, this.t('url_pattern_hint')),
      h('p', { class: 'hint goal-call-hint' }, `${this.t('call_hint')} `, f.call),
    ];
  }

  fillForm(g) {
    const f = this.f;
    f.name.value = g ? g.name : '';
    f.url_pattern.value = g ? g.url_pattern : '';
    f.value.value = g && g.value ? String(g.value) : '';
    f.renderCall();
  }

  /** The form as a GOAL body (without id), or null after saying what is wrong. */
  readForm() {
    const f = this.f;
    const name = f.name.value.trim();
    const pattern = f.url_pattern.value.trim();
    if (!GOAL_NAME.test(name)) return this.fail(f.name, 'bad_name');
    if (chars(pattern) > 500) return this.fail(f.url_pattern, 'bad_pattern');
    const value = readAmount(f.value);
    if (value === null) return this.fail(f.value, 'bad_amount');
    return { name, url_pattern: pattern, value };
  }
}
