//! Keyboard only, in headless Chromium against the real server: a visitor opens the widget,
//! opts in, chats, sends a file, ends and rates the chat and closes the widget, and focus is
//! back on the launcher; an agent signs in, accepts a chat from the queue, replies, inserts a
//! canned response, transfers the chat and closes another. Nothing is clicked: every step is a
//! key press (Tab, Shift+Tab, Enter, Space, arrows, Escape) or typing. Each control reached by
//! Tab must show its focus. Live regions are read as a screen reader would get them.
//!
//! One step cannot be a key press: choosing a file in the operating system's file dialog.
//! There the test reaches the file control by Tab and hands the path to it, as WebDriver does.

use crate::browser::shop;
use crate::common::Kontor;
use crate::webdriver::{Browser, Driver};

pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";
pub const SPACE: &str = "\u{E00D}";
pub const ESCAPE: &str = "\u{E00C}";
pub const SHIFT: &str = "\u{E008}";
pub const RIGHT: &str = "\u{E014}";
pub const DOWN: &str = "\u{E015}";

/// What has focus, described, with whether its focus is visible: `[description, visible]`.
/// Inside a shadow root or a frame, the innermost element.
const FOCUSED: &str = "
    let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    if (!a || a === document.body) return ['body', true];
    if (a.tagName === 'IFRAME') return ['iframe', true];
    const s = getComputedStyle(a);
    const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
    const label = a.getAttribute('aria-label') || a.textContent.trim().slice(0, 40);
    const name = a.id ? '#' + a.id : a.tagName.toLowerCase() + '[' + label + ']';
    return [name, a.matches(':focus-visible') && ring];
";

/// Presses Tab (with Shift when `back`) until `want` (a description as [`FOCUSED`] gives)
/// has focus, at most 80 times; every control passed on the way must show its focus.
pub fn tab_to(b: &Browser, want: &str, back: bool) {
    let mut seen = Vec::new();
    for _ in 0..80 {
        if back {
            b.chord(SHIFT, TAB);
        } else {
            b.press(&[TAB]);
        }
        let f = b.exec(FOCUSED);
        let name = f[0].as_str().unwrap_or("").to_string();
        if name != "iframe" && name != "body" {
            assert_eq!(
                f[1], true,
                "focus is not visible on {name} (path: {seen:?})"
            );
        }
        if name == want {
            return;
        }
        seen.push(name);
    }
    panic!("{want} not reached by Tab; focus went {seen:?}");
}

/// The description of what has focus now.
pub fn focused(b: &Browser) -> String {
    b.exec(FOCUSED)[0].as_str().unwrap_or("").to_string()
}

