//! Webhooks in the dashboard, in Chromium against the real server and a real receiver: an
//! admin adds an endpoint in Settings › General (URL and events by their visible labels), sees
//! its secret once, sends a test event that the receiver gets signed with that secret, and
//! finds it delivered in the log, pauses and resumes the endpoint; the panel passes axe.

use crate::accessibility::Audit;
use crate::browser::sign_in;
use crate::common::Kontor;
use crate::webdriver::Driver;
use crate::webhooks::{Receiver, allow_loopback, assert_signed};
use std::time::Instant;

#[test]
fn an_admin_adds_an_endpoint_sends_a_test_event_and_sees_it_delivered() {
    let rx = Receiver::start();
    let (k, pw) = Kontor::with_tenant();
    allow_loopback(&k);
    let server = k.server(&[]);
    let driver = Driver::start();
    let (mut audit, started) = (Audit::default(), Instant::now());
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.goto(&format!("{}/app/settings/general", server.base));
    agent.wait_until(
        "the webhooks panel",
        "const p = document.getElementById('webhooks'); return !!p && !p.hidden",
    );
    audit.check(&agent, "settings: webhooks, none yet");

    // Without an event the form says what is missing, on the first checkbox.
    agent.type_text(&agent.find("#webhook-url"), &rx.url("/ok"));
    agent.click(&agent.find("#webhook-save"));
    agent.wait_until(
        "the missing events named",
        "return document.getElementById('webhook-error').textContent === 'Choose at least one event.'",
    );
    // The events by their labels.
    agent.click(&agent.find_xpath("//label[normalize-space()='Chat started']"));
    agent.click(&agent.find_xpath("//label[normalize-space()='Chat ended']"));
    agent.click(&agent.find("#webhook-save"));
    agent.wait_until(
        "the secret, shown once",
        "return !document.getElementById('webhook-secret-box').hidden \
         && document.getElementById('webhook-secret').textContent.startsWith('whsec_') \
         && document.querySelectorAll('#webhook-list tbody tr').length === 1",
    );
    let secret = agent
        .exec("return document.getElementById('webhook-secret').textContent")
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        agent.exec(
            "return document.querySelector('#webhook-list tbody tr td:nth-child(2)').textContent"
        ),
        "Chat ended, Chat started"
    );
    audit.check(&agent, "settings: webhooks, one endpoint and its secret");

    let test_button = format!("Send test event to {}", rx.url("/ok"));
    agent.click(&agent.find(&format!("button[aria-label='{test_button}']")));
    let got = rx.wait_for(1);
    assert_signed(&got[0], &secret);
    agent.wait_until(
        "the test event delivered in the log",
        "const r = document.querySelector('#webhook-log tbody tr'); \
         if (r && r.dataset.state === 'sent') return true; \
         document.getElementById('webhook-refresh').click(); return false",
    );
    assert_eq!(
        agent.exec(
            "return [...document.querySelectorAll('#webhook-log tbody tr:first-child td')].slice(2, 6).map(td => td.textContent)"
        ),
        serde_json::json!(["Test event", "Delivered", "1", "204"])
    );
    audit.check(&agent, "settings: webhooks, the delivery log");

    // Paused and resumed by its button; a paused endpoint says so in the list.
    agent.click(&agent.find(&format!("button[aria-label='Pause {}']", rx.url("/ok"))));
    agent.wait_until(
        "the endpoint shown paused",
        "return !!document.querySelector('#webhook-list .webhook-paused') \
         && document.getElementById('webhook-status').textContent.startsWith('The endpoint is paused')",
    );
    audit.check(&agent, "settings: webhooks, a paused endpoint");
    agent.click(&agent.find(&format!("button[aria-label='Resume {}']", rx.url("/ok"))));
    agent.wait_until(
        "the endpoint active again",
        "return !document.querySelector('#webhook-list .webhook-paused') \
         && document.getElementById('webhook-status').textContent === 'The endpoint receives events again.'",
    );
    audit.finish(started);
}
