// The chat socket client of both pages: the widget's chat frame (/ws/visitor) and the
// dashboard (/ws/agent), as docs/protocol.md ("Guarantees") asks of a client:
//
// - SocketClient connects, sends the page's opening frame (`start`, `resume` or `hello`) on
//   every new socket, keeps the line alive, and reconnects with exponential backoff and jitter
//   (close 1013, "try again", backs off like any drop when it repeats).
// - ChatLog holds one conversation's entries by seq and the last *contiguous* seq: what the
//   next `resume`/`hello` names, so that a hole is asked for again, never skipped.
// - takeEpoch reads the log's identity from `welcome`/`ready` and says when it names another
//   log (a restore): the page then forgets its entries, and `reset` plus the whole log follow.
// - Outbox keeps what was sent but not acknowledged, by client_id, and sends it again with the
//   same client_id (the server stores it once) after a reconnect or a refusal for now.

/** Close code "try again": the server dropped this socket on purpose; reconnect and resume. */
export const CLOSE_TRY_AGAIN = 1013;
const FIRST_DELAY = 1000;
const MAX_DELAY = 30000;
/** Backoff steps and 1013s in a row are counted up to this (the delay is capped long before). */
const MAX_STEPS = 16;
/** A socket open this long: earlier 1013s in a row no longer count for the backoff. */
const STEADY_AFTER = 60000;

/**
 * One page's chat socket. Options:
 * - url(): the socket's address;
 * - greet(): the first frame of each new socket (null: none);
 * - readyType: the frame that says the socket is resumed and live (`welcome`, `ready`);
 * - heartbeat: {every, pingAfter, deadAfter} (ms): every `every`, a socket silent for
 *   `pingAfter` gets a `ping`, one silent for `deadAfter` is replaced;
 * - jitter: [low, high]: a delay is the backoff step times a random factor in this range;
 * - quickTryAgain: a first 1013 is answered by a reconnect within a second;
 * - checkSession(): after a 1013 or a refused upgrade, 'gone' stops the client (state
 *   `signed_out`).
 *
 * Events: `state` (detail {state, retryAt}: connecting, reconnecting, connected, signed_out;
 * retryAt when a retry is scheduled), `frame` (detail: the parsed frame), `down` (the socket
 * closed).
 */
export class SocketClient extends EventTarget {
  constructor(opts) {
    super();
    this.opts = opts;
    this.ws = null;
    this.state = 'connecting';
    this.retryAt = 0;
    this.stopped = true;
    /** The ready frame came on this socket. */
    this.ready = false;
    this.everReady = false;
    this.attempt = 0;
    /** 1013 closes in a row: the ready frame does not reset their backoff, a steady socket does. */
    this.tryAgain = 0;
    this.timer = 0;
    this.heartbeat = 0;
    this.lastHeard = 0;
    this.openedAt = 0;
  }

  /** Connects, and reconnects after every drop until stop(). */
  start() {
    this.stopped = false;
    this.attempt = 0;
    this.tryAgain = 0;
    clearInterval(this.heartbeat);
    const { every } = this.opts.heartbeat;
    this.heartbeat = setInterval(() => this.checkAlive(), every);
    this.connect();
  }

  /** Closes the socket (1000) and stays down. */
  stop(reason) {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) {
      try {
        ws.close(1000, reason);
      } catch {
        /* already closed */
      }
    }
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

  /** Connects at once when there is no socket; `fresh`: earlier failures no longer count. */
  retryNow({ fresh = false } = {}) {
    if (this.stopped || this.ws) return;
    if (fresh) this.attempt = 0;
    this.connect();
  }

  setState(state, retryAt = 0) {
    this.state = state;
    this.retryAt = retryAt;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, retryAt } }));
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.stopped || this.ws) return;
    this.ready = false;
    this.setState(this.everReady ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.opts.url());
    } catch {
      this.afterClose(0, false);
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      if (ws !== this.ws) return;
      opened = true;
      this.openedAt = Date.now();
      this.lastHeard = this.openedAt;
      const first = this.opts.greet();
      if (first) this.send(first);
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
      if (frame.type === this.opts.readyType) {
        this.ready = true;
        this.everReady = true;
        this.attempt = 0;
        this.setState('connected');
      }
      this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
    });
    ws.addEventListener('close', (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.ready = false;
      if (this.openedAt && Date.now() - this.openedAt > STEADY_AFTER) this.tryAgain = 0;
      this.openedAt = 0;
      this.dispatchEvent(new CustomEvent('down'));
      this.afterClose(ev.code, opened);
    });
  }

  /**
   * A silent socket (laptop sleep, dropped Wi-Fi, a dead proxy) is only noticed by traffic:
   * ping it, and replace it when nothing came back for too long.
   */
  checkAlive() {
    if (!this.open) return;
    const { pingAfter, deadAfter } = this.opts.heartbeat;
    const quiet = Date.now() - this.lastHeard;
    if (quiet > deadAfter) {
      const ws = this.ws;
      this.ws = null;
      this.ready = false;
      try {
        ws.close(4000, 'no answer');
      } catch {
        /* already closing */
      }
      this.dispatchEvent(new CustomEvent('down'));
      this.afterClose(1006, true);
    } else if (quiet >= pingAfter) {
      this.send({ type: 'ping' });
    }
  }

  async afterClose(code, opened) {
    if (this.stopped) return;
    // 1013 may mean the session ended; a refused upgrade (401/403) shows up as a close before
    // `open`. Where there is a session, ask the server whether it is still there.
    const check = this.opts.checkSession;
    if (check && (code === CLOSE_TRY_AGAIN || !opened)) {
      this.setState(this.everReady ? 'reconnecting' : 'connecting');
      const session = await check();
      if (this.stopped || this.ws) return;
      if (session === 'gone') {
        this.stopped = true;
        this.setState('signed_out');
        return;
      }
    }
    this.scheduleRetry(code);
  }

  scheduleRetry(code) {
    clearTimeout(this.timer);
    const delay = this.nextDelay(code);
    this.setState(this.everReady ? 'reconnecting' : 'connecting', Date.now() + delay);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /**
   * The pause before the next attempt: from 1 s, doubling up to 30 s, times the jitter (so
   * that many clients do not come back in lockstep after a restart). 1013s in a row count as
   * steps too, also when a `ready` frame came in between.
   */
  nextDelay(code) {
    const tryAgain = code === CLOSE_TRY_AGAIN;
    let delay;
    if (tryAgain && this.opts.quickTryAgain && this.tryAgain === 0 && this.attempt < 2) {
      // Dropped on purpose (we read too slowly, or the server is busy): come back soon.
      delay = 200 + Math.random() * 800;
    } else {
      const steps = Math.max(this.attempt, tryAgain ? this.tryAgain : 0);
      const base = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** steps);
      const [low, high] = this.opts.jitter;
      delay = Math.min(MAX_DELAY, Math.round(base * (low + Math.random() * (high - low))));
    }
    if (tryAgain) this.tryAgain = Math.min(this.tryAgain + 1, MAX_STEPS);
    this.attempt = Math.min(this.attempt + 1, MAX_STEPS);
    return delay;
  }
}

