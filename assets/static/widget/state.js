// The conversation as this frame holds it: one object, set back for a new chat.

import { ChatLog, Outbox } from "../shared/socket.js";

const blank = () => ({
  token: "", // the chat's secret (from `welcome`): resume, files, transcript
  conversationId: 0,
  seenSeq: 0, // entries up to this were shown before (on an earlier page): not unread
  epoch: "", // the log's identity from the last `welcome`, sent back in `resume`
  status: "", // waiting | open | closed
  agentName: "",
  startParams: null, // the start frame while no token exists yet
  startSent: false, // the start frame went out on a socket, no welcome yet
  firstResume: true, // no welcome yet on this page: the resume asks for the whole log
  ended: false,
  rated: false,
  wantEnd: false,
  rateFrame: null,
});

export const chat = {
  ...blank(),
  // seq -> element (null: an entry held but not shown); log.last: resume from here.
  log: new ChatLog(),
  // client_id -> { text, el }: the visitor's messages without their ack yet.
  pending: new Outbox((p) => ({ type: "message", client_id: p.clientId, text: p.text })),
};

/** No chat: every field as before the visitor opted in. */
export function clearChat() {
  Object.assign(chat, blank());
  chat.log.clear();
  chat.pending.clear();
}
