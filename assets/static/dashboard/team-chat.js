// On every section: the team chat, a drawer opened from the top bar, beside whatever the agent
// is doing (docs/protocol.md, "Team chat"). Rooms and their unread counts come with each
// `team_rooms` after `ready`; new messages arrive as `team_message`; what the page missed (a
// gap in a room's numbers, or a room opened for the first time) is read over HTTP. What the
// agent writes is kept until its `team_ack` and sent again with the same client id after a
// reconnect, so nothing is lost and nothing is stored twice.

import { h, srOnly } from './dom.js';
import { t, tn, formatTime } from './i18n.js';
import { request } from './api.js';
import { Outbox } from '../shared/socket.js';

const SHOWN = 50; // messages read when a room opens
const RESEND_AFTER_MS = 10000;

/** One room as this page holds it. */
function newRoom(r) {
  return { room: r.room, kind: r.kind, name: r.name, last: 0, read: 0, msgs: new Map(), held: 0, loaded: false };
}

function roomLabel(r) {
  if (r.kind === 'all') return t('dashboard.teamchat.room_all');
  if (r.kind === 'department') return `# ${r.name}`;
  return r.name;
}

export function mountTeamChat(conn) {
  const me = document.querySelector('.topbar .me');
  if (!me) return;
  /** @type {Map<string, object>} */
  const rooms = new Map();
  let current = null;
  const pending = new Outbox((p) => ({ type: 'team_message', room: p.room, client_id: p.clientId, text: p.text }));

  const badge = h('span', { class: 'nav-badge', hidden: true });
  const toggle = h('button', {
    type: 'button', class: 'team-toggle', 'aria-expanded': 'false', 'aria-controls': 'team-chat', hidden: true,
  }, t('dashboard.teamchat.open'), ' ', badge);
  me.prepend(toggle);

  const list = h('ul', { class: 'team-rooms', 'aria-label': t('dashboard.teamchat.rooms') });
  const title = h('h3', { class: 'team-room-title', id: 'team-room-title' });
  const log = h('ol', { class: 'team-log', 'aria-labelledby': 'team-room-title', tabindex: '0' });
  const live = h('p', { class: 'team-status', role: 'status' });
  const text = h('textarea', { id: 'team-text', rows: '2', maxlength: '4000', 'aria-labelledby': 'team-room-title' });
  const send = h('button', { type: 'submit', class: 'primary' }, t('dashboard.teamchat.send'));
  const form = h('form', { class: 'team-compose', hidden: true, onsubmit: (e) => { e.preventDefault(); write(); } },
    h('label', { for: 'team-text', class: 'vh', text: t('dashboard.teamchat.message') }), text, send);
  const query = h('input', { type: 'search', id: 'team-q', maxlength: '200' });
  const search = h('form', { class: 'team-search', role: 'search', onsubmit: (e) => { e.preventDefault(); find(); } },
    h('label', { for: 'team-q', text: t('dashboard.teamchat.search') }), query,
    h('button', { type: 'submit' }, t('dashboard.teamchat.search_go')));
  const close = h('button', { type: 'button', class: 'team-close', onclick: () => show(false) }, t('dashboard.teamchat.close'));
  const drawer = h('aside', { id: 'team-chat', class: 'team-chat', 'aria-labelledby': 'team-chat-title', hidden: true },
    h('div', { class: 'team-head' }, h('h2', { id: 'team-chat-title', text: t('dashboard.teamchat.title') }), close),
    search, list, title, log, form, live);
  document.body.append(drawer);

  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); write(); }
  });
  drawer.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { show(false); toggle.focus(); }
  });
  toggle.addEventListener('click', () => show(drawer.hidden));

  function show(open) {
    drawer.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open) {
      if (!current && rooms.size) openRoom(rooms.keys().next().value);
      else if (current) markRead(rooms.get(current));
      (current ? text : close).focus();
    }
  }

  function unread(r) {
    return Math.max(0, r.last - r.read);
  }

  function renderRooms() {
    let total = 0;
    list.replaceChildren(...[...rooms.values()].map((r) => {
      const n = unread(r);
      total += n;
      const count = h('span', { class: 'unread-badge', hidden: n === 0 }, String(n), srOnly(tn('dashboard.teamchat.unread', n)));
      return h('li', {}, h('button', {
        type: 'button', class: 'team-room', 'aria-current': r.room === current ? 'true' : null,
        'data-room': r.room, onclick: () => openRoom(r.room),
      }, h('span', { class: 'team-room-name', text: roomLabel(r) }), count));
    }));
    badge.replaceChildren(String(total), srOnly(tn('dashboard.teamchat.unread', total)));
    badge.hidden = total === 0;
  }

  function entry(m, mine, waiting) {
    const when = formatTime(new Date(m.at * 1000));
    return h('li', { class: `team-msg${mine ? ' mine' : ''}${waiting ? ' pending' : ''}` },
      h('span', { class: 'team-author', text: mine ? t('dashboard.teamchat.you') : m.author_name }),
      ' ', h('time', { text: when }),
      waiting ? h('span', { class: 'team-state', text: ` · ${t('dashboard.teamchat.sending')}` }) : null,
      h('p', { text: m.text }));
  }

  function renderLog() {
    const r = current && rooms.get(current);
    if (!r) return;
    title.textContent = roomLabel(r);
    const mine = (m) => m.agent_id === myId;
    const rows = [...r.msgs.values()].sort((a, b) => a.seq - b.seq).map((m) => entry(m, mine(m), false));
    for (const p of pending.values()) {
      if (p.room === r.room) rows.push(entry({ text: p.text, at: p.at }, true, true));
    }
    if (!rows.length) rows.push(h('li', { class: 'team-empty', text: t('dashboard.teamchat.empty') }));
    const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.replaceChildren(...rows);
    if (atEnd) log.scrollTop = log.scrollHeight;
  }

  /** Reads a room's messages after `held` (all of them, page by page; the newest SHOWN at first). */
  async function catchUp(r) {
    let after = r.loaded ? r.held : Math.max(0, r.last - SHOWN);
    for (let pages = 0; pages < 20; pages += 1) {
      const res = await request('GET', `/api/team/rooms/${encodeURIComponent(r.room)}/messages?after=${after}`);
      if (!res.ok || !res.data) return;
      const v = res.data;
      for (const m of v.messages || []) r.msgs.set(m.seq, m);
      const seqs = (v.messages || []).map((m) => m.seq);
      if (seqs.length) after = Math.max(after, ...seqs);
      r.held = Math.max(r.held, after);
      r.loaded = true;
      if (!v.more) break;
    }
    r.last = Math.max(r.last, r.held);
    if (r.room === current) renderLog();
  }

  function openRoom(name) {
    const r = rooms.get(name);
    if (!r) return;
    current = name;
    form.hidden = false;
    renderRooms();
    renderLog();
    catchUp(r).then(() => markRead(r));
  }

  function markRead(r) {
    if (!r || drawer.hidden || document.hidden || r.read >= r.last) return;
    r.read = r.last;
    conn.send({ type: 'team_read', room: r.room, seq: r.last });
    renderRooms();
  }

  function write() {
    const body = text.value.trim();
    if (!body || !current) return;
    const p = pending.add({ room: current, text: body, at: Date.now() / 1000 });
    pending.transmit(conn, p);
    text.value = '';
    renderLog();
    log.scrollTop = log.scrollHeight;
  }

  async function find() {
    const q = query.value.trim();
    if (!q) return;
    const res = await request('GET', `/api/team/search?q=${encodeURIComponent(q)}`);
    if (!res.ok || !res.data) return;
    const v = res.data;
    const hits = v.messages || [];
    current = null;
    form.hidden = true;
    title.textContent = t('dashboard.teamchat.results', { q });
    log.replaceChildren(...(hits.length ? hits.map((m) => {
      const r = rooms.get(m.room);
      const li = entry(m, m.agent_id === myId, false);
      li.prepend(h('button', { type: 'button', class: 'link', onclick: () => openRoom(m.room) }, r ? roomLabel(r) : m.room), ' · ');
      return li;
    }) : [h('li', { class: 'team-empty', text: t('dashboard.teamchat.no_results') })]));
    live.textContent = tn('dashboard.teamchat.found', hits.length);
    renderRooms();
  }

  /** A message of a room at `seq`: kept, and the room read again over HTTP if numbers are missing. */
  function arrived(r, m) {
    r.last = Math.max(r.last, m.seq);
    if (!r.loaded) return; // read whole when opened
    r.msgs.set(m.seq, m);
    if (m.seq === r.held + 1) r.held = m.seq;
    else if (m.seq > r.held + 1) catchUp(r);
  }

  let myId = null;
  conn.addEventListener('frame', (e) => {
    const f = e.detail;
    if (!f || typeof f.type !== 'string') return;
    if (f.type === 'ready' && Number.isSafeInteger(f.agent_id)) myId = f.agent_id;
    else if (f.type === 'team_rooms') {
      toggle.hidden = false;
      // The list is whole: a room no longer listed (a department left) goes.
      const listed = new Set((Array.isArray(f.rooms) ? f.rooms : []).map((x) => x.room));
      for (const name of [...rooms.keys()]) {
        if (listed.has(name)) continue;
        rooms.delete(name);
        if (current === name) {
          current = null;
          form.hidden = true;
          log.replaceChildren();
          title.textContent = '';
        }
      }
      for (const x of Array.isArray(f.rooms) ? f.rooms : []) {
        const r = rooms.get(x.room) || newRoom(x);
        r.name = x.name;
        r.last = Math.max(r.last, x.last_seq);
        r.read = Math.max(r.read, x.read_seq);
        rooms.set(x.room, r);
        // What came while the socket was away.
        if (r.loaded && r.last > r.held) catchUp(r);
      }
      pending.resend(conn);
      renderRooms();
      if (current) markRead(rooms.get(current));
    } else if (f.type === 'team_message' && rooms.has(f.room)) {
      const r = rooms.get(f.room);
      arrived(r, f);
      if (r.room === current && !drawer.hidden) {
        renderLog();
        markRead(r);
      } else {
        live.textContent = t('dashboard.teamchat.announce', { name: f.author_name, room: roomLabel(r) });
      }
      renderRooms();
    } else if (f.type === 'team_ack') {
      const p = pending.answered(f.client_id, (x) => x.room === f.room);
      const r = rooms.get(f.room);
      if (!p || !r) return;
      arrived(r, { room: f.room, seq: f.seq, agent_id: myId, author_name: '', text: p.text, at: Math.floor(p.at) });
      r.read = Math.max(r.read, f.seq);
      renderRooms();
      if (r.room === current) renderLog();
    } else if (f.type === 'team_read' && rooms.has(f.room)) {
      const r = rooms.get(f.room);
      r.read = Math.max(r.read, f.seq);
      renderRooms();
    } else if (f.type === 'team_refused') {
      // Refused for good (empty, too long, a room that is gone): not sent again.
      if (!pending.answered(f.client_id, (x) => x.room === f.room)) return;
      live.textContent = f.message || '';
      if (f.room === current) renderLog();
    }
  });
  setInterval(() => pending.resendStale(conn, RESEND_AFTER_MS), RESEND_AFTER_MS / 2);
  document.addEventListener('visibilitychange', () => { if (current) markRead(rooms.get(current)); });
}
