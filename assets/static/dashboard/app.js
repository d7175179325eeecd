// kontor agent dashboard: entry point. Loads the strings, opens the agent socket on every
// section (for the waiting-chat badge and alerts) and mounts the section's UI: visitors, chats,
// history, statistics, settings or privacy.

import { load as loadStrings } from './i18n.js';
import { agentSocket } from './connection.js';
import { ChatModel } from './model.js';
import { VisitorsModel } from './visitors-model.js';
import { mountAlerts } from './alerts.js';
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

async function main() {
  const section = currentSection();
  await loadStrings();
  const me = document.querySelector('.topbar .me strong');
  const model = new ChatModel(me ? me.textContent.trim() : '');
  const conn = agentSocket(() => model.hello());
  model.attach(conn);
  mountAlerts(model, { section });
  const root = document.getElementById('section-app');
  // Live visitors are kept only where they are shown: the list, and the visitor panel of chats.
  let visitors = null;
  if (root && (section === 'visitors' || section === 'chats')) {
    visitors = new VisitorsModel(model);
    visitors.attach(conn);
  }
  if (root && section === 'visitors') {
    document.body.classList.add('app-section', 'visitors-section');
    mountVisitors(root, visitors, conn);
  } else if (root && section === 'chats') {
    document.body.classList.add('chats-section');
    mountChats(root, model, conn, visitors);
  } else if (root && section === 'history') {
    document.body.classList.add('app-section');
    mountHistory(root);
  } else if (root && section === 'statistics') {
    document.body.classList.add('app-section');
    mountStatistics(root);
  } else if (root && section === 'settings') {
    document.body.classList.add('app-section');
    mountSettings(root);
  } else if (root && section === 'privacy') {
    document.body.classList.add('app-section');
    mountPrivacy(root);
  }
  model.syncClock();
  conn.start();
}

main();
