//! The widget's JavaScript API in headless Chromium, on a shop page of another origin:
//! `open`, `close`, `identify`, `department` and `on` (open, close, message, unread), called
//! before the loader arrived (the stub's queue) and after. `identify` only fills the forms:
//! nothing is stored and no socket opens before the visitor's opt-in. Messages that do not
//! come from the chat frame are ignored.

use crate::browser::{shop, shop_site};
use crate::chat::agent;
use crate::common::{Kontor, Ws};
use crate::webdriver::{Browser, Driver};
use serde_json::{Value, json};

// The panel's region is null while the loader has not made the widget yet (a busy machine
// runs the first check before the loader arrived): not open, not closed, ask again.
const PANEL_OPEN: &str = concat!(
    "const c = document.querySelector('kontor-chat'); \
     const r = c && c.shadowRoot && c.shadowRoot.querySelector('[role=region]');",
    " return !!r && !r.hidden"
);

const PANEL_CLOSED: &str = concat!(
    "const c = document.querySelector('kontor-chat'); \
     const r = c && c.shadowRoot && c.shadowRoot.querySelector('[role=region]');",
    " return !!r && r.hidden"
);

fn events(b: &Browser) -> Value {
    b.exec("return window.events")
}

fn enter_chat_frame(b: &Browser) {
    let frame = b.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('iframe')",
    );
    b.enter_frame(&frame);
    b.wait_until(
        "the start form",
        "return !document.getElementById('v-start').hidden",
    );
}

/// Skips frames until a queue with at least one waiting chat.
fn waiting(ws: &mut Ws) -> Value {
    loop {
        let q = ws.recv_type("queue");
        if let Some(w) = q["waiting"].as_array().and_then(|w| w.first()) {
            return w.clone();
        }
    }
}

#[test]
fn the_pages_calls_open_close_identify_preselect_and_hear_events() {
    let (k, pw) = Kontor::with_tenant();
    let (port, origin, site) = shop_site(&k);
    k.ok(&["department", "add", "acme", "Sales"]);
    let support = k.json(&["department", "add", "acme", "Support"])["departments"][0]["id"]
        .as_i64()
        .unwrap();
    let sales = support - 1;
    k.ok(&[
        "agent",
        "set",
        "acme",
        "ann@acme.example",
        "--department",
        "Support",
    ]);
    crate::forms::save_with_cli(&k, &site, &json!({"departments": [sales, support]}));
    let server = k.server(&[]);
    // Every call before the loader: queued by the stub, run in order once it arrives.
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><title>Shop</title></head><body><h1>Shop</h1>\
         <script>window.kontor = window.kontor || function () {{ (kontor.q = kontor.q || []).push(arguments); }};\
         window.events = [];\
         kontor('on', 'open', () => events.push('open'));\
         kontor('on', 'close', () => events.push('close'));\
         kontor('on', 'message', (m) => events.push('message:' + m.author + ':' + Object.keys(m).join()));\
         kontor('on', 'unread', (n) => events.push('unread:' + n));\
         kontor('on', 'open', () => {{ throw new Error('a broken handler'); }});\
         kontor('identify', {{name: 'Vera Visitor', email: 'vera@example.com'}});\
         kontor('department', 'support');\
         kontor('open');</script>\
         <script src=\"{}/widget.js\" data-site=\"{site}\" async></script></body></html>",
        server.base
    );
    shop(port, page);
    let (_ab, mut ann) = agent(&server, &pw);
    ann.send(json!({"type": "status", "status": "online"}));

    let driver = Driver::start();
    let v = driver.browser();
    v.goto(&format!("{origin}/"));
    v.wait_until("the panel opened by the queued call", PANEL_OPEN);
    // A throwing handler does not keep the others from running.
    assert_eq!(events(&v), json!(["open"]));

    enter_chat_frame(&v);
    v.wait_until(
        "the prefilled form",
        "return document.getElementById('s-name').value === 'Vera Visitor' \
         && document.getElementById('s-email').value === 'vera@example.com' \
         && document.getElementById('o-email').value === 'vera@example.com'",
    );
    v.wait_until(
        "Support preselected",
        &format!("return document.getElementById('pf-department').value === '{support}'"),
    );
    // Prefilled, not stored: no storage on either side, no chat socket, no conversation.
    assert_eq!(
        v.exec("return [sessionStorage.length, localStorage.length, document.cookie]"),
        json!([0, 0, ""])
    );
    v.leave_frame();
    assert_eq!(
        v.exec("return [sessionStorage.length, localStorage.length, document.cookie]"),
        json!([0, 0, ""])
    );
    assert!(
        !server.log().contains("/ws/visitor"),
        "a socket before the opt-in"
    );
    assert_eq!(
        crate::chat::db_count(&k, "SELECT count(*) FROM conversations"),
        0
    );

    // Direct calls once the loader is there: close, a new identity (the untouched fields
    // follow it), open again.
    v.exec("kontor('close'); return true");
    v.wait_until("the panel closed", PANEL_CLOSED);
    assert_eq!(events(&v), json!(["open", "close"]));
    v.exec("kontor('identify', {name: 'Vera V.', email: 'v@example.com'}); kontor('open'); return true");
    v.wait_until("the panel open again", PANEL_OPEN);
    assert_eq!(events(&v), json!(["open", "close", "open"]));
    enter_chat_frame(&v);
    v.wait_until(
        "the new identity",
        "return document.getElementById('s-name').value === 'Vera V.' \
         && document.getElementById('s-email').value === 'v@example.com'",
    );

    // The visitor opts in: the name and e-mail go with the start, like typed ones.
    v.click(&v.find("#s-consent"));
    v.click(&v.find("#start-btn"));
    let w = waiting(&mut ann);
    let conv = w["conversation_id"].as_i64().unwrap();
    assert_eq!(w["visitor_name"], "Vera V.", "{w}");
    assert_eq!(w["department_id"].as_i64(), Some(support), "{w}");
    v.type_text(&v.find("#msg"), "Hello");
    v.press(&["\u{E007}"]);
    v.leave_frame();
    v.wait_until(
        "the visitor's message event",
        "return window.events.includes('message:visitor:author')",
    );

    ann.send(json!({"type": "accept", "conversation_id": conv}));
    ann.send(
        json!({"type": "message", "conversation_id": conv, "client_id": "a1", "text": "Hi Vera"}),
    );
    v.wait_until(
        "the agent's message event (who, never what)",
        "return window.events.includes('message:agent:author')",
    );
    assert!(
        !events(&v).to_string().contains("Hi Vera"),
        "the chat's words reached the page"
    );

    // Hidden panel: the agent's next message is unread.
    v.exec("kontor('close'); return true");
    ann.send(json!({"type": "message", "conversation_id": conv, "client_id": "a2", "text": "Still there?"}));
    v.wait_until(
        "the unread event",
        "return window.events.includes('unread:1')",
    );
    v.exec("kontor('open'); return true");
    v.wait_until(
        "unread back to 0",
        "return window.events.includes('unread:0')",
    );

    // A message from the page itself (not the chat frame) is no event.
    let before = events(&v).as_array().unwrap().len();
    v.exec(
        "window.addEventListener('message', (e) => { if (e.data === 'marker') window.marker = true; }); \
         window.postMessage({kontor: 'message', author: 'agent'}, '*'); \
         window.postMessage({kontor: 'unread', count: 7}, '*'); \
         window.postMessage('marker', '*'); return true",
    );
    v.wait_until("the marker", "return window.marker === true");
    assert_eq!(
        events(&v).as_array().unwrap().len(),
        before,
        "{}",
        events(&v)
    );
}
