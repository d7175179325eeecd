// The dashboard's HTTP calls (docs/http-api.md): JSON in and out, the session's CSRF token on
// every state-changing request, one shape for every answer.

import { t } from './i18n.js';

let csrfToken = null;
let sessionInfo = null;

/** The session's CSRF token: from the page's meta tag, else from `GET /api/session`. */
export async function csrf() {
  if (csrfToken) return csrfToken;
  const meta = document.querySelector('meta[name="csrf-token"]');
  const fromPage = meta ? meta.getAttribute('content') : '';
  if (fromPage) {
    csrfToken = fromPage;
    return csrfToken;
  }
  const s = await session();
  csrfToken = s && typeof s.csrf === 'string' ? s.csrf : '';
  return csrfToken;
}

/** `GET /api/session` (once per page): {email, name, role, permissions, tenant, csrf}, or null. */
export async function session() {
  if (sessionInfo) return sessionInfo;
  const res = await request('GET', '/api/session');
  if (res.ok && res.data && typeof res.data === 'object') sessionInfo = res.data;
  return sessionInfo;
}

/**
 * One request. Resolves (never rejects) to {ok, status, data, code, message}; status 0 means
 * the network failed. `code` is the server's error code (`conflict`, `forbidden`, …).
 */
export async function request(method, path, { json, body, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers };
  let payload = body;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  }
  if (method !== 'GET' && method !== 'HEAD') h['X-CSRF-Token'] = await csrf();
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: h,
      body: payload,
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    return { ok: false, status: 0, data: null, code: 'network', message: '' };
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (res.ok) return { ok: true, status: res.status, data, code: '', message: '' };
  // Errors come as {"error":{"code","message"}}; newer endpoints may answer
  // {"error":"code","message":"…"}: both read the same.
  let err = {};
  if (data && typeof data === 'object' && data.error && typeof data.error === 'object') err = data.error;
  else if (data && typeof data === 'object' && typeof data.error === 'string') err = { code: data.error, message: data.message };
  if (res.status === 401) signedOut();
  return {
    ok: false,
    status: res.status,
    data,
    code: typeof err.code === 'string' ? err.code : '',
    message: typeof err.message === 'string' ? err.message : '',
  };
}

/** The session ended: to the sign-in page, back to this section afterwards. */
function signedOut() {
  const path = /^\/app\/[a-z]+$/.test(location.pathname) ? location.pathname : '/app/chats';
  location.assign(`/login?next=${path}`);
}

/** A failed request in words (network, CSRF, permission, rate limit, anything else). */
export function httpError(res) {
  if (res.status === 0) return t('dashboard.http.network');
  if (res.status === 403 && res.code === 'csrf_rejected') return t('dashboard.http.csrf');
  if (res.status === 403) return t('dashboard.http.forbidden');
  if (res.status === 429) return t('dashboard.http.too_many');
  return t('dashboard.http.failed');
}

/** The server's refusal with its own message (validation details), else the usual words. */
export function serverError(res) {
  if (res.status === 0 || res.status === 403 || res.status === 429) return httpError(res);
  if (res.message) return t('dashboard.settings.refused', { message: res.message });
  return httpError(res);
}
