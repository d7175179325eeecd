// Files in the chat: sending one (an upload over HTTP, retried with the same client_id),
// showing one as a download button, downloading one. Uploaded content is never shown inline.

import { $, cfg, routed } from "./config.js";
import { t } from "./i18n.js";
import { chat } from "./state.js";
import { persist } from "./storage.js";
import { setError } from "./views.js";
import { bubble, appendAtEnd, settle } from "./log.js";
import { newClientId } from "../shared/socket.js";
import { CODES as C } from "../shared/errors.js";
import { MAX_FILE_BYTES, FILE_TYPES, FILE_EXT } from "../shared/limits.js";

// Files being downloaded, by id: a second click waits for the first.
const downloading = new Set();

// The `file` of a message frame or an upload answer, if it is one we can offer.
export function fileOf(v) {
  if (!v || typeof v !== "object" || !Number.isSafeInteger(v.id) || typeof v.name !== "string") return null;
  return { id: v.id, name: v.name || "file", size: Number.isSafeInteger(v.size) && v.size >= 0 ? v.size : 0 };
}

// In the frame's language, units too ("1,5 Mo" in French).
function sizeText(n) {
  const num = (v, unit) => v.toLocaleString(cfg.lang, { style: "unit", unit, unitDisplay: "short", maximumFractionDigits: 1 });
  if (n < 1024) return num(n, "byte");
  if (n < 1024 * 1024) return num(n / 1024, "kilobyte");
  return num(n / (1024 * 1024), "megabyte");
}

function fileIcon() {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "file-icon");
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", "M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8zM14 3v5h5M12 11v6M9.5 14.5L12 17l2.5-2.5");
  svg.append(path);
  return svg;
}

// "name (size)": a button that downloads the file once it has an id, plain text before.
function fileControl(file) {
  const label = `${file.name} (${sizeText(file.size)})`;
  let el;
  if (file.id) {
    el = document.createElement("button");
    el.type = "button";
    el.setAttribute("aria-label", t("widget.file_download", { name: file.name, size: sizeText(file.size) }));
    el.addEventListener("click", () => downloadFile(file, el));
  } else {
    el = document.createElement("span");
  }
  el.className = "file";
  const name = document.createElement("span");
  name.textContent = label;
  el.append(fileIcon(), name);
  return el;
}

export function fileBubble(role, file, who, at) {
  const el = bubble(role, "", who, at);
  el.classList.add("msg-file");
  el.querySelector(".text").append(fileControl(file));
  return el;
}

// Where a file error shows: under the composer, or (after the end) under the transcript button.
function fileErrorId() {
  return $("composer").hidden ? "transcript-error" : "msg-error";
}

export function updateFileInput() {
  $("file").disabled = !chat.token || chat.status === "closed" || chat.ended;
}

function checkFile(file) {
  if (file.size > MAX_FILE_BYTES) return "widget.file_too_large";
  const typeOk = file.type ? FILE_TYPES.includes(file.type) : FILE_EXT.test(file.name);
  return typeOk && file.size > 0 ? "" : "widget.file_type";
}

// A refused upload's text, by the error code of the answer.
const UPLOAD_ERRORS = {
  [C.not_found]: "widget.file_no_chat",
  [C.conversation_closed]: "widget.file_chat_ended",
  [C.file_too_large]: "widget.file_too_large",
  [C.unsupported_file_type]: "widget.file_type",
  [C.upload_limit]: "widget.file_limit",
  [C.quota_exceeded]: "widget.file_quota",
};

async function uploadFile(file) {
  setError("msg-error", "");
  if (chat.status === "closed" || chat.ended) return setError("msg-error", t("widget.file_chat_ended"));
  if (!chat.token) return setError("msg-error", t("widget.file_error"));
  const bad = checkFile(file);
  if (bad) return setError("msg-error", t(bad));
  const token = chat.token;
  const clientId = newClientId();
  const el = fileBubble("visitor", { id: 0, name: file.name, size: file.size }, t("widget.you"), Date.now() / 1000);
  appendAtEnd(el, t("widget.file_uploading"));

  const url =
    `/api/widget/files?site=${encodeURIComponent(cfg.site)}` +
    `&name=${encodeURIComponent(file.name)}&client_id=${encodeURIComponent(clientId)}`;
  let status = 0;
  let code = "";
  let answer = null;
  // Network errors and 503 ("retry") are tried again with the same client_id: stored once.
  for (let i = 0; i < 3; i++) {
    try {
      const r = await fetch(url, {
        method: "POST",
        headers: { "X-Kontor-Token": token },
        body: file,
        credentials: "same-origin",
        cache: "no-store",
        // The server checks Origin on this POST: send ours (and only the origin).
        referrerPolicy: "origin",
      });
      status = r.status;
      if (r.ok) {
        answer = await r.json().catch(() => ({}));
        break;
      }
      const refusal = await r.json().catch(() => null);
      code = typeof refusal?.error?.code === "string" ? refusal.error.code : "";
    } catch {
      status = 0;
    }
    if ((status !== 0 && status !== 503) || i === 2 || chat.token !== token) break;
    await new Promise((res) => setTimeout(res, 1000 * (i + 1)));
  }
  if (chat.token !== token) {
    el.remove(); // the visitor left this chat meanwhile
    return;
  }
  if (!answer) {
    el.remove();
    setError(fileErrorId(), t(Object.hasOwn(UPLOAD_ERRORS, code) ? UPLOAD_ERRORS[code] : "widget.file_error"));
    return;
  }
  const seq = answer.seq;
  const stored = fileOf(answer.file);
  if (!Number.isSafeInteger(seq) || !stored || chat.log.has(seq)) {
    // Our socket showed it already (or will: it goes to every socket of the chat).
    el.remove();
    return;
  }
  el.querySelector(".file").replaceWith(fileControl(stored));
  // Held at its place; the log's last contiguous seq passes it once every entry before it is held too.
  settle(el, seq);
  persist();
}

/**
 * A POST with the chat's token in its body (never in a URL). The page's Referrer-Policy is
 * no-referrer, under which a POST would carry "Origin: null"; the server checks Origin, so
 * send it (and only the origin).
 */
export function postWithToken(path) {
  return fetch(routed(path), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: chat.token }),
    credentials: "same-origin",
    cache: "no-store",
    referrerPolicy: "origin",
  });
}

async function downloadFile(file, btn) {
  if (downloading.has(file.id)) return;
  downloading.add(file.id);
  btn.setAttribute("aria-busy", "true");
  setError(fileErrorId(), "");
  try {
    const r = await postWithToken(`/api/widget/files/${file.id}`);
    if (!r.ok) throw new Error(String(r.status));
    saveBlob(await r.blob(), file.name);
  } catch {
    setError(fileErrorId(), t("widget.file_download_error"));
  } finally {
    downloading.delete(file.id);
    btn.removeAttribute("aria-busy");
  }
}

// Saves through a temporary object URL and an <a download>; nothing is opened or shown.
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

export function setupFiles() {
  $("file").addEventListener("change", (e) => {
    const input = e.target;
    const files = [...(input.files || [])];
    input.value = ""; // the same file may be chosen again
    for (const f of files) uploadFile(f);
  });
}
