// The chat of this tab, kept in this frame's sessionStorage (kontor's origin, this tab only)
// so that a page change on the customer's site resumes it. Written only after opt-in; removed
// after the rating or on "New chat".

import { cfg } from "./config.js";
import { epochOf } from "../shared/socket.js";
import { chat } from "./state.js";

const STORE_KEY = "kontor-chat:" + cfg.site;

/** { token, conversation_id, last_seq, epoch, pending: [{id, text}] }, or null. */
export function readSaved() {
  try {
    const raw = sessionStorage.getItem(STORE_KEY);
    if (!raw) return null;
    const v = JSON.parse(raw);
    if (v && typeof v.token === "string" && v.token) {
      return {
        token: v.token,
        conversation_id: Number.isSafeInteger(v.conversation_id) ? v.conversation_id : 0,
        last_seq: Number.isSafeInteger(v.last_seq) ? v.last_seq : 0,
        epoch: epochOf(v.epoch),
        pending: Array.isArray(v.pending)
          ? v.pending.filter((p) => p && typeof p.id === "string" && typeof p.text === "string")
          : [],
      };
    }
  } catch {
    // storage blocked or garbage: behave as if nothing is stored
  }
  return null;
}

export function persist() {
  if (!chat.token) return; // nothing before the conversation exists
  const v = {
    token: chat.token,
    conversation_id: chat.conversationId,
    last_seq: chat.log.last,
    epoch: chat.epoch || undefined,
    pending: [...chat.pending.values()].map((p) => ({ id: p.clientId, text: p.text })),
  };
  try {
    sessionStorage.setItem(STORE_KEY, JSON.stringify(v));
  } catch {
    // storage full or blocked: the chat still works for this page
  }
}

export function forget() {
  try {
    sessionStorage.removeItem(STORE_KEY);
  } catch {
    // ignore
  }
}
