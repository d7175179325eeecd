//! The online look-up in the dashboard, in Chromium against the real server and a real
//! business system (the test receiver): the agent accepts a chat whose pre-chat order number
//! was looked up when it started and sees the answer's fields in the chat; presses "Look up"
//! for another value and sees its fields (text, never HTML); an answer that is not JSON is
//! shown in words; the panel passes axe.

use crate::accessibility::Audit;
use crate::browser::sign_in;
use crate::chat::{SHOP, setup};
use crate::common::{Browser as Api, Ws};
use crate::webdriver::Driver;
use crate::webhooks::{Receiver, allow_loopback};
use serde_json::json;
use std::time::Instant;

#[test]
fn an_agent_sees_the_looked_up_fields_and_presses_look_up() {
    let rx = Receiver::start();
    let (k, pw, site) = setup();
    allow_loopback(&k);
    let server = k.server(&[]);
    let mut api = Api::signed_in(&server.base, "ann@acme.example", &pw);
    let form = json!({"fields": [{"name": "order", "kind": "text", "label_de": "Bestellnummer",
                                  "label_en": "Order number", "lookup": true}]});
    let r = api.put_json(&format!("/api/sites/{site}/form"), &form);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api.put_json(
        &format!("/api/sites/{site}/lookup"),
        &json!({"url": rx.url("/lookup")}),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    let driver = Driver::start();
    let (mut audit, started) = (Audit::default(), Instant::now());
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.wait_until("the dashboard", "return location.pathname === '/app/chats'");

    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(
        json!({"type": "start", "consent": true, "notice_version": "1", "name": "Vera",
                  "lang": "en", "fields": {"order": "AB-1234"}}),
    );
    v.recv_type("welcome");
    rx.wait_for(1);

    agent.wait_until(
        "Vera waiting",
        "return [...document.querySelectorAll('button')].some(b => b.getAttribute('aria-label') === 'Accept chat with Vera')",
    );
    agent.click(&agent.find_xpath("//button[@aria-label='Accept chat with Vera']"));
    agent.wait_until(
        "the order's fields in the chat",
        "const p = document.querySelector('.conv:not([hidden]) .conv-lookup'); \
         if (!p || p.hidden) return false; \
         const dl = p.querySelector('.lookup-fields'); \
         return !dl.hidden && dl.innerText.includes('shipped') && dl.innerText.includes('AB-1234') \
           && p.querySelector('input').value === 'AB-1234' \
           && p.querySelector('.lookup-status').textContent.startsWith('Found for AB-1234')",
    );
    audit.check(&agent, "chat: the look-up's fields");

    // Another value, by the button.
    let input = agent.find(".conv:not([hidden]) .conv-lookup input");
    agent.exec(
        "document.querySelector('.conv:not([hidden]) .conv-lookup input').value = ''; return true",
    );
    agent.type_text(&input, "CD-5678");
    agent.click(&agent.find_xpath(
        "//div[contains(@class,'conv') and not(@hidden)]//button[normalize-space()='Look up']",
    ));
    agent.wait_until(
        "the other order's fields",
        "const p = document.querySelector('.conv:not([hidden]) .conv-lookup'); \
         const dl = p.querySelector('.lookup-fields'); \
         return dl.innerText.includes('CD-5678') && !dl.innerText.includes('AB-1234')",
    );
    // The answer's markup is text: no element was made of it.
    assert_eq!(
        agent.exec(
            "const dl = document.querySelector('.conv:not([hidden]) .lookup-fields'); \
             return [dl.querySelectorAll('img').length, dl.innerText.includes('<img src=x onerror=alert(1)>')]"
        ),
        json!([0, true])
    );
    assert_eq!(rx.wait_for(2).len(), 2);

    // A system that answers with a web page: the agent reads why, the chat goes on.
    let r = api.put_json(
        &format!("/api/sites/{site}/lookup"),
        &json!({"url": rx.url("/notjson")}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    agent.click(&agent.find_xpath(
        "//div[contains(@class,'conv') and not(@hidden)]//button[normalize-space()='Look up']",
    ));
    agent.wait_until(
        "the error in words",
        "const p = document.querySelector('.conv:not([hidden]) .conv-lookup'); \
         return p.querySelector('.lookup-status').textContent.includes('the answer is not JSON') \
           && p.querySelector('.lookup-fields').hidden",
    );
    audit.check(&agent, "chat: a failed look-up");
    v.send(json!({"type": "message", "client_id": "v1", "text": "Hallo?"}));
    assert_eq!(v.recv_type("ack")["client_id"], "v1");
    audit.finish(started);
}
