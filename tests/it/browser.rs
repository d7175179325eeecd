//! End to end in headless Chromium: a shop page on another origin embeds the snippet; a
//! visitor opts in and chats; an agent in a second browser signs in, is alerted, accepts and
//! replies; a file goes from visitor to agent; the chat is closed and rated. Before the click
//! the shop page has no cookie, no storage and no chat frame.

use crate::common::Kontor;
use crate::webdriver::{Browser, Driver};
use std::io::{Read, Write};

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Serves HTML on `listener`: for each request, the page `page` makes from its path. The
/// test shops on another origin than kontor are all this.
pub fn serve_pages(
    listener: std::net::TcpListener,
    page: impl Fn(&str) -> String + Send + 'static,
) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            let body = page(req.split_whitespace().nth(1).unwrap_or("/"));
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body.as_bytes());
        }
    });
}

/// Serves one HTML page on `port`: the customer's shop.
pub fn shop(port: u16, page: String) {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    serve_pages(listener, move |_| page.clone());
}

/// A free port for the shop, its origin, and the key of a site of acme for that origin.
pub fn shop_site(k: &Kontor) -> (u16, String, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let origin = format!("http://localhost:{port}");
    let site = k.json(&["site", "add", "acme", "--origin", &origin]);
    (port, origin, site["site_key"].as_str().unwrap().to_string())
}

/// Opens the shop page at `page`, clicks the chat launcher and switches into the chat frame.
pub fn open_widget(visitor: &Browser, page: &str) {
    visitor.leave_frame();
    visitor.goto(page);
    visitor.wait_until(
        "the launcher",
        "return !!document.querySelector('kontor-chat')",
    );
    let launcher = visitor.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('button')",
    );
    visitor.click(&launcher);
    let frame = visitor.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('iframe')",
    );
    visitor.enter_frame(&frame);
}

pub fn sign_in(agent: &Browser, base: &str, pw: &str) {
    agent.goto(&format!("{base}/login?lang=en"));
    agent.type_text(&agent.find("#tenant"), "acme");
    agent.type_text(&agent.find("#email"), "ann@acme.example");
    agent.type_text(&agent.find("#password"), pw);
    agent.click(&agent.find_xpath("//button[normalize-space()='Sign in']"));
    agent.wait_until("the dashboard", "return location.pathname === '/app/chats'");
}

