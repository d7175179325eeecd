//! Supervision in headless Chromium: Bob has a chat in his dashboard; Ann (an admin, so a
//! supervisor) watches it from her Chats section, whispers to him and takes it over. Bob's
//! dashboard says she is watching, shows the whisper as a note, and says she took the chat;
//! the visitor (a real widget socket) never gets the whisper. axe audits both dashboards.

use crate::accessibility::Audit;
use crate::browser_visitors::{sign_in, sign_in_as};
use crate::chat::{say, with_bob};
use crate::webdriver::Driver;
use std::time::Duration;

#[test]
fn a_supervisor_watches_whispers_and_takes_over_in_the_dashboard() {
    let started = std::time::Instant::now();
    let (k, pw, site) = crate::chat::setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let driver = Driver::start();
    let bob = driver.browser();
    sign_in_as(&bob, &server.base, "bob@acme.example", &pw, "/app/chats");
    let (mut vis, conv, _) = crate::chat::visitor(&server, &site, "Vera");
    bob.wait_until(
        "the waiting chat in Bob's queue",
        "return !!document.querySelector('button.q-accept')",
    );
    bob.click(&bob.find("button.q-accept"));
    bob.wait_until(
        "Bob's open chat",
        &format!("return !!document.querySelector('.conv[data-id=\"{conv}\"]')"),
    );
    say(&mut vis, None, "v1", "Wo bleibt mein Paket?");

    let ann = driver.browser();
    sign_in(&ann, &server.base, &pw);
    ann.goto(&format!("{}/app/chats", server.base));
    ann.wait_until(
        "Bob's chat in the supervise panel",
        &format!("return !!document.querySelector('.supervise-panel [data-watch=\"{conv}\"]')"),
    );
    ann.click(&ann.find(&format!(".supervise-panel [data-watch=\"{conv}\"]")));
    ann.wait_until(
        "the watched log",
        "const l = document.querySelector('.supervise-log'); return !!l && l.textContent.includes('Wo bleibt mein Paket?')",
    );
    bob.wait_until(
        "Bob sees that Ann watches",
        &format!("const s = document.querySelector('.conv[data-id=\"{conv}\"] .conv-supervision'); return !!s && !s.hidden && s.textContent.includes('Ann')"),
    );
    // Live: the visitor's next message reaches Ann's watched log.
    say(&mut vis, None, "v2", "Bestellung 4711");
    ann.wait_until(
        "the live message",
        "return document.querySelector('.supervise-log').textContent.includes('Bestellung 4711')",
    );
    let mut audit = Audit::default();
    audit.check(&ann, "chats section while supervising");
    audit.check(&bob, "chats section while watched");

    ann.type_text(&ann.find("#whisper-text"), "Bitte Sendungsnummer nennen");
    ann.click(&ann.find_xpath("//form[contains(@class,'supervise-whisper')]//button"));
    bob.wait_until(
        "the whisper as a note in Bob's chat",
        &format!("return document.querySelector('.conv[data-id=\"{conv}\"] .log').textContent.includes('Bitte Sendungsnummer nennen')"),
    );
    ann.wait_until(
        "Ann's whisper in her watched log",
        "return document.querySelector('.supervise-log').textContent.includes('Bitte Sendungsnummer nennen')",
    );

    ann.click(&ann.find_xpath(
        "//div[contains(@class,'supervise-view')]//button[normalize-space()='Take over']",
    ));
    ann.wait_until(
        "the chat among Ann's own",
        &format!("return !!document.querySelector('.mine-panel li[data-id=\"{conv}\"]')"),
    );
    bob.wait_until(
        "Bob's chat says Ann took it",
        &format!("const e = document.querySelector('.conv[data-id=\"{conv}\"] .conv-ended'); return !!e && !e.hidden && e.textContent.includes('Ann took over')"),
    );
    let frames = vis.drain(Duration::from_millis(500));
    let seen = frames.iter().map(|f| f.to_string()).collect::<String>();
    assert!(
        !seen.contains("Sendungsnummer"),
        "the visitor got the whisper: {seen}"
    );
    assert!(
        seen.contains("\"name\":\"Ann\""),
        "the visitor hears the new agent: {seen}"
    );
    audit.finish(started);
}