/**
 * One conversation's log as a client holds it: entries by seq (a value of null is an entry
 * held but not shown) and `last`, the seq up to which every entry is held. An entry after a
 * hole does not move `last`, so that a resume asks again for everything from the hole on.
 */
export class ChatLog {
  constructor() {
    this.entries = new Map();
    this.last = 0;
  }

  has(seq) {
    return this.entries.has(seq);
  }

  get(seq) {
    return this.entries.get(seq);
  }

  values() {
    return this.entries.values();
  }

  /** Holds an entry and moves `last` over every entry now contiguous. */
  hold(seq, value) {
    this.entries.set(seq, value);
    while (this.entries.has(this.last + 1)) this.last += 1;
  }

  /** `reset`: forgets every entry (the whole log follows from seq 1); returns what was held. */
  clear() {
    const held = this.entries;
    this.entries = new Map();
    this.last = 0;
    return held;
  }
}

/** The log's identity from `welcome`/`ready` (opaque; 32 hex digits today); '' if unusable. */
export const epochOf = (v) => (typeof v === 'string' && /^[\w-]{1,128}$/.test(v) ? v : '');

/**
 * The epoch a `welcome`/`ready` frame carries, and whether it names another log than the one
 * the client's entries came from (a restore): then the client forgets them at once, so that a
 * drop before the `reset` cannot leave entries of the old log standing under the new epoch.
 */
export function takeEpoch(held, sent) {
  const epoch = epochOf(sent);
  return { epoch, replaced: !!epoch && !!held && epoch !== held };
}

/** Adds the epoch to a `resume`/`hello` frame when the client has one. */
export function withEpoch(frame, epoch) {
  if (epoch) frame.epoch = epoch;
  return frame;
}

/** A fresh id for a message, note or upload (retries reuse it). */
export function newClientId() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // randomUUID needs a secure context; plain-HTTP installs behind a LAN address still work.
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * Messages sent but not yet acknowledged, by client_id, in the order they were written. Each
 * entry is the page's own object; the outbox adds `clientId`, `sentAt` and `failed` (a failed
 * entry is kept for the page to show, but not sent). `frameOf(entry)` makes its frame.
 */
export class Outbox {
  constructor(frameOf) {
    this.frameOf = frameOf;
    this.entries = new Map();
  }

  get size() {
    return this.entries.size;
  }

  get(clientId) {
    return this.entries.get(clientId);
  }

  values() {
    return this.entries.values();
  }

  /** Keeps an entry under a new client_id (or the one it had, when restored). */
  add(entry, clientId = newClientId()) {
    entry.clientId = clientId;
    entry.sentAt = 0;
    entry.failed = false;
    this.entries.set(clientId, entry);
    return entry;
  }

  delete(clientId) {
    this.entries.delete(clientId);
  }

  /**
   * The entry an answer (`ack`, `noted`) names, taken out when `fits(entry)` says the answer
   * is one for it; undefined when it is not ours (or was answered already).
   */
  answered(clientId, fits = () => true) {
    const entry = this.entries.get(clientId);
    if (!entry || !fits(entry)) return undefined;
    this.entries.delete(clientId);
    return entry;
  }

  clear() {
    this.entries.clear();
  }

  /** Sends one entry (not a failed one); false when it did not go out. */
  transmit(socket, entry) {
    if (entry.failed || !socket.send(this.frameOf(entry))) return false;
    entry.sentAt = Date.now();
    return true;
  }

  /** Sends every entry again, with its client_id: after a reconnect, or a refusal for now. */
  resend(socket) {
    for (const entry of this.entries.values()) this.transmit(socket, entry);
  }

  /** Sends again what has waited longer than `ms` for its answer. */
  resendStale(socket, ms) {
    const now = Date.now();
    for (const entry of this.entries.values()) {
      if (!entry.failed && now - entry.sentAt > ms) this.transmit(socket, entry);
    }
  }
}

/** Runs `fn` after a frame was refused for now (`busy`, `rate_limited`): in 1.5 to 2.5 s. */
export function retrySoon(fn) {
  return setTimeout(fn, 1500 + Math.random() * 1000);
}
