//! The FAQ in headless Chromium: the admin writes, orders and removes a site's questions in
//! Settings › Sites (an answer over its limit is refused beside its field); a visitor on the
//! shop searches them (case and diacritics ignored; German or English by the page, English
//! where an entry has no German), opens an answer and still starts a chat, or leaves a message
//! while nobody is online; the statistics page counts the answers read and the chat started
//! after one. axe audits the FAQ view and the editor.

use crate::accessibility::Audit;
use crate::browser::{open_widget, shop, shop_site, sign_in};
use crate::common::{Browser as Http, Kontor, wait_until};
use crate::webdriver::Driver;
use serde_json::json;
use std::time::{Duration, Instant};

fn shop_page(base: &str, key: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><title>Shop</title></head><body><h1>Shop</h1>\
         <script src=\"{base}/widget.js\" data-site=\"{key}\" async></script></body></html>"
    )
}

/// Waits until the frame shows `view`.
fn shown(b: &crate::webdriver::Browser, view: &str) {
    b.wait_until(
        &format!("the view {view}"),
        &format!("const v = document.getElementById('{view}'); return !!v && !v.hidden"),
    );
}

#[test]
fn the_admin_writes_a_sites_questions_in_the_dashboard() {
    let started = Instant::now();
    let (k, pw) = Kontor::with_tenant();
    let (_, _, key) = shop_site(&k);
    let server = k.server(&[]);
    let driver = Driver::start();
    let ann = driver.browser();
    sign_in(&ann, &server.base, &pw);
    ann.goto(&format!("{}/app/settings/sites", server.base));
    ann.wait_until(
        "the edit button",
        "return !!document.querySelector('.sites-edit')",
    );
    ann.click(&ann.find(".sites-edit"));
    ann.wait_until(
        "the FAQ editor",
        "return !!document.querySelector('.faq-editor .faq-add')",
    );
    ann.click(&ann.find(".faq-editor .faq-add"));
    ann.wait_until(
        "a new entry with focus on its German question",
        "return document.activeElement && document.activeElement.name === 'question_de'",
    );
    let field =
        |n: usize, name: &str| ann.find(&format!(".faq-entry:nth-child({n}) [name='{name}']"));
    ann.type_text(&field(1, "question_de"), "Wie lange dauert der Versand?");
    ann.type_text(&field(1, "answer_de"), "Zwei bis drei Werktage.");
    ann.type_text(&field(1, "question_en"), "How long does shipping take?");
    ann.type_text(&field(1, "answer_en"), "Two to three working days.");
    ann.click(&ann.find(".faq-entry:nth-child(1) button[type='submit']"));
    ann.wait_until(
        "saved",
        "return document.querySelector('.faq-entry:nth-child(1) .form-status').textContent === 'Question saved.'",
    );

    // A second entry whose answer is over the limit: refused beside the field, nothing saved.
    ann.click(&ann.find(".faq-editor .faq-add"));
    ann.type_text(&field(2, "question_en"), "Returns?");
    ann.exec(
        "const a = document.querySelector(\".faq-entry:nth-child(2) [name='answer_en']\"); \
         a.value = 'x'.repeat(2001); return true",
    );
    ann.click(&ann.find(".faq-entry:nth-child(2) button[type='submit']"));
    ann.wait_until(
        "the refusal marks the answer",
        "const a = document.querySelector(\".faq-entry:nth-child(2) [name='answer_en']\"); \
         const e = document.querySelector('.faq-entry:nth-child(2) .form-error'); \
         return a.getAttribute('aria-invalid') === 'true' && document.activeElement === a && \
           e.getAttribute('role') === 'alert' && e.textContent.includes('at most 2000')",
    );
    let mut http = Http::signed_in(&server.base, "ann@acme.example", &pw);
    let saved = http.get(&format!("/api/sites/{key}/faqs")).json();
    assert_eq!(saved["faqs"].as_array().unwrap().len(), 1, "{saved}");
    assert_eq!(saved["faqs"][0]["answer_en"], "Two to three working days.");
    let mut audit = Audit::default();
    audit.check(&ann, "dashboard FAQ editor with a refusal");

    // Corrected and saved, then moved to the top: the server has the new order.
    ann.exec(
        "const a = document.querySelector(\".faq-entry:nth-child(2) [name='answer_en']\"); \
         a.value = 'Within 30 days.'; return true",
    );
    ann.click(&ann.find(".faq-entry:nth-child(2) button[type='submit']"));
    ann.wait_until(
        "the second saved",
        "return document.querySelector('.faq-entry:nth-child(2) .form-status').textContent === 'Question saved.' && \
         !document.querySelector(\".faq-entry:nth-child(2) [name='answer_en']\").hasAttribute('aria-invalid')",
    );
    ann.click(&ann.find(".faq-entry:nth-child(2) .faq-up"));
    ann.wait_until(
        "moved up, said so",
        "return document.querySelector(\".faq-entry:nth-child(1) [name='question_en']\").value === 'Returns?' && \
         document.querySelector('.faq-editor > .form-status').textContent === 'Moved to place 1.' && \
         document.querySelector('.faq-entry:nth-child(1) .faq-up').hidden",
    );
    let order = |http: &mut Http| -> Vec<String> {
        http.get(&format!("/api/sites/{key}/faqs")).json()["faqs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["question_en"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        order(&mut http),
        ["Returns?", "How long does shipping take?"]
    );

    // Removed in the editor, gone on the server.
    ann.click(&ann.find_xpath(
        "//li[contains(@class,'faq-entry')][1]//button[normalize-space()='Remove question']",
    ));
    ann.wait_until(
        "removed",
        "return document.querySelectorAll('.faq-entry').length === 1 && \
         document.activeElement.classList.contains('faq-add')",
    );
    assert_eq!(order(&mut http), ["How long does shipping take?"]);
    audit.finish(started);
}

#[test]
fn a_visitor_searches_the_faq_reads_an_answer_and_still_chats() {
    let started = Instant::now();
    let (k, pw) = Kontor::with_tenant();
    let (shop_port, shop_origin, key) = shop_site(&k);
    let server = k.server(&[]);
    shop(shop_port, shop_page(&server.base, &key));
    let mut http = Http::signed_in(&server.base, "ann@acme.example", &pw);
    for (i, (q, a)) in [
        ("How long does shipping take?", "Two to three working days."),
        ("Do you deliver to Österreich?", "Yes, within a week."),
        (
            "Can I return an item?",
            "Yes, within 30 days.\nShipping back is <b>free</b> <img src=x onerror=\"window.pwned=1\">.",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let r = http.post_json(
            &format!("/api/sites/{key}/faqs"),
            &json!({"question_en": q, "answer_en": a, "position": i}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let driver = Driver::start();
    let visitor = driver.browser();
    let mut audit = Audit::default();

    // Nobody online: the questions first, and "Still want to chat?" leads to the message form.
    open_widget(&visitor, &format!("{shop_origin}/"));
    shown(&visitor, "v-faq");
    visitor.wait_until(
        "three questions",
        "return document.querySelectorAll('#faq-list .faq-q').length === 3",
    );
    assert_eq!(
        visitor.text(&visitor.find("#faq-chat")),
        "Leave us a message"
    );
    visitor.click(&visitor.find("#faq-chat"));
    shown(&visitor, "v-offline");
    visitor.click(&visitor.find("#v-offline .faq-back"));
    shown(&visitor, "v-faq");

    // Ann comes online; the visitor opens the chat on a new page.
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    let mut cfg = Http::new(&server.base);
    cfg.headers.push(("Origin".into(), shop_origin.clone()));
    wait_until("the agent is online", Duration::from_secs(20), || {
        cfg.get(&format!("/api/widget/config?site={key}")).json()["available"] == true
    });
    open_widget(&visitor, &format!("{shop_origin}/"));
    shown(&visitor, "v-faq");
    visitor.wait_until(
        "the questions",
        "return document.querySelectorAll('#faq-list .faq-q').length === 3",
    );
    // Lower case, no umlaut: the question is found all the same; the count is announced.
    visitor.type_text(&visitor.find("#faq-search"), "osterreich deliver");
    visitor.wait_until(
        "one match, announced",
        "const q = [...document.querySelectorAll('#faq-list .faq-q')]; \
         return q.length === 1 && q[0].textContent === 'Do you deliver to Österreich?' && \
           document.getElementById('faq-count').textContent === '1 question found'",
    );
    // A word from the answers only: question hits first, then answer hits.
    visitor.exec("const s = document.getElementById('faq-search'); s.value = ''; return true");
    visitor.type_text(&visitor.find("#faq-search"), "SHIPPING");
    visitor.wait_until(
        "the question hit above the answer hit",
        "const q = [...document.querySelectorAll('#faq-list .faq-q')].map(b => b.textContent); \
         return q.length === 2 && q[0] === 'How long does shipping take?' && q[1] === 'Can I return an item?'",
    );
    visitor.exec("const s = document.getElementById('faq-search'); s.value = ''; return true");
    visitor.type_text(&visitor.find("#faq-search"), "parcel");
    visitor.wait_until(
        "nothing found, said so",
        "return document.querySelectorAll('#faq-list .faq-q').length === 0 && \
         document.getElementById('faq-count').textContent.startsWith('No question matches')",
    );
    visitor.exec("const s = document.getElementById('faq-search'); s.value = ''; return true");
    visitor.type_text(&visitor.find("#faq-search"), "return");

    // Opening the answer: a disclosure button, the answer as text with its line break (markup
    // in it shows as written and runs nothing).
    visitor.wait_until(
        "the return question",
        "return document.querySelectorAll('#faq-list .faq-q').length === 1",
    );
    let question = visitor.find("#faq-list .faq-q");
    visitor.click(&question);
    visitor.wait_until(
        "the answer shown",
        "const b = document.querySelector('#faq-list .faq-q'); \
         const a = document.getElementById(b.getAttribute('aria-controls')); \
         return b.getAttribute('aria-expanded') === 'true' && !a.hidden && \
           a.innerText === 'Yes, within 30 days.\\nShipping back is <b>free</b> <img src=x onerror=\"window.pwned=1\">.' && \
           a.children.length === 0 && !window.pwned",
    );
    audit.check(&visitor, "chat frame: FAQ with an open answer");
    wait_until("the view counted", Duration::from_secs(10), || {
        http.get("/api/stats").json()["headline"]["faq_views"] == 1
    });
    // Closing and opening again counts no second view.
    visitor.click(&question);
    visitor.click(&question);

    // Still want to chat: the start form, then the chat.
    assert_eq!(visitor.text(&visitor.find("#faq-chat")), "Chat with us");
    visitor.click(&visitor.find("#faq-chat"));
    shown(&visitor, "v-start");
    visitor.wait_until(
        "focus in the start form",
        "return document.activeElement.id === 's-name'",
    );
    visitor.type_text(&visitor.find("#s-name"), "Vera");
    visitor.click(&visitor.find("#s-consent"));
    visitor.click(&visitor.find("#start-btn"));
    shown(&visitor, "v-chat");
    wait_until(
        "the chat after the FAQ counted",
        Duration::from_secs(10),
        || {
            let h = http.get("/api/stats").json()["headline"].clone();
            h["chats"] == 1 && h["chats_after_faq"] == 1
        },
    );
    assert_eq!(http.get("/api/stats").json()["headline"]["faq_views"], 1);

    // The statistics page shows both figures and the most read answer.
    agent.goto(&format!("{}/app/statistics", server.base));
    agent.wait_until(
        "the FAQ figures",
        "const v = (k) => { const c = document.querySelector(`.stat-card[data-figure=\"${k}\"] .stat-value`); \
           return c && c.textContent.trim(); }; \
         return v('faq_views') === '1' && v('chats_after_faq') === '1' && \
           !!document.querySelector('[data-table=\"faqs\"]') && \
           document.querySelector('[data-table=\"faqs\"]').innerText.includes('Can I return an item?')",
    );
    audit.check(&agent, "statistics with FAQ figures");
    audit.finish(started);
}

#[test]
fn a_german_visitor_reads_german_questions_and_english_ones_where_there_is_no_german() {
    let started = Instant::now();
    let (k, pw) = Kontor::with_tenant();
    let (shop_port, shop_origin, key) = shop_site(&k);
    let server = k.server(&[]);
    shop(
        shop_port,
        shop_page(&server.base, &key).replace("lang=\"en\"", "lang=\"de\""),
    );
    let mut http = Http::signed_in(&server.base, "ann@acme.example", &pw);
    for (i, body) in [
        json!({"question_de": "Wie lange dauert der Versand?", "answer_de": "Zwei bis drei Werktage.",
               "question_en": "How long does shipping take?", "answer_en": "Two to three working days."}),
        json!({"question_en": "Do you ship abroad?", "answer_en": "Yes."}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = body;
        body["position"] = json!(i);
        let r = http.post_json(&format!("/api/sites/{key}/faqs"), &body);
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let driver = Driver::start();
    let visitor = driver.browser();
    open_widget(&visitor, &format!("{shop_origin}/"));
    shown(&visitor, "v-faq");
    visitor.wait_until(
        "the German view",
        "const q = [...document.querySelectorAll('#faq-list .faq-q')].map(b => b.textContent); \
         return q.length === 2 && q[0] === 'Wie lange dauert der Versand?' && q[1] === 'Do you ship abroad?' && \
           document.querySelector('label[for=\"faq-search\"]').textContent === 'Fragen durchsuchen' && \
           document.getElementById('faq-count').textContent === '2 Fragen gefunden' && \
           document.getElementById('faq-chat').textContent === 'Hinterlassen Sie uns eine Nachricht'",
    );
    visitor.type_text(&visitor.find("#faq-search"), "werktage");
    visitor.wait_until(
        "found by a word of the answer",
        "const q = document.querySelectorAll('#faq-list .faq-q'); \
         return q.length === 1 && document.getElementById('faq-count').textContent === '1 Frage gefunden'",
    );
    let mut audit = Audit::default();
    audit.check(&visitor, "chat frame: FAQ (de)");
    audit.finish(started);
}
