// The agent socket (/ws/agent): connect, `hello` (built by the model: the last contiguous seq
// of each open chat and the log's epoch, so a reconnect resumes without holes), automatic
// reconnect with exponential backoff and jitter, an application-level heartbeat, and a session
// check after close code 1013.

const FIRST_DELAY = 1000;
const MAX_DELAY = 30000;
/** Without any frame for this long, the line is considered dead and replaced. */
const DEAD_AFTER = 45000;
/** Without any frame for this long, we send a `ping` (answered by `pong`). */
const PING_AFTER = 20000;
const CHECK_EVERY = 5000;
/** "Try again": sent when the session ended, the server was busy or we read too slowly. */
const CLOSE_TRY_AGAIN = 1013;
/** A socket open this long: earlier 1013s in a row no longer count for the backoff. */
const STEADY_AFTER = 60000;

/** Where to go when the session has ended. */
function loginUrl() {
  const path = /^\/app\/[a-z]+$/.test(location.pathname) ? location.pathname : '/app/chats';
  return `/login?next=${path}`;
}

/** 'ok', 'gone' (401: signed out) or 'unknown' (network trouble, server error). */
export async function checkSession() {
  try {
    const res = await fetch('/api/session', {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    });
    if (res.status === 401) return 'gone';
    return res.ok ? 'ok' : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Events: `state` (detail: {state, retryAt}) with state one of connecting, connected,
 * reconnecting, signed_out; `frame` (detail: the parsed frame); `down` (the socket closed).
 */
export class Connection extends EventTarget {
  /** @param {() => object} hello builds the `hello` frame for each new socket */
  constructor(hello) {
    super();
    this.hello = hello;
    this.ws = null;
    this.state = 'connecting';
    this.retryAt = 0;
    this.attempt = 0;
    this.timer = null;
    this.everReady = false;
    this.stopped = false;
    this.lastHeard = 0;
    this.checker = null;
    /** 1013 closes in a row: `ready` does not reset their backoff, a steady socket does. */
    this.tryAgain = 0;
  }

  start() {
    window.addEventListener('online', () => this.retryNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.retryNow();
    });
    window.addEventListener('pagehide', () => {
      this.stopped = true;
      clearTimeout(this.timer);
      const ws = this.ws;
      this.ws = null;
      if (ws) ws.close(1000, 'page closed');
    });
    window.addEventListener('pageshow', (ev) => {
      if (ev.persisted) {
        this.stopped = false;
        this.retryNow();
      }
    });
    this.checker = setInterval(() => this.checkAlive(), CHECK_EVERY);
    this.connect();
  }

  /** Whether frames can be sent right now. */
  get open() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a frame; false when there is no open socket (the caller keeps what must survive). */
  send(frame) {
    if (!this.open) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Reconnects at once when there is no socket (e.g. the "Reconnect now" button). */
  retryNow() {
    if (this.stopped || this.ws) return;
    this.connect();
  }

  setState(state, retryAt = 0) {
    this.state = state;
    this.retryAt = retryAt;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, retryAt } }));
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${scheme}//${location.host}/ws/agent`);
    } catch {
      this.afterClose(0, false);
      return;
    }
    this.ws = ws;
    this.setState(this.everReady ? 'reconnecting' : 'connecting');
    let opened = false;
    let openedAt = 0;
    ws.addEventListener('open', () => {
      if (ws !== this.ws) return;
      opened = true;
      openedAt = Date.now();
      this.lastHeard = Date.now();
      this.send(this.hello());
    });
    ws.addEventListener('message', (ev) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      if (typeof ev.data !== 'string') return;
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return;
      if (frame.type === 'ready') {
        this.attempt = 0;
        this.everReady = true;
        this.setState('connected');
      }
      this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
    });
    ws.addEventListener('close', (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (openedAt && Date.now() - openedAt > STEADY_AFTER) this.tryAgain = 0;
      this.dispatchEvent(new CustomEvent('down'));
      this.afterClose(ev.code, opened);
    });
  }

  /** Replaces a socket that has gone silent (laptop sleep, dropped Wi-Fi, a dead proxy). */
  checkAlive() {
    if (!this.open) return;
    const quiet = Date.now() - this.lastHeard;
    if (quiet > DEAD_AFTER) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close(4000, 'no answer');
      } catch {
        /* already closing */
      }
      this.dispatchEvent(new CustomEvent('down'));
      this.afterClose(1006, true);
    } else if (quiet > PING_AFTER) {
      this.send({ type: 'ping' });
    }
  }

  async afterClose(code, opened) {
    if (this.stopped) return;
    this.setState(this.everReady ? 'reconnecting' : 'connecting');
    // 1013 may mean the session ended; a refused upgrade (401/403) shows up as a close before
    // `open`. Either way, ask the server whether we are still signed in.
    if (code === CLOSE_TRY_AGAIN || !opened) {
      const session = await checkSession();
      if (this.stopped || this.ws) return;
      if (session === 'gone') {
        this.stopped = true;
        this.setState('signed_out');
        location.assign(loginUrl());
        return;
      }
    }
    // A 1013 while still signed in: we did not read fast enough or the server is busy. The
    // next `hello` resumes from the last contiguous seq of each chat; 1013s in a row back off.
    let steps = this.attempt;
    if (code === CLOSE_TRY_AGAIN) {
      steps = Math.max(steps, this.tryAgain);
      this.tryAgain = Math.min(this.tryAgain + 1, 16);
    }
    this.scheduleRetry(steps);
  }

  scheduleRetry(steps = this.attempt) {
    clearTimeout(this.timer);
    const base = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** steps);
    this.attempt = Math.min(this.attempt + 1, 16);
    // ±25 % jitter so that many dashboards do not reconnect in lockstep after a restart.
    const delay = Math.min(MAX_DELAY, Math.round(base * (0.75 + Math.random() * 0.5)));
    this.setState(this.everReady ? 'reconnecting' : 'connecting', Date.now() + delay);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
