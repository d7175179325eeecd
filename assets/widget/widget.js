/* kontor widget loader (docs/widget.md). Until the visitor clicks it sets no cookie, writes no
   storage, opens no socket and creates no iframe: it fetches the site's config and shows a
   button (and reports page views if the site monitors visitors). The chat runs in a frame on
   kontor's origin, whose scripts load only when it opens: what can wait belongs there. */
(() => {
  "use strict";
  const d = document;
  const w = window;
  const script = d.currentScript;
  const site = script && script.dataset.site;
  if (!site || (w.kontor && w.kontor.loaded)) return;
  const base = new URL(script.src, location.href).origin;
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
  // identify and department: in this page's memory only, for the frame's forms.
  let ident = null;
  let dept = "";
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
  const str = (v) => (typeof v === "string" ? v : "");

  const api = (cmd, ...a) => {
    // These need no widget yet (the frame trims and limits the values).
    if (cmd === "on") {
      if (handlers[a[0]] && typeof a[1] === "function") handlers[a[0]].push(a[1]);
      return;
    }
    if (cmd === "identify") {
      const o = a[0] && typeof a[0] === "object" ? a[0] : {};
      ident = { kontor: "identify", name: str(o.name), email: str(o.email) };
      return void post(ident);
    }
    if (cmd === "department") {
      dept = str(a[0]);
      return void (dept && post({ kontor: "department", name: dept }));
    }
    if (!ready) return void queue.push([cmd, ...a]);
    // A goal, after this page's view.
    if (cmd === "goal") return void (pv && vp.then(() => send({ t: "goal", pv, name: String(a[0]), value: +a[1] || undefined })));
    // Focus follows only when a visitor's action triggered the call (not on page load).
    const act = !navigator.userActivation || navigator.userActivation.isActive;
    if (cmd === "open") show(act);
    else if (cmd === "close") hide(false);
    else if (cmd === "toggle") isOpen ? hide(false) : show(act);
  };
  api.loaded = true;
  w.kontor = api;

  // The panel's state for later pages of this tab ("open" | "min"; null forgets it), written
  // only after the visitor opted in; session() reads it. Blocked storage: no reopening.
  const session = (v) => {
    const K = "kontor-open";
    try {
      if (v === undefined) return sessionStorage.getItem(K);
      v ? sessionStorage.setItem(K, v) : sessionStorage.removeItem(K);
    } catch {}
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
  const svg = (cls, ...paths) => {
    const NS = "http://www.w3.org/2000/svg";
    const s = d.createElementNS(NS, "svg");
    for (const [k, v] of [["class", cls], ["viewBox", "0 0 24 24"], ["aria-hidden", "true"], ["focusable", "false"]]) s.setAttribute(k, v);
    for (const p of paths) s.appendChild(d.createElementNS(NS, "path")).setAttribute("d", p);
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
    // Small screens: the panel fills them (the frame's header has the close button).
    "@media (max-width:480px),(max-height:520px){.w .p{top:0;left:0;right:0;bottom:0;width:auto;height:auto;" +
    "max-width:none;max-height:none;border-radius:0}.w .l[aria-expanded=true]{display:none}}";

  const post = (msg) => {
    // Only to our own origin, and only once the frame shows our page.
    if (frame && frameReady) frame.contentWindow.postMessage(msg, base);
  };
  const tell = () => {
    if (!frameReady) return;
    post(isOpen ? { kontor: "shown", focus: wantFocus } : { kontor: "hidden" });
    wantFocus = false;
    if (greet) post(greet);
    greet = null;
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
      referrerPolicy: "origin", // the site, never the page's path
    });
    frame.onload = () => {
      frameReady = true;
      if (ident) post(ident);
      if (dept) post({ kontor: "department", name: dept });
      tell();
    };
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
    if (started) session("open");
    wantFocus = !!focus;
    if (focus) frame.focus();
    tell();
    if (!was) emit("open");
  }

  function hide(focusButton) {
    if (!panel || !isOpen) return;
    const inside = panel.contains(shadowFocus());
    isOpen = false;
    panel.hidden = true;
    btn.setAttribute("aria-expanded", "false");
    if (started) session("min");
    tell();
    if (focusButton || inside) btn.focus();
    emit("close");
  }

  let root;
  const shadowFocus = () => root && root.activeElement;

  // ---- Visitor monitoring: page views to /api/track
  const VID = "kontor-vid";
  const trackUrl = `${base}/api/track?site=${encodeURIComponent(site)}`;
  let mode, strip, vid, pv, viewed, timer; // timer 0: hidden
  let path = location.pathname;
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
    if (mode === "off") return;
    strip = conf.strip;
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

  // ---- Invitations: a card by the button, never taking focus
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
    // Filled after the live region exists: announced.
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
    // The server chose the language, the texts in it and the text colour on the site's.
    lang = conf.ui_lang;
    text = conf.text;

    const host = d.createElement("kontor-chat");
    // The page's CSS cannot reach into the shadow root; this keeps it off the host too.
    host.style.setProperty("all", "initial", "important");
    host.style.setProperty("--k-bg", conf.color);
    host.style.setProperty("--k-fg", conf.fg);
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
      svg("c", "M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"),
      svg("x", "M6 6l12 12", "M18 6L6 18"),
      badge,
    );
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
        session(isOpen ? "open" : "min");
        optedIn();
      } else if (m.kontor === "ended") {
        started = false;
        session(null);
      } else if (m.kontor === "unread") {
        setBadge(isOpen ? 0 : m.count);
      } else if (m.kontor === "message") {
        // Who wrote, never what.
        emit("message", { author: m.author });
      }
    });

    // Opted in on an earlier page of this tab: the chat comes back as it was.
    const was = session();
    if (was === "open" || was === "min") {
      started = true;
      if (was === "open") show(false);
      else makeFrame();
    }
    ready = true;
    track(conf);
    for (const cmd of queue.splice(0)) api(...cmd);
  };

  // The stub's queue, in order.
  for (const args of earlier) typeof args === "string" ? api(args) : args && api(...args);

  fetch(`${base}/api/widget/config?site=${encodeURIComponent(site)}&lang=${encodeURIComponent(d.documentElement.lang)}`, { credentials: "omit" })
    .then((r) => {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    })
    .then((conf) => (d.body ? build(conf) : d.addEventListener("DOMContentLoaded", () => build(conf))))
    .catch((e) => console.warn("kontor: chat widget unavailable:", e && e.message));
})();
