// kontor agent dashboard: entry point. Loads the strings, opens the agent socket on every
// section (for the waiting-chat badge and alerts) and, on /app/chats, mounts the chat UI.

import { load as loadStrings } from './i18n.js';
import { Connection } from './connection.js';
import { ChatModel } from './model.js';
import { mountAlerts } from './alerts.js';
import { mountChats } from './chats.js';

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
  const conn = new Connection(() => model.hello());
  model.attach(conn);
  mountAlerts(model, { section });
  if (section === 'chats') {
    const root = document.getElementById('section-app');
    if (root) {
      document.body.classList.add('chats-section');
      mountChats(root, model, conn);
    }
  }
  model.syncClock();
  conn.start();
}

main();
