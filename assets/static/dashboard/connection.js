// The agent socket (/ws/agent): the shared chat socket client (../shared/socket.js) with the
// dashboard's settings. Its first frame is `hello` (built by the model: the last contiguous seq
// of each open chat and the log's epoch, so a reconnect resumes without holes); after close
// code 1013 or a refused upgrade it asks whether the session still exists, and goes to the
// sign-in page when it does not.

import { SocketClient } from '../shared/socket.js';

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
 * The socket of this page (events: see SocketClient). `hello` builds the first frame of each
 * new socket.
 */
export function agentSocket(hello) {
  const conn = new SocketClient({
    url: () => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws/agent`,
    greet: hello,
    readyType: 'ready',
    // Checked every 5 s: a `ping` after 20 s without any frame, a new socket after 45 s.
    heartbeat: { every: 5000, pingAfter: 20000, deadAfter: 45000 },
    // ±25 % so that many dashboards do not reconnect in lockstep after a restart.
    jitter: [0.75, 1.25],
    quickTryAgain: false,
    checkSession,
  });
  conn.addEventListener('state', (e) => {
    if (e.detail.state === 'signed_out') location.assign(loginUrl());
  });
  window.addEventListener('online', () => conn.retryNow());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') conn.retryNow();
  });
  window.addEventListener('pagehide', () => conn.stop('page closed'));
  window.addEventListener('pageshow', (ev) => {
    if (ev.persisted) conn.start();
  });
  return conn;
}
