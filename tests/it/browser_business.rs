//! The whole story of running the business from the dashboard, in Chromium against the real
//! server, without a shell after the tenant and its admin exist: the admin adds a second
//! website, gives its widget the shop's colour, a German greeting and a logo, creates a
//! "Sales" department and invites two agents into it. Each agent opens their set-up link in a
//! browser of their own, chooses a password, signs in and takes a chat of that site: one from
//! a visitor in a browser on the German shop page (who sees the colour, greeting and logo),
//! one from a visitor who asked for Sales.

use crate::browser::{shop, sign_in};
use crate::common::{Browser as Http, Kontor, Ws};
use crate::webdriver::{Browser, Driver};
use serde_json::json;

/// Invites `name` into the department with id `sales` on the team part; returns the link.
fn invite(ann: &Browser, name: &str, email: &str, sales: i64) -> String {
    ann.wait_until(
        "the invitation form offers Sales",
        &format!("return !!document.getElementById('invite-dep-{sales}')"),
    );
    ann.type_text(&ann.find("#invite-name"), name);
    ann.type_text(&ann.find("#invite-email"), email);
    // The form keeps the departments of the last invitation ticked.
    let ticked = format!("return document.getElementById('invite-dep-{sales}').checked");
    if ann.exec(&ticked) != true {
        ann.click(&ann.find(&format!("label[for='invite-dep-{sales}']")));
    }
    assert_eq!(ann.exec(&ticked), true);
    ann.click(&ann.find("#invite-form button[type=submit]"));
    ann.wait_until(
        "the set-up link",
        &format!(
            "const l = document.getElementById('team-link'); \
             return !!l && l.value.includes('/setup/') && document.querySelector('label[for=team-link]').textContent.includes({email:?})"
        ),
    );
    ann.exec("return document.getElementById('team-link').value")
        .as_str()
        .unwrap()
        .to_string()
}

/// Sets the password on a set-up link, signs in and opens the chats page.
fn set_up_and_sign_in(b: &Browser, url: &str, email: &str, base: &str) {
    let password = "lantern orchard bicycle 93";
    b.goto(url);
    b.type_text(&b.find("#password"), password);
    b.type_text(&b.find("#confirm"), password);
    b.click(&b.find("button[type=submit]"));
    b.wait_until(
        "the password set",
        "return document.body.innerText.includes('Your password is set')",
    );
    b.goto(&format!("{base}/login?lang=en&next=/app/chats"));
    b.type_text(&b.find("#tenant"), "acme");
    b.type_text(&b.find("#email"), email);
    b.type_text(&b.find("#password"), password);
    b.click(&b.find_xpath("//button[normalize-space()='Sign in']"));
    b.wait_until(
        "the chats page",
        "return location.pathname === '/app/chats'",
    );
}

/// Accepts the waiting chat of `visitor` in `b`'s queue.
fn accept(b: &Browser, visitor: &str) {
    let button = format!("//button[@aria-label='Accept chat with {visitor}']");
    b.click(&b.find_xpath(&button));
}

