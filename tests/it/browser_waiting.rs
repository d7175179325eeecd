//! A chat nobody takes, in real browsers on the test clock: after the alert time the agent's
//! dashboard announces it again; after the offer time the visitor's (German) widget offers to
//! leave what they wrote as a message, refuses a bad address at the field, and the message
//! lands in the inbox with their words, while the chat still waits and the agent takes it.

use crate::browser::{open_widget, shop, shop_site, sign_in};
use crate::common::{Browser as Http, Kontor};
use crate::webdriver::Driver;
use std::time::Duration;

#[test]
fn a_visitor_nobody_answers_leaves_the_chat_as_a_message_and_is_still_taken() {
    let (k, pw) = Kontor::with_tenant();
    let (shop_port, shop_origin, key) = shop_site(&k);
    let server = k.server(&[]);
    let mut api = Http::signed_in(&server.base, "ann@acme.example", &pw);
    let r = api.put_json(
        "/api/settings",
        &serde_json::json!({"queue_alert_secs": 60, "offline_offer_secs": 120}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    shop(
        shop_port,
        format!(
            "<!doctype html><html lang=\"de\"><head><title>Laden</title></head><body><h1>Laden</h1>\
             <script src=\"{}/widget.js\" data-site=\"{key}\" async></script></body></html>",
            server.base
        ),
    );
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);

    let visitor = driver.browser();
    open_widget(&visitor, &format!("{shop_origin}/"));
    visitor.wait_until(
        "the start form",
        "return !document.getElementById('v-start').hidden",
    );
    visitor.type_text(&visitor.find("#s-name"), "Vera");
    visitor.click(&visitor.find("#s-consent"));
    visitor.click(&visitor.find("#start-btn"));
    visitor.wait_until(
        "the chat",
        "return !document.getElementById('v-chat').hidden",
    );
    for text in ["Wo ist mein Paket?", "Bestellung 4711"] {
        visitor.type_text(&visitor.find("#msg"), text);
        visitor.click(&visitor.find("#send-btn"));
        visitor.wait_until(
            "the message acknowledged",
            &format!(
                "return [...document.querySelectorAll('#log [data-seq]')].some(e => e.textContent.includes('{text}'))"
            ),
        );
    }
    agent.wait_until(
        "the chat waiting",
        "return document.body.innerText.includes('Vera')",
    );

    // After the alert time the agent hears of it again.
    k.advance_clock(Duration::from_secs(61));
    agent.wait_until(
        "the announcement",
        "return [...document.querySelectorAll('[aria-live]')].some(e => e.textContent.includes('Vera has been waiting for 1 min'))",
    );
    assert_eq!(
        visitor.exec("return document.getElementById('offer-row').hidden"),
        serde_json::json!(true)
    );

    // After the offer time the visitor is offered to leave it as a message.
    k.advance_clock(Duration::from_secs(60));
    visitor.wait_until(
        "the offer",
        "return !document.getElementById('offer-row').hidden && \
         document.getElementById('offer-text').textContent.startsWith('Bisher konnte niemand antworten')",
    );
    let to = visitor.find("#offer-to");
    visitor.type_text(&to, "vera@@example");
    visitor.click(&visitor.find("#offer-btn"));
    visitor.wait_until(
        "the bad address refused at the field",
        "return document.getElementById('offer-error').textContent === 'Bitte geben Sie eine E-Mail-Adresse wie name@beispiel.de ein.' && \
         document.getElementById('offer-to').getAttribute('aria-invalid') === 'true' && \
         document.activeElement.id === 'offer-to'",
    );
    visitor.exec("document.getElementById('offer-to').value = ''; return true");
    visitor.type_text(&to, "vera@example.org");
    visitor.click(&visitor.find("#offer-btn"));
    visitor.wait_until(
        "thanked",
        "return document.getElementById('offer-done').textContent.includes('vera@example.org') && \
         document.getElementById('offer-form').hidden",
    );
    let inbox = api.get("/api/offline").json();
    let m = &inbox["messages"][0];
    assert_eq!(m["name"], "Vera", "{inbox}");
    assert_eq!(m["email"], "vera@example.org");
    assert_eq!(m["message"], "Wo ist mein Paket?\nBestellung 4711");

    // The chat still waits: the agent takes it, and the visitor's offer goes away.
    agent.click(&agent.find_xpath("//button[normalize-space()='Accept']"));
    visitor.wait_until(
        "the agent joined and the offer is gone",
        "return document.getElementById('offer-row').hidden && document.body.innerText.includes('Ann')",
    );
}
