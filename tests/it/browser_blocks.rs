//! Blocking in real browsers: an agent blocks the visitor of a chat from the dashboard; the
//! chat ends, the visitor's next start shows the business's offline text without a form; the
//! block is listed on the History page and lifted there. Both pages pass the axe audit.

use crate::accessibility::Audit;
use crate::browser::{open_widget, shop, shop_site, sign_in};
use crate::common::Kontor;
use crate::webdriver::Driver;
use std::time::Instant;

#[test]
fn an_agent_blocks_a_visitor_from_the_chat_and_lifts_it_in_history() {
    let (k, pw) = Kontor::with_tenant();
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
    let (mut audit, started) = (Audit::default(), Instant::now());
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);

    let visitor = driver.browser();
    let open_chat = || {
        open_widget(&visitor, &format!("{shop_origin}/"));
        visitor.wait_until(
            "the start form",
            "return !document.getElementById('v-start').hidden",
        );
        visitor.type_text(&visitor.find("#s-name"), "Mallory");
        visitor.click(&visitor.find("#s-consent"));
        visitor.click(&visitor.find("#start-btn"));
    };
    open_chat();
    visitor.type_text(&visitor.find("#msg"), "buy cheap watches");
    visitor.click(&visitor.find("#send-btn"));

    agent.click(&agent.find_xpath("//button[normalize-space()='Accept']"));
    agent.wait_until(
        "the visitor's message",
        "return document.body.innerText.includes('buy cheap watches')",
    );
    agent.click(&agent.find_xpath("//button[normalize-space()='Block visitor']"));
    agent.wait_until(
        "the block form, focused",
        "const p = document.activeElement; return !!p && p.id.startsWith('block-period-')",
    );
    audit.check(&agent, "a chat with the block form open");
    agent.type_text(&agent.find("input[id^='block-reason-']"), "advertising");
    agent.click(
        &agent.find_xpath("//form[starts-with(@id,'block-')]//button[normalize-space()='Block']"),
    );
    agent.wait_until(
        "the block confirmed",
        "return [...document.querySelectorAll('[role=status]')].some(s => s.textContent.startsWith('Blocked until'))",
    );
    // The visitor's chat ended.
    visitor.wait_until(
        "the chat ended",
        "return document.body.innerText.toLowerCase().includes('ended')",
    );

    // A new chat from the same browser: the offline text, no form.
    visitor.exec("localStorage.clear(); sessionStorage.clear(); return true");
    open_chat();
    visitor.wait_until(
        "the offline text without a form",
        "return !document.getElementById('v-offline').hidden \
           && document.getElementById('offline-form').hidden",
    );
    audit.check(&visitor, "the widget of a blocked visitor");

    // History lists the block with its reason; lifting it there frees the visitor.
    agent.goto(&format!("{}/app/history", server.base));
    agent.wait_until(
        "the block in the list",
        "const p = document.querySelector('.blocks-panel'); \
         return !!p && p.innerText.includes('advertising') && p.innerText.includes('blocked by Ann')",
    );
    audit.check(&agent, "History with a block in force");
    agent.click(&agent.find_xpath(
        "//section[contains(@class,'blocks-panel')]//button[normalize-space()='Lift']",
    ));
    agent.wait_until(
        "the block lifted",
        "const p = document.querySelector('.blocks-panel'); \
         return p.innerText.includes('Block lifted.') && p.innerText.includes('Lifted on') \
           && !p.querySelector('button')",
    );
    visitor.exec("localStorage.clear(); sessionStorage.clear(); return true");
    open_chat();
    visitor.wait_until(
        "a chat again",
        "return !document.getElementById('v-chat').hidden",
    );
    audit.finish(started);
}
