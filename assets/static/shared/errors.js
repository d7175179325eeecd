// The error codes the widget and the dashboard act on. Every code comes from the server's
// one registry (src/error.rs, docs/errors.md), served as ./codes.js: a code that is not
// registered is `undefined` here and shows at once, instead of silently never matching.

import { CODES as C } from './codes.js';

export { C as CODES };

/** Every code of a socket `error` frame the pages know how to explain. */
export const SOCKET_ERRORS = Object.freeze([
  C.agent_unavailable,
  C.already_invited,
  C.already_started,
  C.already_taken,
  C.at_capacity,
  C.busy,
  C.closed,
  C.consent_required,
  C.conversation_closed,
  C.empty_message,
  C.forbidden,
  C.in_chat,
  C.internal_error,
  C.invalid_client_id,
  C.invalid_frame,
  C.invalid_input,
  C.invalid_rating,
  C.message_too_long,
  C.no_conversation,
  C.not_found,
  C.not_stored,
  C.queue_full,
  C.rate_limited,
  C.too_many_chats,
  C.unknown_conversation,
]);

/**
 * The frame was refused for now, not lost: the dashboard sends its unacknowledged replies and
 * notes again (same client_id) a little later. (The widget does so after `busy` and
 * `rate_limited`.)
 */
export const RETRY_LATER = new Set([C.busy, C.rate_limited, C.not_stored]);

/** Errors that answer a `transfer` frame. */
export const TRANSFER_ERRORS = new Set([C.agent_unavailable, C.not_found, C.invalid_input, C.busy, C.rate_limited]);

/** Errors the dashboard's chats explain in their own words (`dashboard.error.CODE`). */
export const CHAT_ERRORS = new Set([
  C.not_found,
  C.agent_unavailable,
  C.already_taken,
  C.at_capacity,
  C.rate_limited,
  C.busy,
  C.empty_message,
  C.message_too_long,
  C.invalid_frame,
  C.invalid_client_id,
  C.invalid_input,
  C.not_stored,
  C.internal_error,
]);

/** Errors of an invitation the visitors view explains (`dashboard.visitors.invite_error.CODE`). */
export const INVITE_ERRORS = new Set([C.not_found, C.already_invited, C.in_chat, C.rate_limited, C.busy]);
