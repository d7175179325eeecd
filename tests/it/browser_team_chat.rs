//! Team chat in headless Chromium: Bob writes to Ann over his socket while she works in the
//! visitors section; the top bar shows her unread count, the drawer opens on the room, she
//! answers with Enter and Bob gets it; the badge clears on Bob's side once read; axe audits the
//! open drawer.

use crate::accessibility::Audit;
use crate::browser_visitors::sign_in;
use crate::chat::{agent_as, with_bob};
use crate::webdriver::Driver;
use serde_json::json;

#[test]
fn an_agent_reads_and_answers_the_team_chat_from_the_top_bar() {
    let started = std::time::Instant::now();
    let (k, pw, _) = crate::chat::setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let driver = Driver::start();
    let ann = driver.browser();
    sign_in(&ann, &server.base, &pw);
    ann.wait_until(
        "the team chat button",
        "const b = document.querySelector('.team-toggle'); return !!b && !b.hidden",
    );
    let (_bb, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    bob.recv_type("team_rooms");
    bob.send(json!({"type": "team_message", "room": "all", "client_id": "b1", "text": "Wer übernimmt die Frühschicht?"}));
    bob.recv_type("team_ack");
    ann.wait_until(
        "the unread count in the top bar",
        "const b = document.querySelector('.team-toggle .nav-badge'); return !!b && !b.hidden && b.textContent.startsWith('1')",
    );
    ann.click(&ann.find(".team-toggle"));
    ann.wait_until(
        "Bob's message in the open room",
        "const l = document.querySelector('.team-log'); return !!l && l.textContent.includes('Frühschicht')",
    );
    ann.wait_until(
        "the badge cleared once read",
        "return document.querySelector('.team-toggle .nav-badge').hidden",
    );
    let mut audit = Audit::default();
    audit.check(&ann, "dashboard with the team chat open");
    let text = ann.find("#team-text");
    ann.type_text(&text, "Ich mache das.");
    ann.press(&["\u{E007}"]);
    let got = bob.recv_type("team_message");
    assert_eq!(got["text"], "Ich mache das.");
    assert_eq!(got["author_name"], "Ann");
    assert_eq!(got["seq"], 2);
    ann.wait_until(
        "her message confirmed (no longer sending)",
        "const l = document.querySelector('.team-log'); return l.textContent.includes('Ich mache das.') && !l.querySelector('.pending')",
    );
    // Escape closes the drawer and gives focus back to the button.
    ann.press(&["\u{E00C}"]);
    ann.wait_until(
        "the drawer closed, focus on its button",
        "return document.getElementById('team-chat').hidden && document.activeElement.classList.contains('team-toggle')",
    );
    audit.finish(started);
}
