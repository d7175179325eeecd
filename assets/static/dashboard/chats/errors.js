// Socket errors in the Chats section's words.

import { t, has } from '../i18n.js';
import { CHAT_ERRORS } from '../../shared/errors.js';

/** An error code in words: ours when we know it, else the server's message. */
export function errorText(code, message) {
  const key = `dashboard.error.${code}`;
  return CHAT_ERRORS.has(code) && has(key) ? t(key) : message || t('dashboard.error.unknown');
}
