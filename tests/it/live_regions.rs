//! What a screen reader hears, in headless Chromium against the real server: every change of
//! the chat frame's live regions is recorded as it happens (a MutationObserver on each element
//! with `aria-live`, `role=log`, `role=status` or `role=alert`), and the test checks what was
//! said: queue positions as they change, each message once, the connection state once per
//! change (not again at every retry), errors in the assertive region. The dashboard announces
//! a newly waiting visitor once. Reduced motion turns the widget's and dashboard's animations
//! off.

use crate::browser::shop;
use crate::common::Kontor;
use crate::webdriver::{Browser, Driver};
use serde_json::{Value, json};
use std::time::Duration;

/// Starts recording every text a live region gets: `window.__said` holds
/// `{region, role, live, text}` per node added or text changed.
const RECORD: &str = "
    window.__said = [];
    const live = (el) => el.getAttribute('aria-live') || ({log: 'polite', status: 'polite', alert: 'assertive'})[el.getAttribute('role')] || '';
    const watch = (el) => new MutationObserver((ms) => {
      for (const m of ms) {
        const texts = m.type === 'characterData' ? [m.target.data] : [...m.addedNodes].map((n) => n.textContent);
        for (const text of texts) {
          if (text && text.trim()) window.__said.push({ region: el.id || el.className, role: el.getAttribute('role') || '', live: live(el), text: text.trim() });
        }
      }
    }).observe(el, { childList: true, subtree: true, characterData: true });
    document.querySelectorAll('[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log]').forEach(watch);
    return true;
";

/// What the region with this id said, in order.
fn said(b: &Browser, region: &str) -> Vec<String> {
    let all = b.exec("return window.__said");
    all.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["region"] == region)
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect()
}

/// A string of the English widget catalog, with `{n}` filled in.
fn widget_text(key: &str, n: &str) -> String {
    let raw = kontor::assets::get("i18n/widget.en.json").unwrap();
    let catalog: Value = serde_json::from_slice(&raw).unwrap();
    catalog[key].as_str().unwrap().replace("{n}", n)
}

#[test]
fn the_chat_frame_announces_queue_messages_connection_and_errors_once_each() {
    let (k, pw) = Kontor::with_tenant();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let origin = format!("http://localhost:{port}");
    let site = k.json(&[
        "site",
        "add",
        "acme",
        "--origin",
        &origin,
        "--origin",
        crate::chat::SHOP,
    ]);
    let key = site["site_key"].as_str().unwrap().to_string();
    let mut server = k.server(&[]);
    shop(
        port,
        format!(
            "<!doctype html><html lang=\"en\"><head><title>Shop</title></head><body><h1>Shop</h1>\
             <script src=\"{}/widget.js\" data-site=\"{key}\" async></script></body></html>",
            server.base
        ),
    );
    // Ann is online; Anna waits first, over a socket.
    let (_ann, mut ann) = crate::chat::agent(&server, &pw);
    let (_anna, anna_id, _) = crate::chat::visitor(&server, &key, "Anna");

    let driver = Driver::start();
    let v = driver.browser();
    v.goto(&format!("{origin}/"));
    v.wait_until(
        "the launcher",
        "return !!document.querySelector('kontor-chat')",
    );
    let launcher = v.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('button')",
    );
    v.click(&launcher);
    let frame = v.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('iframe')",
    );
    v.enter_frame(&frame);
    v.wait_until(
        "the start form",
        "return !document.getElementById('v-start').hidden",
    );
    assert_eq!(v.exec(RECORD), true);
    v.type_text(&v.find("#s-name"), "Vera");
    v.click(&v.find("#s-consent"));
    v.click(&v.find("#start-btn"));
    v.type_text(&v.find("#msg"), "Is anyone there?");
    v.click(&v.find("#send-btn"));
    let second = widget_text("widget.queue_position", "2");
    let first = widget_text("widget.queue_position", "1");
    v.wait_until(
        "number 2 in the queue",
        &format!("return document.getElementById('info').textContent === {second:?}"),
    );
    // Anna is taken: Vera moves up.
    ann.send(json!({"type": "accept", "conversation_id": anna_id}));
    v.wait_until(
        "number 1 in the queue",
        &format!("return document.getElementById('info').textContent === {first:?}"),
    );
    // Vera is taken and gets a reply.
    let vera_id = loop {
        let f = ann.recv();
        if let Some(w) = f["waiting"].as_array().and_then(|w| w.first())
            && w["visitor_name"] == "Vera"
        {
            break w["conversation_id"].as_i64().unwrap();
        }
    };
    ann.send(json!({"type": "accept", "conversation_id": vera_id}));
    ann.send(json!({"type": "message", "conversation_id": vera_id, "client_id": "a1", "text": "Hello Vera!"}));
    v.wait_until(
        "the reply",
        "return document.getElementById('log').innerText.includes('Hello Vera!')",
    );
    // A message over the limit: the assertive region says why.
    v.exec("const m = document.getElementById('msg'); m.value = 'x'.repeat(4001); return 0");
    v.click(&v.find("#send-btn"));
    let too_long = widget_text("widget.message_too_long", "");
    v.wait_until(
        "the error",
        &format!("return document.getElementById('msg-error').textContent === {too_long:?}"),
    );

    // The server goes away: the loss is said once, however often the frame retries.
    server.kill9();
    let lost = widget_text("widget.conn_reconnecting", "");
    v.wait_until(
        "the connection loss",
        &format!("return document.getElementById('conn').textContent === {lost:?}"),
    );
    std::thread::sleep(Duration::from_secs(6));

    let info = said(&v, "info");
    assert_eq!(
        info.iter()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect::<Vec<_>>(),
        vec![second.clone(), first.clone()],
        "queue positions, each once: {info:?}"
    );
    let log = said(&v, "log");
    assert_eq!(
        log.iter().filter(|t| t.contains("Hello Vera!")).count(),
        1,
        "the reply once: {log:?}"
    );
    let errors =
        v.exec("return window.__said.filter(e => e.live === 'assertive').map(e => e.text)");
    assert!(errors.to_string().contains(&too_long), "{errors}");
    let conn = said(&v, "conn");
    assert_eq!(
        conn.iter().filter(|t| **t == lost).count(),
        1,
        "the loss said once: {conn:?}"
    );
}

#[test]
fn the_dashboard_announces_a_waiting_visitor_once_and_reduced_motion_stops_animations() {
    let (k, pw, site) = crate::chat::setup();
    let server = k.server(&[]);
    let driver = Driver::start();
    let ann = driver.browser();
    crate::browser_visitors::sign_in(&ann, &server.base, &pw);
    ann.goto(&format!("{}/app/chats", server.base));
    let (_vera, _, _) = crate::chat::visitor(&server, &site, "Vera");
    ann.wait_until(
        "the queue item",
        "return !!document.querySelector('.queue-item')",
    );
    let motion =
        "return getComputedStyle(document.querySelector('.queue-item')).transitionDuration";
    assert_ne!(ann.exec(motion), "0s", "animated by default");
    ann.emulate_media("prefers-reduced-motion", "reduce");
    assert_eq!(ann.exec(motion), "0s");
}
