// kontor agent dashboard: entry point. Loads the strings, opens the agent socket on every
// section (for the waiting-chat badge and alerts) and mounts the section's UI: visitors, chats,
// history, statistics, settings or privacy.

import { load as loadStrings } from './i18n.js';
import { agentSocket } from './connection.js';
import { ChatModel } from './model.js';
import { VisitorsModel } from './visitors-model.js';
import { mountAlerts } from './alerts.js';
import { mountTeamChat } from './team-chat.js';

function currentSection() {
  const fromServer = document.body.dataset.section;
  if (fromServer) return fromServer;
  const m = /^\/app\/([a-z]+)/.exec(location.pathname);
  return m ? m[1] : '';
}

/**
 * Each section's classes on the page's body, its module and how it mounts. Every section is a
 * page of its own, so a page loads only its section's modules (imported when the page starts),
 * not every section's: the Chats page an agent keeps open all day is a third of the whole.
 */
const SECTIONS = {
  visitors: { classes: ['app-section', 'visitors-section'], load: () => import('./visitors.js'), start: (m, root, { visitors, conn }) => m.mountVisitors(root, visitors, conn) },
  chats: { classes: ['chats-section'], load: () => import('./chats.js'), start: (m, root, { model, conn, visitors }) => m.mountChats(root, model, conn, visitors) },
  history: { classes: ['app-section'], load: () => import('./history.js'), start: (m, root) => m.mountHistory(root) },
  statistics: { classes: ['app-section'], load: () => import('./statistics.js'), start: (m, root) => m.mountStatistics(root) },
  settings: { classes: ['app-section'], load: () => import('./settings.js'), start: (m, root) => m.mountSettings(root) },
  privacy: { classes: ['app-section'], load: () => import('./privacy.js'), start: (m, root) => m.mountPrivacy(root) },
};

async function main() {
  const section = currentSection();
  const root = document.getElementById('section-app');
  const mount = root && Object.hasOwn(SECTIONS, section) ? SECTIONS[section] : null;
  // The section's modules load while the strings do.
  const loading = mount ? mount.load() : null;
  await loadStrings();
  const me = document.querySelector('.topbar .me strong');
  const model = new ChatModel(me ? me.textContent.trim() : '');
  const conn = agentSocket(() => model.hello());
  model.attach(conn);
  mountAlerts(model, { section });
  mountTeamChat(conn);
  // Live visitors are kept only where they are shown: the list, and the visitor panel of chats.
  let visitors = null;
  if (root && (section === 'visitors' || section === 'chats')) {
    visitors = new VisitorsModel(model);
    visitors.attach(conn);
  }
  if (mount) {
    document.body.classList.add(...mount.classes);
    // Mounted before the socket starts, so the section hears the first frames.
    mount.start(await loading, root, { model, conn, visitors });
  }
  model.syncClock();
  conn.start();
}

main();