#[test]
fn a_visitor_chats_sends_a_file_ends_rates_and_closes_with_the_keyboard_only() {
    let (k, pw) = Kontor::with_tenant();
    let (port, origin, key) = crate::browser::shop_site(&k);
    let server = k.server(&[]);
    shop(
        port,
        format!(
            "<!doctype html><html lang=\"en\"><head><title>Shop</title></head><body><h1>Shop</h1>\
             <p><a href=\"#products\">Products</a></p><script src=\"{}/widget.js\" data-site=\"{key}\" async></script></body></html>",
            server.base
        ),
    );
    let driver = Driver::start();
    // An agent is online, so the visitor gets the chat, not the offline form.
    let agent = driver.browser();
    crate::browser_visitors::sign_in(&agent, &server.base, &pw);
    agent.goto(&format!("{}/app/chats", server.base));

    let visitor = driver.browser();
    visitor.goto(&format!("{origin}/"));
    visitor.wait_until(
        "the launcher",
        "return !!document.querySelector('kontor-chat')",
    );
    tab_to(&visitor, "button[Chat]", false);
    visitor.press(&[ENTER]);
    let frame = visitor.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('iframe')",
    );
    visitor.wait_until(
        "focus in the chat frame",
        "const a = document.querySelector('kontor-chat').shadowRoot.activeElement; return !!a && a.tagName === 'IFRAME'",
    );
    // The open panel is no trap: Tab leaves it for the shop's own link, and comes back.
    tab_to(&visitor, "a[Products]", false);
    tab_to(&visitor, "iframe", false);
    visitor.enter_frame(&frame);
    visitor.wait_until(
        "the start form",
        "return !document.getElementById('v-start').hidden",
    );
    tab_to(&visitor, "#s-name", false);
    visitor.keys("Vera");
    tab_to(&visitor, "#s-consent", false);
    visitor.press(&[SPACE]);
    assert_eq!(
        visitor.exec("return document.getElementById('s-consent').checked"),
        true
    );
    tab_to(&visitor, "#start-btn", false);
    visitor.press(&[ENTER]);
    visitor.wait_until(
        "the message box has focus",
        "return document.activeElement && document.activeElement.id === 'msg'",
    );
    visitor.keys("Hello from the keyboard");
    visitor.press(&[ENTER]);

    // The agent takes it; the visitor hears of it through the live regions.
    agent.wait_until(
        "the queue's Accept button",
        "return [...document.querySelectorAll('button')].some(b => b.textContent.trim() === 'Accept')",
    );
    agent.click(&agent.find_xpath("//button[normalize-space()='Accept']"));
    agent.wait_until(
        "the reply box",
        "return !!document.getElementById('reply-text')",
    );
    agent.type_text(&agent.find("#reply-text"), "Hello Vera, how can I help?");
    agent.press(&[ENTER]);
    visitor.wait_until(
        "the reply in the log, a live region",
        "const log = document.getElementById('log'); \
         return log.getAttribute('role') === 'log' && log.getAttribute('aria-live') === 'polite' \
           && log.innerText.includes('Hello Vera, how can I help?')",
    );

    // A file: Tab to the file control, then the path (the OS dialog is no web page).
    let png = k.dir.path().join("receipt.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR-keyboard-test").unwrap();
    tab_to(&visitor, "#file", false);
    let input = visitor.find("#file");
    visitor.type_text(&input, png.to_str().unwrap());
    agent.wait_until(
        "the file arrives",
        "return [...document.querySelectorAll('a[href^=\"/api/files/\"]')].some(a => a.textContent.includes('receipt.png'))",
    );

    // End: Tab to "End chat", Enter, and the question's "Yes" (focus moves there).
    tab_to(&visitor, "#end-btn", false);
    visitor.press(&[ENTER]);
    visitor.wait_until(
        "focus on the confirmation",
        "return document.activeElement.id === 'end-yes'",
    );
    // Escape steps back out of the question, to "End chat".
    visitor.press(&[ESCAPE]);
    assert_eq!(focused(&visitor), "#end-btn");
    visitor.press(&[ENTER]);
    visitor.wait_until(
        "the confirmation again",
        "return document.activeElement.id === 'end-yes'",
    );
    visitor.press(&[ENTER]);
    // Rate: the stars are radio buttons; arrows move between them.
    visitor.wait_until(
        "the rating form has focus",
        "return !document.getElementById('ended').hidden && document.activeElement.name === 'score'",
    );
    for _ in 0..4 {
        visitor.press(&[RIGHT]);
    }
    assert_eq!(
        visitor.exec("return document.querySelector('input[name=score]:checked').value"),
        "5"
    );
    tab_to(&visitor, "#rate-btn", false);
    visitor.press(&[ENTER]);
    visitor.wait_until(
        "the thank-you has focus",
        "return !document.getElementById('rated').hidden && document.activeElement.id === 'rated'",
    );
    // Escape closes the widget; focus is back on the launcher.
    visitor.press(&[ESCAPE]);
    visitor.leave_frame();
    visitor.wait_until(
        "the panel hidden and the launcher focused",
        "const r = document.querySelector('kontor-chat').shadowRoot; \
         return r.querySelector('[role=region]').hidden && document.activeElement.tagName === 'KONTOR-CHAT' \
           && r.activeElement && r.activeElement.getAttribute('aria-label') === 'Chat'",
    );
    assert_eq!(
        visitor.exec("return document.querySelector('kontor-chat').shadowRoot.activeElement.getAttribute('aria-expanded')"),
        "false"
    );

    drop(visitor);
    drop(agent);
    let mut server = server;
    assert_eq!(server.stop(), Some(0));
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let row: (String, i64, i64) = db
        .with(|c| {
            Ok(c.query_row(
                "SELECT status, rating, (SELECT count(*) FROM files) FROM conversations",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .unwrap();
    assert_eq!((row.0.as_str(), row.1, row.2), ("closed", 5, 1));
}

#[test]
fn an_agent_accepts_replies_uses_a_canned_response_transfers_and_closes_with_the_keyboard_only() {
    let (k, pw, site) = crate::chat::setup();
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut ann_http = crate::common::Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let res = ann_http.post_json(
        "/api/canned",
        &serde_json::json!({"shortcut": "wait", "text": "Thank you for waiting."}),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    // Bob is online to take a transfer.
    let (_bob, mut bob_ws) = crate::chat::agent_as(&server, "bob@acme.example", &pw);
    let (mut vera, vera_id, _) = crate::chat::visitor(&server, &site, "Vera");
    crate::chat::say(&mut vera, None, "v1", "My order is late");
    let (mut otto, otto_id, _) = crate::chat::visitor(&server, &site, "Otto");
    crate::chat::say(&mut otto, None, "o1", "Just a question");

    let driver = Driver::start();
    let ann = driver.browser();
    ann.goto(&format!("{}/login?lang=en&next=/app/chats", server.base));
    tab_to(&ann, "#tenant", false);
    ann.keys("acme");
    tab_to(&ann, "#email", false);
    ann.keys("ann@acme.example");
    tab_to(&ann, "#password", false);
    ann.keys(&pw);
    ann.press(&[ENTER]);
    ann.wait_until(
        "the chats page",
        "return location.pathname === '/app/chats'",
    );
    ann.wait_until(
        "both in the queue",
        "return document.querySelectorAll('.queue-item').length === 2",
    );

    // Accept Vera's chat, reply.
    tab_to(&ann, "button[Accept chat with Vera]", false);
    ann.press(&[ENTER]);
    ann.wait_until(
        "Vera's chat open",
        "return document.body.innerText.includes('My order is late') && !!document.getElementById('reply-text')",
    );
    tab_to(&ann, "#reply-text", false);
    ann.keys("Let me check that for you.");
    ann.press(&[ENTER]);
    wait_for_text(&mut vera, "Let me check that for you.");
    // A canned response: "/wait", arrow down to it, Enter inserts it, Enter sends it.
    ann.keys("/wait");
    ann.wait_until(
        "the suggestion",
        "return document.getElementById('reply-text').getAttribute('aria-controls') !== null",
    );
    ann.press(&[DOWN]);
    ann.press(&[ENTER]);
    assert_eq!(
        ann.exec("return document.getElementById('reply-text').value"),
        "Thank you for waiting."
    );
    ann.press(&[ENTER]);
    wait_for_text(&mut vera, "Thank you for waiting.");

    // Transfer Vera's chat to Bob: the panel opens on Enter, the target is a select.
    tab_to(&ann, "button[Transfer]", false);
    ann.press(&[ENTER]);
    let select = format!("#transfer-target-{vera_id}");
    tab_to(&ann, &select, false);
    let options = ann.exec(&format!(
        "return [...document.querySelector('{select}').options].map(o => o.textContent)"
    ));
    assert!(options.to_string().contains("Bob"), "{options}");
    while !ann
        .exec(&format!(
            "const s = document.querySelector('{select}'); return s.options[s.selectedIndex].textContent.includes('Bob')"
        ))
        .as_bool()
        .unwrap()
    {
        ann.press(&[DOWN]);
    }
    tab_to(&ann, "button[Transfer]", false);
    ann.press(&[ENTER]);
    loop {
        let f = bob_ws.recv();
        if f.to_string().contains("transfer")
            || f["type"] == "offer"
            || f["type"] == "queue" && f.to_string().contains("Vera")
        {
            break;
        }
    }

    // Accept Otto's chat and close it.
    tab_to(&ann, "button[Accept chat with Otto]", false);
    ann.press(&[ENTER]);
    ann.wait_until(
        "Otto's chat open",
        "return document.body.innerText.includes('Just a question')",
    );
    tab_to(&ann, "button[Close chat]", false);
    ann.press(&[ENTER]);
    loop {
        let f = otto.recv();
        if f["type"] == "conversation" && f["status"] == "closed" {
            break;
        }
    }
    let status = crate::chat::db_count(
        &k,
        &format!("SELECT count(*) FROM conversations WHERE id = {otto_id} AND status = 'closed'"),
    );
    assert_eq!(status, 1);
}

/// Reads frames until a message with `text` arrives.
fn wait_for_text(ws: &mut crate::common::Ws, text: &str) {
    loop {
        let f = ws.recv();
        if f["text"] == text {
            return;
        }
    }
}