#[test]
fn visitor_and_agent_chat_in_real_browsers() {
    let (k, pw) = Kontor::with_tenant();
    // The shop is on another origin than kontor: "localhost" against kontor's 127.0.0.1.
    let (shop_port, shop_origin, key) = shop_site(&k);
    let server = k.server(&[]);
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><title>Shop</title></head><body><h1>Shop</h1>\
         <p>Our products.</p><script src=\"{}/widget.js\" data-site=\"{key}\" async></script></body></html>",
        server.base
    );
    shop(shop_port, page);

    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    // The Chats page loads its own section's modules, no other page's, compressed: what the
    // browser fetched, as its resource timing counts the bodies.
    agent.wait_until(
        "the Chats section",
        "return document.body.classList.contains('chats-section') && !!document.querySelector('#section-app *')",
    );
    let loaded = agent.exec(
        "return performance.getEntriesByType('resource')\
           .filter(r => /\\.(js|css)$/.test(new URL(r.name).pathname))\
           .map(r => [new URL(r.name).pathname, r.encodedBodySize, r.decodedBodySize])",
    );
    let loaded = loaded.as_array().unwrap();
    let has = |name: &str| {
        loaded
            .iter()
            .any(|r| r[0].as_str().unwrap().ends_with(name))
    };
    assert!(
        has("/dashboard/chats.js") && has("/dashboard/app.js"),
        "{loaded:?}"
    );
    assert!(
        !has("/dashboard/settings.js") && !has("/dashboard/statistics.js"),
        "{loaded:?}"
    );
    let sum = |i: usize| loaded.iter().map(|r| r[i].as_u64().unwrap()).sum::<u64>();
    let (wire, raw) = (sum(1), sum(2));
    eprintln!(
        "Chats page in Chromium: {} files, {raw} bytes, {wire} on the wire",
        loaded.len()
    );
    assert!(
        wire * 100 <= raw * 35 && wire <= 80_000,
        "{wire} of {raw} bytes"
    );

    // Count the desktop notifications the dashboard shows (the profile grants permission).
    agent.exec(
        "window.__shown = []; const N = window.Notification; \
         window.Notification = new Proxy(N, {construct(t, a) { window.__shown.push(a[0]); return new t(...a); }}); \
         return true",
    );

    let visitor = driver.browser();
    visitor.goto(&format!("{shop_origin}/"));
    visitor.wait_until(
        "the launcher",
        "return !!document.querySelector('kontor-chat')",
    );
    // Before the click: no cookie, no storage, no chat frame.
    assert!(visitor.cookies().is_empty(), "cookies before the click");
    assert_eq!(
        visitor.exec("return [document.cookie, localStorage.length, sessionStorage.length, document.querySelectorAll('iframe').length]"),
        serde_json::json!(["", 0, 0, 0])
    );
    let frames_before = visitor.exec(
        "return document.querySelector('kontor-chat').shadowRoot.querySelectorAll('iframe').length",
    );
    assert_eq!(frames_before, 0);
    // Nothing on kontor's side either: no chat socket was opened.
    assert!(
        !server.log().contains("/ws/visitor"),
        "a chat socket before the click"
    );

    // The launcher is reachable by keyboard and named "Chat".
    visitor.press(&[TAB]);
    assert_eq!(
        visitor.exec("const a = document.activeElement; return a && a.tagName === 'KONTOR-CHAT' && a.shadowRoot.activeElement.getAttribute('aria-label')"),
        "Chat"
    );
    visitor.press(&[ENTER]);
    // A message from the shop page itself (not kontor's origin) is ignored by the loader.
    // Messages are handled in order: once a marker posted after it arrived, so had it.
    visitor.exec("window.addEventListener('message', (e) => { if (e.data === 'kontor-test-marker') window.kontorTestMarker = true; }); window.postMessage({kontor: 'close'}, '*'); window.postMessage('kontor-test-marker', '*'); return true");
    visitor.wait_until(
        "the foreign message was handled",
        "return window.kontorTestMarker === true",
    );
    assert_eq!(
        visitor.exec("return !document.querySelector('kontor-chat').shadowRoot.querySelector('[role=region]').hidden"),
        true,
        "a foreign postMessage closed the chat"
    );
    let frame = visitor.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('iframe')",
    );
    visitor.enter_frame(&frame);
    visitor.find("#s-consent");
    // The form is in the page from the start, hidden until the frame's modules have run.
    visitor.wait_until(
        "the start form is shown",
        "return !document.getElementById('v-start').hidden",
    );
    let consent_label = visitor.text(&visitor.find("label[for='s-consent']"));
    assert!(
        consent_label.to_lowercase().contains("privacy"),
        "{consent_label}"
    );
    visitor.type_text(&visitor.find("#s-name"), "Vera");
    visitor.click(&visitor.find("#s-consent"));
    visitor.click(&visitor.find("#start-btn"));
    let msg = visitor.find("#msg");
    assert_eq!(visitor.text(&visitor.find("label[for='msg']")), "Message");
    visitor.type_text(&msg, "Hello, is my parcel on its way?");
    visitor.click(&visitor.find_xpath("//button[normalize-space()='Send']"));

    // The agent is alerted (badge), accepts and replies.
    agent.wait_until(
        "the waiting-chat badge",
        "const b = document.querySelector('.nav-badge'); return !!b && !b.hidden",
    );
    agent.wait_until(
        "the desktop notification",
        "return window.__shown.length === 1",
    );
    agent.click(&agent.find_xpath("//button[normalize-space()='Accept']"));
    agent.wait_until(
        "the visitor's message",
        "return document.body.innerText.includes('Hello, is my parcel on its way?')",
    );
    let reply = agent.find("#reply-text");
    agent.type_text(&reply, "Yes, it arrives tomorrow.");
    agent.press(&[ENTER]);

    visitor.wait_until(
        "the agent's reply",
        "return document.getElementById('log').innerText.includes('Yes, it arrives tomorrow.')",
    );
    visitor.wait_until(
        "the agent's name",
        "return document.body.innerText.includes('Ann')",
    );

    // Hostile text arrives as text: no element is made from it, no javascript: link.
    let msg = visitor.find("#msg");
    visitor.type_text(
        &msg,
        "<img src=x onerror=alert(1)> [x](javascript:alert(1)) javascript:alert(2)",
    );
    visitor.press(&[ENTER]);
    agent.wait_until(
        "the hostile text",
        "return document.body.innerText.includes('<img src=x onerror=alert(1)>')",
    );
    assert_eq!(
        agent.exec("return [document.querySelectorAll('img[src=\"x\"]').length, document.querySelectorAll('a[href^=\"javascript\"]').length]"),
        serde_json::json!([0, 0])
    );

    // A file from visitor to agent.
    let png = k.dir.path().join("parcel.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR-browser-test").unwrap();
    let input = visitor.find("input[type='file']");
    visitor.type_text(&input, png.to_str().unwrap());
    agent.wait_until("the file link", "return [...document.querySelectorAll('a[href^=\"/api/files/\"]')].some(a => a.textContent.includes('parcel.png'))");
    let has_download = agent.exec("return [...document.querySelectorAll('a[href^=\"/api/files/\"]')].find(a => a.textContent.includes('parcel.png')).hasAttribute('download')");
    assert_eq!(has_download, true, "files are offered as downloads");

    // The visitor ends the chat and rates it.
    visitor.click(&visitor.find("#end-btn"));
    visitor.click(&visitor.find("#end-yes"));
    visitor.click(&visitor.find("label[for='star-5']"));
    visitor.click(&visitor.find("#rate-btn"));
    visitor.wait_until(
        "the thank-you",
        "return !document.getElementById('rated').hidden",
    );

    drop(visitor);
    drop(agent);
    let mut server = server;
    assert_eq!(server.stop(), Some(0));
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let (status, rating, files): (String, i64, i64) = db
        .with(|c| {
            Ok(c.query_row(
                "SELECT status, rating, (SELECT count(*) FROM files) FROM conversations",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .unwrap();
    assert_eq!((status.as_str(), rating, files), ("closed", 5, 1));
}

/// A visitor who arrives when the waiting queue is full is offered the offline form with a
/// message saying why, not a chat nobody will take.
#[test]
fn a_full_queue_offers_the_offline_form() {
    let (k, pw) = Kontor::with_tenant();
    std::fs::write(k.config_file(), "[chat]\nmax_waiting = 1\n").unwrap();
    let (shop_port, shop_origin, key) = shop_site(&k);
    let server = k.server(&[]);
    shop(
        shop_port,
        format!(
            "<!doctype html><html lang=\"en\"><head><title>Shop</title></head><body><h1>Shop</h1>\
             <script src=\"{}/widget.js\" data-site=\"{key}\" async></script></body></html>",
            server.base
        ),
    );
    // An agent is online (so the widget offers a chat), and one chat already waits.
    let (_b, _ann) = crate::chat::agent(&server, &pw);
    let mut first = crate::common::Ws::visitor(&server.base, &key, &shop_origin).unwrap();
    first.send(serde_json::json!({"type": "start", "consent": true, "notice_version": "1"}));
    first.recv_type("welcome");

    let driver = Driver::start();
    let visitor = driver.browser();
    visitor.goto(&format!("{shop_origin}/"));
    visitor.wait_until(
        "the launcher",
        "return !!document.querySelector('kontor-chat')",
    );
    visitor.exec("document.querySelector('kontor-chat').shadowRoot.querySelector('button').click(); return true");
    let frame = visitor.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('iframe')",
    );
    visitor.enter_frame(&frame);
    visitor.wait_until(
        "the start form is shown",
        "return !document.getElementById('v-start').hidden",
    );
    visitor.type_text(&visitor.find("#s-name"), "Vera");
    visitor.click(&visitor.find("#s-consent"));
    visitor.click(&visitor.find("#start-btn"));
    visitor.wait_until(
        "the offline form instead of a chat",
        "return !document.getElementById('v-offline').hidden",
    );
    let intro = visitor.text(&visitor.find("#offline-intro"));
    assert!(intro.contains("busy"), "{intro}");
    assert_eq!(
        crate::chat::db_count(&k, "SELECT count(*) FROM conversations"),
        1,
        "the refused start stored nothing"
    );
}
