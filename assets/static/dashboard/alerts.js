// On every section: the waiting-chat badge on the "Chats" navigation link, the tab title, and
// the alerts for a newly waiting chat (a WebAudio chime, a desktop notification, a screen-reader
// announcement).

import { h, srOnly } from './dom.js';
import { t, tn, formatNumber } from './i18n.js';
import { request } from './api.js';

const SOUND_KEY = 'kontor.sound';
let audio = null;

/** Whether the chime is wanted: the agent's profile says (the page carries it), else yes. */
export function soundEnabled() {
  const chosen = document.body ? document.body.dataset.notifySound : undefined;
  if (chosen === 'on' || chosen === 'off') return chosen === 'on';
  try {
    return localStorage.getItem(SOUND_KEY) !== 'off';
  } catch {
    return true;
  }
}

/** The chats bar's switch: the agent's profile keeps the choice (PUT /api/me). */
export function setSoundEnabled(on) {
  if (document.body) document.body.dataset.notifySound = on ? 'on' : 'off';
  request('PUT', '/api/me', { json: { notify_sound: !!on } }).catch(() => {});
  try {
    localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
  } catch {
    /* the choice lasts for this page */
  }
}

/**
 * Browsers let audio start only after a user gesture: create/resume the AudioContext on the
 * first click or key press, so a chime can play later.
 */
function unlockAudioOnGesture() {
  const unlock = () => {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      if (!audio) audio = new Ctx();
      if (audio.state === 'suspended') audio.resume().catch(() => {});
    } catch {
      /* no audio: stay silent */
    }
  };
  for (const ev of ['pointerdown', 'keydown']) {
    window.addEventListener(ev, unlock, { capture: true, passive: true });
  }
}

/** A short two-note chime, synthesised (no sound file). Fails silently. */
export function chime() {
  try {
    if (!audio || audio.state !== 'running') return;
    const now = audio.currentTime;
    const notes = [
      [880, now],
      [1175, now + 0.14],
    ];
    for (const [freq, at] of notes) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.setValueAtTime(freq, at);
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.18, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.22);
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.25);
    }
  } catch {
    /* stay silent */
  }
}

/** 'default', 'granted', 'denied' or 'unsupported'. */
export function notificationPermission() {
  if (!('Notification' in window) || !window.isSecureContext) return 'unsupported';
  return Notification.permission;
}

/** Asks for permission; must be called from a click. Resolves to the new permission. */
export async function requestNotifications() {
  if (notificationPermission() === 'unsupported') return 'unsupported';
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

/** Whether the agent wants desktop notifications (their profile; default yes). */
export function desktopEnabled() {
  return !document.body || document.body.dataset.notifyDesktop !== 'off';
}

function notify(entry, section) {
  if (!desktopEnabled() || notificationPermission() !== 'granted') return;
  try {
    const n = new Notification(t('dashboard.notify.title'), {
      body: entry.visitorName || t('dashboard.visitor_number', { id: entry.id }),
      tag: `kontor-waiting-${entry.id}`,
      lang: document.documentElement.lang || undefined,
    });
    n.addEventListener('click', () => {
      window.focus();
      if (section !== 'chats') location.assign('/app/chats');
      n.close();
    });
  } catch {
    /* e.g. Android Chrome allows notifications only from a service worker */
  }
}

/**
 * Several dashboard tabs get the same queue: only one of them chimes and notifies per chat.
 * A Web Lock makes the check-and-record in localStorage atomic across tabs.
 */
async function once(id, fn) {
  const key = 'kontor.alerted';
  const claim = () => {
    const now = Date.now();
    let seen = [];
    try {
      seen = JSON.parse(localStorage.getItem(key) || '[]');
      if (!Array.isArray(seen)) seen = [];
    } catch {
      seen = [];
    }
    // Entries are [id, time]; only recent ones count (ids may come back after a restore).
    seen = seen.filter((e) => Array.isArray(e) && now - e[1] < 10 * 60 * 1000);
    if (seen.some((e) => e[0] === id)) return;
    seen.push([id, now]);
    try {
      localStorage.setItem(key, JSON.stringify(seen.slice(-100)));
    } catch {
      /* best effort */
    }
    fn();
  };
  // The visible tab goes first, so its chime is the one that plays.
  if (document.visibilityState !== 'visible') await new Promise((r) => setTimeout(r, 400));
  if (navigator.locks && typeof navigator.locks.request === 'function') {
    try {
      await navigator.locks.request('kontor-alert', claim);
      return;
    } catch {
      /* fall through */
    }
  }
  claim();
}

/** Mounts the badge and the alerts; works on every section. */
export function mountAlerts(model, { section }) {
  unlockAudioOnGesture();

  const link = document.querySelector('a[href="/app/chats"]');
  let badge = null;
  if (link) {
    badge = h('span', { class: 'nav-badge', hidden: true });
    link.append(' ', badge);
  }
  const baseTitle = document.title;
  const announcer = h('div', { class: 'vh', 'aria-live': 'polite', 'aria-atomic': 'true' });
  document.body.append(announcer);

  const render = (count) => {
    if (badge) {
      badge.replaceChildren(
        h('span', { 'aria-hidden': 'true', text: formatNumber(count) }),
        srOnly(tn('dashboard.badge.waiting', count)),
      );
      badge.hidden = count === 0;
    }
    document.title = count ? `(${formatNumber(count)}) ${baseTitle}` : baseTitle;
  };

  // A chat that still waits after the tenant's alert time: chime, desktop notice and
  // announcement again (once per chat, across this agent's tabs).
  model.addEventListener('queue_alert', (e) => {
    const entry = e.detail;
    const name = entry.visitorName || t('dashboard.visitor_number', { id: entry.id });
    const minutes = Math.max(1, Math.round(entry.waitingSecs / 60));
    announcer.textContent = '';
    setTimeout(() => {
      announcer.textContent = t('dashboard.announce.still_waiting', { name, minutes: formatNumber(minutes) });
    }, 50);
    if (model.status === 'offline') return;
    const tenant = (document.querySelector('.topbar .tenant') || {}).textContent || '';
    once(`${tenant}#${entry.id}#late`, () => {
      if (soundEnabled()) chime();
      notify(entry, section);
    });
  });
  model.addEventListener('queue', (e) => {
    const { waiting, added } = e.detail;
    render(waiting.length);
    if (!added.length) return;
    const names = added.map((w) => w.visitorName || t('dashboard.visitor_number', { id: w.id }));
    announcer.textContent = '';
    // A fresh text node in a live region is what screen readers announce reliably.
    setTimeout(() => {
      announcer.textContent = t('dashboard.announce.new_waiting', { names: names.join(', ') });
    }, 50);
    if (model.status === 'offline') return;
    const tenant = (document.querySelector('.topbar .tenant') || {}).textContent || '';
    for (const entry of added) {
      once(`${tenant}#${entry.id}`, () => {
        if (soundEnabled()) chime();
        notify(entry, section);
      });
    }
  });
}
