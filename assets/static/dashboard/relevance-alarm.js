// The agent's relevance alarm on the visitor list: a threshold they choose (their profile,
// `PUT /api/me {relevance_alarm}`; 0 is off). A live visitor at or above it marks its row and,
// once per visit (remembered for the browser session), chimes, raises a desktop notification
// if the agent allows them, and is announced to screen readers.

import { h } from './dom.js';
import { t } from './i18n.js';
import { request } from './api.js';
import { chime, soundEnabled, desktopEnabled, notificationPermission } from './alerts.js';

const FIRED_KEY = 'kontor.relevanceAlarms';
/** Visits remembered at most (the oldest are forgotten first). */
const FIRED_MAX = 500;

function loadFired() {
  try {
    const list = JSON.parse(sessionStorage.getItem(FIRED_KEY) || '[]');
    return Array.isArray(list) ? list.filter((k) => typeof k === 'string') : [];
  } catch {
    return [];
  }
}

export class RelevanceAlarms {
  constructor() {
    this.threshold = 0;
    this.fired = loadFired();
    /** How many alarms this page raised (tests read it from the element). */
    this.count = 0;
    this.select = h(
      'select',
      { id: 'relevance-alarm', name: 'relevance_alarm', onchange: () => this.choose() },
      h('option', { value: '0', text: t('dashboard.relevance.alarm_off') }),
      [...Array(10).keys()].map((i) => h('option', { value: String(i + 1), text: t('dashboard.relevance.alarm_at', { n: String(i + 1) }) })),
    );
    this.status = h('p', { id: 'relevance-alarm-status', class: 'vh', role: 'status', 'aria-live': 'polite', 'data-count': '0' });
    request('GET', '/api/me').then((res) => {
      const n = res.ok && res.data ? Number(res.data.relevance_alarm) : 0;
      this.threshold = Number.isInteger(n) && n >= 0 && n <= 10 ? n : 0;
      this.select.value = String(this.threshold);
    });
  }

  async choose() {
    const n = Number(this.select.value);
    const res = await request('PUT', '/api/me', { json: { relevance_alarm: n } });
    if (res.ok) this.threshold = n;
    else this.select.value = String(this.threshold);
  }

  /** Marks the row of a visitor at or above the threshold; alarms once per visit. */
  check(v, tr) {
    const on = this.threshold > 0 && v.relevance >= this.threshold;
    tr.classList.toggle('relevant-alarm', on);
    if (!on) return;
    const key = `${v.id}:${v.startedAt}`;
    if (this.fired.includes(key)) return;
    this.fired.push(key);
    if (this.fired.length > FIRED_MAX) this.fired.splice(0, this.fired.length - FIRED_MAX);
    try {
      sessionStorage.setItem(FIRED_KEY, JSON.stringify(this.fired));
    } catch {
      /* remembered for this page only */
    }
    this.raise(v);
  }

  raise(v) {
    this.count += 1;
    const text = t('dashboard.relevance.alarm_text', { id: String(v.id), score: String(v.relevance) });
    this.status.textContent = text;
    this.status.dataset.count = String(this.count);
    if (soundEnabled()) chime();
    if (desktopEnabled() && notificationPermission() === 'granted') {
      try {
        new Notification(t('dashboard.relevance.alarm_title'), { body: text, tag: `kontor-relevance-${v.id}` });
      } catch {
        /* no notification from this page */
      }
    }
  }
}
