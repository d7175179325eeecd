//! The online look-up in the dashboard, in Chromium against the real server and a real
//! business system (the test receiver): the agent accepts a chat whose pre-chat order number
//! was looked up when it started and sees the answer's fields in the chat; presses "Look up"
//! for another value and sees its fields (text, never HTML); an answer that is not JSON is
//! shown in words; the panel passes axe. And an admin marks a pre-chat field for look-up and
//! saves the site's look-up address in Settings › Sites, seeing the secret once.

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

#[test]
fn an_admin_marks_a_field_for_look_up_and_saves_the_address() {
    let rx = Receiver::start();
    let (k, pw, site) = setup();
    allow_loopback(&k);
    let server = k.server(&[]);
    let driver = Driver::start();
    let (mut audit, started) = (Audit::default(), Instant::now());
    let ann = driver.browser();
    sign_in(&ann, &server.base, &pw);
    ann.goto(&format!("{}/app/settings/sites", server.base));
    ann.wait_until(
        "the edit button",
        "return !!document.querySelector('.sites-edit')",
    );
    ann.click(&ann.find(".sites-edit"));
    ann.wait_until(
        "the look-up settings",
        "const f = document.querySelector('.lookup-settings');          return !!f && !!document.querySelector('.prechat-form')            && f.querySelector('h3').textContent === 'Online look-up'",
    );
    // A field of the pre-chat form, marked for look-up.
    ann.click(&ann.find_xpath(
        "//form[contains(@class,'prechat-form')]//button[normalize-space()='Add field']",
    ));
    ann.type_text(
        &ann.find(".prechat-field:nth-child(1) input[id$='-name']"),
        "order",
    );
    ann.type_text(
        &ann.find(".prechat-field:nth-child(1) input[id$='-label_en']"),
        "Order number",
    );
    ann.click(&ann.find_xpath("//label[starts-with(normalize-space(), 'Look up this value')]"));
    ann.click(&ann.find_xpath("//form[contains(@class,'prechat-form')]//button[@type='submit']"));
    ann.wait_until(
        "the form saved",
        "return document.querySelector('.prechat-form .form-status').textContent === 'Pre-chat form saved.'",
    );
    // A private address is refused in the server's words.
    let url = ann.find(".lookup-settings input[type=url]");
    ann.type_text(&url, "https://10.0.0.1/lookup");
    let save = "//form[contains(@class,'lookup-settings')]//button[@type='submit']";
    ann.click(&ann.find_xpath(save));
    ann.wait_until(
        "the refusal",
        "const e = document.querySelector('.lookup-settings .form-error');          return e.getAttribute('role') === 'alert' && e.textContent.includes('10.0.0.1 is a private address')",
    );
    ann.exec("document.querySelector('.lookup-settings input[type=url]').value = ''; return true");
    ann.type_text(&url, &rx.url("/lookup"));
    ann.click(&ann.find_xpath(save));
    ann.wait_until(
        "the secret, shown once",
        "const f = document.querySelector('.lookup-settings');          return f.querySelector('.form-status').textContent === 'The look-up address is saved.'            && f.querySelector('.lookup-secret').textContent.startsWith('klk_')",
    );
    audit.check(&ann, "settings: a site's look-up address and its secret");

    let mut api = Api::signed_in(&server.base, "ann@acme.example", &pw);
    let form = api.get(&format!("/api/sites/{site}/form")).json();
    assert_eq!(form["fields"][0]["lookup"], true, "{form}");
    let saved = api.get(&format!("/api/sites/{site}/lookup")).json();
    assert_eq!(saved["url"], rx.url("/lookup"));
    audit.finish(started);
}
