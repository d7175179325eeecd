/* kontor widget loader. Embed:
     <script src="https://CHAT.HOST/widget.js" data-site="SITE_KEY" async></script>
   Until the visitor clicks it sets no cookie, writes no browser storage, opens no socket and
   creates no iframe: it fetches the site's widget config (no credentials) and shows a button.
   The chat itself runs in an iframe on the chat server's origin (/widget/frame).
   If the site monitors visitors, page views go to /api/track (see track below). */
(() => {
  "use strict";
  const d = document;
  const w = window;
  const script = d.currentScript;
  const site = script && script.dataset.site;
  if (!site || (w.kontor && w.kontor.loaded)) return;
  const base = new URL(script.src, location.href).origin;
  const KEY = "kontor-open"; // sessionStorage: "open" | "min", only after the visitor opted in
  const earlier = (w.kontor && w.kontor.q) || [];
  const queue = [];
  let ready = false;
  let isOpen = false;
  let started = false;
  let frameReady = false;
  let wantFocus = false;
  let frame, panel, btn, badge, unreadText, lang, text;
  let card, inv, greet;
  let vp = Promise.resolve(); // the current page view's report
  let unread = 0;
  // kontor('identify') and kontor('department'): kept in this page's memory only, handed to
  // the frame, which fills its forms with them; nothing is sent before the visitor's opt-in.
  let ident = null;
  let dept = "";
  // kontor('on', event, fn): the page's handlers.
  const handlers = { open: [], close: [], message: [], unread: [] };
  const emit = (ev, arg) => {
    for (const f of handlers[ev]) {
      try {
        f(arg);
      } catch (e) {
        console.error("kontor: an", ev, "handler failed:", e);
      }
    }
  };
  const cut = (v, n) => (typeof v === "string" ? [...v.trim()].slice(0, n).join("") : "");

  // The widget's languages. Which one: the page's <html lang> if it is one of them, else the
  // browser's first one of them (navigator.languages), else the site's default (the server
  // decides that), else English.
  const LANGS = ["en", "de", "fr", "es", "it", "nl", "pl"];
  const EN = { title: "Chat", unread: "Unread messages: {n}", invitation: "Chat invitation", accept: "Start chat", dismiss: "No thanks" };
  const primary = (tag) => String(tag || "").toLowerCase().split(/[-_]/)[0];
  const wanted = () => {
    const page = primary(d.documentElement.lang);
    if (LANGS.includes(page)) return page;
    const browser = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]).map(primary);
    return browser.find((l) => LANGS.includes(l)) || "";
  };

  const api = (cmd, ...a) => {
    // These need no widget yet: a handler registered, a name remembered for the frame.
    if (cmd === "on") {
      if (handlers[a[0]] && typeof a[1] === "function") handlers[a[0]].push(a[1]);
      return;
    }
    if (cmd === "identify") {
      const o = a[0] && typeof a[0] === "object" ? a[0] : {};
      ident = { kontor: "identify", name: cut(o.name, 100), email: cut(o.email, 254) };
      return void post(ident);
    }
    if (cmd === "department") {
      dept = cut(a[0], 100);
      return void (dept && post({ kontor: "department", name: dept }));
    }
    if (!ready) return void queue.push([cmd, ...a]);
    // kontor('goal', 'order', 49.9): a goal reached on this page, after its page view.
    if (cmd === "goal") return void (pv && vp.then(() => send({ t: "goal", pv, name: String(a[0]), value: +a[1] || undefined })));
    // Focus follows only when a visitor's action triggered the call (not on page load).
    const act = !navigator.userActivation || navigator.userActivation.isActive;
    if (cmd === "open") show(act);
    else if (cmd === "close") hide(false);
    else if (cmd === "toggle") isOpen ? hide(false) : show(act);
  };
  api.loaded = true;
  w.kontor = api;

  // Storage is touched only after the frame said the visitor opted in ("started").
  const remember = (v) => {
    try {
      if (v) sessionStorage.setItem(KEY, v);
      else sessionStorage.removeItem(KEY);
    } catch (e) {
      /* storage blocked: the panel just will not reopen by itself */
    }
  };
  const recall = () => {
    try {
      return sessionStorage.getItem(KEY);
    } catch (e) {
      return null;
    }
  };

  const el = (tag, props, ...kids) => {
    const e = d.createElement(tag);
    for (const k in props) {
      if (k.startsWith("aria-") || k === "role") e.setAttribute(k, props[k]);
      else e[k] = props[k];
    }
    e.append(...kids);
    return e;
  };
  const svg = (paths) => {
    const NS = "http://www.w3.org/2000/svg";
    const s = d.createElementNS(NS, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    for (const p of paths) {
      const e = d.createElementNS(NS, "path");
      e.setAttribute("d", p);
      s.append(e);
    }
    return s;
  };

  const CSS =
    "*{box-sizing:border-box}" +
    ".l{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:56px;height:56px;margin:0;padding:0;" +
    "border:0;border-radius:50%;background:var(--k-bg);color:var(--k-fg);cursor:pointer;display:flex;" +
    "align-items:center;justify-content:center;box-shadow:0 2px 10px rgba(0,0,0,.3);outline:2px solid transparent}" +
    ".l:hover{filter:brightness(.92)}" +
    ".l:focus-visible{box-shadow:0 0 0 3px #fff,0 0 0 6px #1b1f24}" +
    ".l svg{width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}" +
    ".l .x,.l[aria-expanded=true] .c{display:none}.l[aria-expanded=true] .x{display:block}" +
    ".b{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;" +
    "background:#b3261e;color:#fff;font:700 12px/22px system-ui,sans-serif;text-align:center;box-shadow:0 0 0 2px #fff}" +
    ".p,.i{position:fixed;bottom:88px;right:20px;z-index:2147483000;max-width:calc(100vw - 40px);" +
    "border-radius:12px;background:#fff;box-shadow:0 8px 32px rgba(0,0,0,.3)}" +
    ".p{width:380px;height:600px;max-height:calc(100vh - 108px);overflow:hidden}" +
    ".i{width:300px;padding:14px 16px;border:1px solid transparent;color:#1b1f24;font:15px/1.45 system-ui,sans-serif}" +
    ".i p{margin:0 0 12px;white-space:pre-wrap;overflow-wrap:anywhere}.i .n{margin:0;font-weight:700}" +
    ".i button{margin-right:8px;padding:7px 12px;border:1px solid #8c959f;border-radius:6px;background:#fff;" +
    "color:inherit;font:inherit;font-weight:600;cursor:pointer}" +
    "#kontor-invite-accept{background:var(--k-bg);color:var(--k-fg);border-color:var(--k-bg)}" +
    ".i :focus-visible{outline:3px solid #1b1f24;outline-offset:2px}" +
    ".left .l,.left .p,.left .i{right:auto;left:20px}" +
    "[hidden]{display:none!important}" +
    "iframe{display:block;width:100%;height:100%;border:0}" +
    ".s{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    // Small screens: the open panel fills the viewport (the frame's header has the close button).
    "@media (max-width:480px),(max-height:520px){.w .p{top:0;left:0;right:0;bottom:0;width:auto;height:auto;" +
    "max-width:none;max-height:none;border-radius:0}.w .l[aria-expanded=true]{display:none}}";

  // Black or white on the site colour, whichever contrasts more.
  const contrast = (hex) => {
    const c = hex.length === 4 ? hex.replace(/\w/g, "$&$&") : hex;
    const l = [1, 3, 5]
      .map((i) => parseInt(c.slice(i, i + 2), 16) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    const y = 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
    return 1.05 / (y + 0.05) >= (y + 0.05) / 0.05 ? "#fff" : "#111";
  };

  const post = (msg) => {
    // Only to our own origin, and only once the frame shows our page.
    if (frame && frameReady) frame.contentWindow.postMessage(msg, base);
  };
  const tell = () => {
    post(isOpen ? { kontor: "shown", focus: wantFocus } : { kontor: "hidden" });
    if (greet && frameReady) {
      post(greet);
      greet = null;
    }
  };

  // What the page said about the visitor, to a frame that just loaded.
  const introduce = () => {
    if (ident) post(ident);
    if (dept) post({ kontor: "department", name: dept });
  };

  const setBadge = (n) => {
    if (n !== unread) {
      unread = n;
      emit("unread", n);
    }
    badge.hidden = !n;
    badge.textContent = n > 99 ? "99+" : String(n);
    unreadText.textContent = n ? text.unread.replace("{n}", n) : "";
  };

  const makeFrame = () => {
    if (frame) return;
    frame = el("iframe", {
      title: text.title,
      src: `${base}/widget/frame?site=${encodeURIComponent(site)}&lang=${lang}`,
      referrerPolicy: "origin", // the frame learns which site embeds it, never the page path
    });
    frame.addEventListener("load", () => {
      frameReady = true;
      introduce();
      tell();
      wantFocus = false;
    });
    panel.append(frame);
  };

  function show(focus) {
    // Opening the chat accepts a shown invitation.
    if (card) {
      greet = { kontor: "invited", agent: str(inv.agent), text: str(inv.text) };
      closeCard("accepted");
    }
    makeFrame();
    const was = isOpen;
    isOpen = true;
    panel.hidden = false;
    btn.setAttribute("aria-expanded", "true");
    setBadge(0);
    if (started) remember("open");
    wantFocus = !!focus;
    if (focus) frame.focus();
    if (frameReady) {
      tell();
      wantFocus = false;
    }
    if (!was) emit("open");
  }

  function hide(focusButton) {
    if (!panel || !isOpen) return;
    const inside = panel.contains(shadowFocus());
    isOpen = false;
    panel.hidden = true;
    btn.setAttribute("aria-expanded", "false");
    if (started) remember("min");
    tell();
    if (focusButton || inside) btn.focus();
    emit("close");
  }

  let root;
  const shadowFocus = () => root && root.activeElement;

  // ---- Visitor monitoring ("anonymous" | "consented"): page views to /api/track, no credentials
  const VID = "kontor-vid";
  const trackUrl = `${base}/api/track?site=${encodeURIComponent(site)}`;
  let mode, strip, vid, pv, viewed, timer; // vid undefined: not in the JSON; timer 0: hidden
  let path = location.pathname;
  const str = (v) => (typeof v === "string" ? v : "");
  const hex = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");

  // utm_* stay, other parameters go as the site says; no fragment, no user:password.
  const clean = (href) => {
    try {
      const u = new URL(href);
      for (const k of [...u.searchParams.keys()]) {
        if (!k.startsWith("utm_") && (strip.includes("*") || strip.includes(k))) u.searchParams.delete(k);
      }
      u.hash = u.username = u.password = "";
      return u.href.slice(0, 2000);
    } catch {
      return "";
    }
  };

  const send = (o) =>
    fetch(trackUrl, { method: "POST", body: JSON.stringify(o), credentials: "omit", keepalive: true, mode: "cors" })
      .then((r) => r.ok && r.json())
      .then((a) => {
        // again: the server forgot this page view
        if (a && a.again) o.pv === pv && timer && view();
        else if (a && a.invite) offer(a.invite);
      })
      .catch(() => {});
  const view = () => {
    viewed = true;
    const title = [...d.title].slice(0, 300).join(""); // whole characters
    const size = screen.width + "x" + screen.height;
    const url = clean(location.href);
    vp = send({ t: "view", pv, url, title, ref: clean(d.referrer), lang: navigator.language || "", ui: lang, screen: size, vid });
  };
  const ping = () => send({ t: "ping", pv, vid });
  const wake = () => {
    if (d.visibilityState !== "visible" || timer) return;
    viewed ? ping() : view();
    timer = setInterval(ping, 5000);
  };
  const leave = () => {
    if (!timer) return;
    clearInterval(timer);
    timer = 0;
    const o = { t: "leave", pv };
    try {
      if (navigator.sendBeacon(trackUrl, new Blob([JSON.stringify(o)], { type: "text/plain;charset=UTF-8" }))) return;
    } catch {}
    send(o);
  };
  // SPA navigation: a new page view.
  const nav = () => {
    if (location.pathname === path) return;
    path = location.pathname;
    leave();
    pv = hex(8);
    viewed = false;
    setTimeout(wake);
  };

  const track = (conf) => {
    mode = conf.tracking;
    if (mode !== "anonymous" && mode !== "consented") return; // "off": nothing is sent
    strip = Array.isArray(conf.strip) ? conf.strip : ["*"];
    try {
      if (mode === "consented") vid = localStorage.getItem(VID);
    } catch {}
    if (!/^[0-9a-f]{32}$/.test(vid)) vid = undefined;
    pv = hex(8);
    for (const k of ["pushState", "replaceState"]) {
      const f = history[k];
      history[k] = function (...a) {
        const r = f.apply(this, a);
        nav();
        return r;
      };
    }
    w.addEventListener("popstate", nav);
    d.addEventListener("visibilitychange", () => (d.visibilityState === "visible" ? wake() : leave()));
    w.addEventListener("pagehide", leave);
    wake();
  };

  // Opt-in: in consented mode, a visitor id from now on.
  const optedIn = () => {
    if (mode !== "consented") return;
    if (!vid) {
      vid = hex(16);
      try {
        localStorage.setItem(VID, vid);
      } catch {}
    }
    if (viewed) ping();
  };

  // ---- Invitations: a card by the launcher (never takes focus)
  const report = (result) => send({ t: "invite", pv, id: inv.id, result });
  const offer = (i) => {
    if (card || started || isOpen || !Number.isSafeInteger(i.id)) return;
    const agent = str(i.agent);
    const says = el("p", { id: "kontor-invite-text", "aria-live": "polite" });
    const b = (id, label, f) => el("button", { type: "button", id: "kontor-invite-" + id, textContent: label, onclick: f });
    const c = (card = el(
      "div",
      {
        className: "i",
        id: "kontor-invite",
        role: "dialog",
        "aria-label": text.invitation + (agent && ": " + agent),
      },
      el("p", { className: "n", textContent: agent }),
      says,
      b("accept", text.accept, () => show(true)),
      b("dismiss", text.dismiss, () => closeCard("dismissed")),
    ));
    inv = i;
    btn.after(c);
    // Filled once the live region exists: announced.
    setTimeout(() => card === c && ((says.textContent = str(i.text)), report("shown")), 50);
  };
  const closeCard = (result) => {
    const had = card.contains(shadowFocus());
    card.remove();
    card = null;
    report(result);
    if (had) btn.focus();
  };

  const build = (conf) => {
    const color = /^#([0-9a-f]{3}){1,2}$/i.test(conf.color) ? conf.color : "#0a5bd3";
    // The server chose the language from what we asked for (see wanted) and the site's default.
    lang = LANGS.includes(conf.ui_lang) ? conf.ui_lang : "en";
    const T = conf.text || {};
    text = {};
    for (const k of ["title", "unread", "invitation", "accept", "dismiss"]) text[k] = str(T[k]) || EN[k];

    const host = d.createElement("kontor-chat");
    // The page's CSS cannot reach into the shadow root; this keeps it off the host, too.
    host.style.setProperty("all", "initial", "important");
    host.style.setProperty("--k-bg", color);
    host.style.setProperty("--k-fg", contrast(color));
    root = host.attachShadow({ mode: "open" });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.append(el("style", { textContent: CSS }));
    }

    unreadText = el("span", { className: "s", id: "kontor-unread" });
    badge = el("span", { className: "b", hidden: true, "aria-hidden": "true" });
    btn = el(
      "button",
      {
        type: "button",
        className: "l",
        "aria-label": text.title,
        "aria-expanded": "false",
        "aria-controls": "kontor-panel",
        "aria-describedby": "kontor-unread",
      },
      svg(["M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"]),
      svg(["M6 6l12 12", "M18 6L6 18"]),
      badge,
    );
    btn.firstChild.classList.add("c");
    btn.children[1].classList.add("x");
    panel = el("div", { className: "p", id: "kontor-panel", role: "region", "aria-label": text.title, hidden: true });
    const wrap = el("div", { className: conf.position === "bottom-left" ? "w left" : "w" }, btn, panel, unreadText);
    root.append(wrap);
    root.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      if (card && card.contains(shadowFocus())) closeCard("dismissed");
      else if (isOpen) hide(true);
      else return;
      e.stopPropagation();
    });
    btn.addEventListener("click", () => (isOpen ? hide(true) : show(true)));
    d.body.append(host);

    w.addEventListener("message", (e) => {
      if (!frame || e.source !== frame.contentWindow || e.origin !== base) return;
      const m = e.data;
      if (!m || typeof m !== "object") return;
      if (m.kontor === "close") hide(true);
      else if (m.kontor === "started") {
        started = true;
        remember(isOpen ? "open" : "min");
        optedIn();
      } else if (m.kontor === "ended") {
        started = false;
        remember(null);
      } else if (m.kontor === "unread" && Number.isInteger(m.count)) {
        setBadge(isOpen ? 0 : Math.max(0, m.count));
      } else if (m.kontor === "message" && (m.author === "agent" || m.author === "visitor")) {
        // Who wrote, never what: the chat's words stay in the frame.
        emit("message", { author: m.author });
      }
    });

    // The visitor opted in on an earlier page of this tab: bring the chat back as it was.
    const was = recall();
    if (was === "open" || was === "min") {
      started = true;
      if (was === "open") show(false);
      else makeFrame();
    }
    ready = true;
    track(conf);
    for (const cmd of queue.splice(0)) api(...cmd);
  };

  // Calls made before the loader arrived (the stub's queue), in their order.
  for (const args of earlier) typeof args === "string" ? api(args) : args && api(...args);

  fetch(`${base}/api/widget/config?site=${encodeURIComponent(site)}&lang=${wanted()}`, { credentials: "omit" })
    .then((r) => {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    })
    .then((conf) =>
      d.body
        ? build(conf)
        : new Promise((ok) => d.addEventListener("DOMContentLoaded", () => ok(build(conf)))),
    )
    .catch((e) => console.warn("kontor: chat widget unavailable:", e && e.message));
})();