#[test]
fn an_admin_runs_the_business_from_the_dashboard_alone() {
    let (k, pw) = Kontor::with_tenant();
    // The business's first site exists; the second is added in the browser.
    k.json(&[
        "site",
        "add",
        "acme",
        "--origin",
        "https://first-shop.example",
    ]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let origin = format!("http://localhost:{port}");
    let server = k.server(&[]);
    let logo = k.data_dir().join("logo.png");
    std::fs::write(&logo, crate::sites::PNG).unwrap();
    let driver = Driver::start();

    // The second website, its colour, German greeting and logo.
    let ann = driver.browser();
    sign_in(&ann, &server.base, &pw);
    ann.goto(&format!("{}/app/settings/sites", server.base));
    ann.wait_until(
        "the add button",
        "const b = document.getElementById('sites-add'); return !!b && !b.hidden",
    );
    ann.click(&ann.find("#sites-add"));
    ann.type_text(&ann.find("#sites-f-origins"), &origin);
    ann.exec(
        "const c = document.getElementById('sites-f-color'); c.value = '#1a7f37'; \
         c.dispatchEvent(new Event('input', {bubbles: true})); return true",
    );
    ann.type_text(
        &ann.find("#sites-f-greeting_de"),
        "Moin! Wie können wir helfen?",
    );
    ann.type_text(&ann.find("#sites-f-logo"), logo.to_str().unwrap());
    ann.click(&ann.find("#sites-form button[type=submit]"));
    ann.wait_until(
        "the site created with its logo",
        "const l = document.querySelector('.sites-pv-logo'); \
         return !document.getElementById('sites-form-error').textContent && !!l && (l.getAttribute('src') || '').startsWith('/widget/logo/')",
    );
    let mut admin = Http::signed_in(&server.base, "ann@acme.example", &pw);
    let sites = admin.get("/api/sites").json();
    let key = sites["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["origins"][0] == origin.as_str())
        .unwrap_or_else(|| panic!("the new site in {sites}"))["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    shop(
        port,
        format!(
            "<!doctype html><html lang=\"de\"><head><title>Laden</title></head><body><h1>Laden</h1>\
             <script src=\"{}/widget.js\" data-site=\"{key}\" async></script></body></html>",
            server.base
        ),
    );

    // The Sales department and two agents invited into it.
    ann.goto(&format!("{}/app/settings/team", server.base));
    ann.wait_until(
        "the department form",
        "return !!document.getElementById('department-name')",
    );
    ann.type_text(&ann.find("#department-name"), "Sales");
    ann.click(&ann.find("#department-form button[type=submit]"));
    let sales = {
        let mut id = None;
        crate::common::wait_until("Sales", std::time::Duration::from_secs(10), || {
            id = admin.get("/api/departments").json()["departments"]
                .as_array()
                .and_then(|d| d.iter().find(|d| d["name"] == "Sales"))
                .and_then(|d| d["id"].as_i64());
            id.is_some()
        });
        id.unwrap()
    };
    let dora_link = invite(&ann, "Dora", "dora@acme.example", sales);
    let emil_link = invite(&ann, "Emil", "emil@acme.example", sales);
    let agents = admin.get("/api/agents").json();
    for email in ["dora@acme.example", "emil@acme.example"] {
        let a = agents["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["email"] == email)
            .unwrap();
        assert_eq!(a["department_ids"], json!([sales]), "{a}");
        assert_eq!(a["invited"], true, "{a}");
    }
    // The admin leaves the dashboard (its socket closes): only the two new agents answer.
    ann.goto(&format!("{}/login", server.base));

    let dora = driver.browser();
    set_up_and_sign_in(&dora, &dora_link, "dora@acme.example", &server.base);
    let emil = driver.browser();
    set_up_and_sign_in(&emil, &emil_link, "emil@acme.example", &server.base);

    // A visitor on the German shop page sees the new look and is taken by Dora.
    let visitor = driver.browser();
    visitor.goto(&format!("{origin}/"));
    visitor.wait_until(
        "the launcher",
        "return !!document.querySelector('kontor-chat')",
    );
    assert_eq!(
        visitor
            .exec("return document.querySelector('kontor-chat').style.getPropertyValue('--k-bg')"),
        "#1a7f37"
    );
    let launcher = visitor.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('button')",
    );
    visitor.click(&launcher);
    let frame = visitor.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('iframe')",
    );
    visitor.enter_frame(&frame);
    visitor.wait_until(
        "the German greeting and the logo",
        "const g = document.getElementById('site-greeting'); const l = document.getElementById('logo'); \
         return !!g && !g.hidden && g.textContent.includes('Moin! Wie können wir helfen?') \
           && !!l && !l.hidden && l.complete && l.naturalWidth === 1 \
           && !document.getElementById('v-start').hidden",
    );
    visitor.type_text(&visitor.find("#s-name"), "Vera");
    visitor.click(&visitor.find("#s-consent"));
    visitor.click(&visitor.find("#start-btn"));
    visitor.type_text(&visitor.find("#msg"), "Ist mein Paket unterwegs?");
    visitor.click(&visitor.find("#send-btn"));
    dora.wait_until(
        "Vera waiting",
        "return [...document.querySelectorAll('button')].some(b => b.getAttribute('aria-label') === 'Accept chat with Vera')",
    );
    accept(&dora, "Vera");
    dora.wait_until(
        "Vera's message",
        "return document.body.innerText.includes('Ist mein Paket unterwegs?')",
    );
    dora.type_text(&dora.find("#reply-text"), "Ja, morgen ist es da.");
    dora.press(&["\u{E007}"]);
    visitor.wait_until(
        "Dora's reply",
        "return document.getElementById('log').innerText.includes('Ja, morgen ist es da.')",
    );

    // A visitor who asks for Sales is taken by Emil.
    let mut otto = Ws::visitor(&server.base, &key, &origin).unwrap();
    otto.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "Otto", "lang": "de", "department": sales}));
    otto.recv_type("welcome");
    emil.wait_until(
        "Otto waiting",
        "return [...document.querySelectorAll('button')].some(b => b.getAttribute('aria-label') === 'Accept chat with Otto')",
    );
    accept(&emil, "Otto");
    assert_eq!(otto.recv_type("agent")["name"], "Emil");

    // Both chats belong to the new site; no agent account was touched on the command line.
    let trail = k.json(&["audit", "list", "acme", "--action", "agent.setup"]);
    assert_eq!(trail.as_array().map(Vec::len), Some(2), "{trail}");
}
