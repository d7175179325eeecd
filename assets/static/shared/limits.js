// The limits the server enforces on what the pages send, in one place for the widget and the
// dashboard. Text limits count characters as the server does (Unicode scalar values, Rust's
// `chars().count()`), not UTF-16 units: an emoji is one character, not two.

/** A chat message or internal note (domain/protocol.rs MAX_TEXT_CHARS), an offline message, a canned response. */
export const MAX_TEXT_CHARS = 4000;
/** The comment of a rating. */
export const MAX_COMMENT_CHARS = 1000;
/** A visitor's name. */
export const MAX_NAME_CHARS = 100;
/** The text of an invitation, sent by hand or by a rule (MAX_INVITE_TEXT). */
export const MAX_INVITE_CHARS = 500;

/** A chat file: the server decides the type from the bytes; these spare a pointless upload. */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
export const FILE_TYPES = Object.freeze(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf']);
/** For a file the browser gives no type. */
export const FILE_EXT = /\.(?:png|jpe?g|gif|webp|pdf)$/i;

/** The number of characters in `s`, counted as the server counts them. */
export function charCount(s) {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

/** `s` cut to at most `max` characters, never inside a surrogate pair. */
export function cutChars(s, max) {
  return s.length > max ? [...s].slice(0, max).join('') : s;
}

/**
 * Lets a text field take `max` characters. The `maxlength` attribute counts UTF-16 units, so
 * before each edit it is set to what the edit may add: the characters that still fit, exactly
 * when the typed or pasted text is known, else as many units as characters fit (then a
 * character that takes two units may stop one short). What an edit leaves is never over `max`
 * characters, and the field no longer stops earlier than the server would for text with
 * emoji. (The check before sending stays: it decides.)
 */
export function limitField(el, max) {
  const fit = (e) => {
    const v = el.value;
    const start = el.selectionStart ?? v.length;
    const end = el.selectionEnd ?? v.length;
    const kept = v.slice(0, start) + v.slice(end);
    const room = Math.max(0, max - charCount(kept));
    const text = e && typeof e.data === 'string' ? e.data : null;
    el.maxLength = kept.length + (text === null ? room : cutChars(text, room).length);
  };
  fit();
  el.addEventListener('beforeinput', fit);
  el.addEventListener('input', () => fit());
}
