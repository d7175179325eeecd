// kontor agent dashboard: entry point. Loads the strings, opens the agent socket on every
// section (for the waiting-chat badge and alerts) and mounts the section's UI: visitors, chats,
// history, statistics, settings or privacy.

import { load as loadStrings } from './i18n.js';
import { agentSocket } from './connection.js';
import { ChatModel } from './model.js';
import { VisitorsModel } from './visitors-model.js';
import { mountAlerts } from './alerts.js';
import { mountTeamChat } from './team-chat.js';
import { mountChats } from './chats.js';
import { mountVisitors } from './visitors.js';
import { mountHistory } from './history.js';
import { mountSettings } from './settings.js';
import { mountStatistics } from './statistics.js';
import { mountPrivacy } from './privacy.js';

function currentSection() {
  const fromServer = document.body.dataset.section;
  if (fromServer) return fromServer;
  const m = /^\/app\/([a-z]+)/.exec(location.pathname);
  return m ? m[1] : '';
}

/** Each section's classes on the page's body and what it mounts. */
const SECTIONS = {
  visitors: { classes: ['app-section', 'visitors-section'], start: (root, { visitors, conn }) => mountVisitors(root, visitors, conn) },
  chats: { classes: ['chats-section'], start: (root, { model, conn, visitors }) => mountChats(root, model, conn, visitors) },
  history: { classes: ['app-section'], start: (root) => mountHistory(root) },
  statistics: { classes: ['app-section'], start: (root) => mountStatistics(root) },
  settings: { classes: ['app-section'], start: (root) => mountSettings(root) },
  privacy: { classes: ['app-section'], start: (root) => mountPrivacy(root) },
};

async function main() {
  const section = currentSection();
  await loadStrings();
  const me = document.querySelector('.topbar .me strong');
  const model = new ChatModel(me ? me.textContent.trim() : '');
  const conn = agentSocket(() => model.hello());
  model.attach(conn);
  mountAlerts(model, { section });
  mountTeamChat(conn);
  const root = document.getElementById('section-app');
  // Live visitors are kept only where they are shown: the list, and the visitor panel of chats.
  let visitors = null;
  if (root && (section === 'visitors' || section === 'chats')) {
    visitors = new VisitorsModel(model);
    visitors.attach(conn);
  }
  const mount = root && Object.hasOwn(SECTIONS, section) ? SECTIONS[section] : null;
  if (mount) {
    document.body.classList.add(...mount.classes);
    mount.start(root, { model, conn, visitors });
  }
  model.syncClock();
  conn.start();
}

main();
