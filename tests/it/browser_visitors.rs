//! Visitor monitoring end to end in headless Chromium: a visitor reads three pages of a shop on
//! another origin; the agent's Visitors view shows each page within a second, in order; the
//! agent invites, the visitor accepts, opts in and chats. The shop's browser holds no cookie
//! and no storage entry from kontor afterwards.

use crate::common::Kontor;
use crate::webdriver::{Browser, Driver};

/// Serves the shop: every path is a page titled after it, embedding the widget.
fn shop(listener: std::net::TcpListener, base: String, key: String) {
    crate::browser::serve_pages(listener, move |path| {
        let title = match path.split('?').next().unwrap_or("/") {
            "/" => "Home",
            "/products" => "Products",
            "/pricing" => "Pricing",
            _ => "Other",
        };
        format!(
            "<!doctype html><html lang=\"en\"><head><title>{title}</title></head><body>\
             <h1>{title}</h1><script src=\"{base}/widget.js\" data-site=\"{key}\" async>\
             </script></body></html>"
        )
    });
}

pub fn sign_in(agent: &Browser, base: &str, pw: &str) {
    sign_in_as(agent, base, "ann@acme.example", pw, "/app/visitors");
}

/// Signs an agent of `acme` in through the sign-in form and opens `section` (`/app/…`).
pub fn sign_in_as(b: &Browser, base: &str, email: &str, pw: &str, section: &str) {
    b.goto(&format!("{base}/login?lang=en&next={section}"));
    b.type_text(&b.find("#tenant"), "acme");
    b.type_text(&b.find("#email"), email);
    b.type_text(&b.find("#password"), pw);
    b.click(&b.find_xpath("//button[normalize-space()='Sign in']"));
    b.wait_until(
        "the dashboard",
        "return location.pathname.startsWith('/app/')",
    );
    if b.exec("return location.pathname") != section {
        b.goto(&format!("{base}{section}"));
    }
}

#[test]
fn agent_sees_a_visitors_pages_live_then_invites_and_chats() {
    let (k, pw) = Kontor::with_tenant();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let shop_origin = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let site = k.json(&["site", "add", "acme", "--origin", &shop_origin]);
    let key = site["site_key"].as_str().unwrap().to_string();
    let server = k.server(&[]);
    shop(listener, server.base.clone(), key);

    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.find("#visitor-list");
    // When each title first appears in the list (epoch ms, the page's own clock).
    agent.exec(
        "window.__seen = {}; const list = document.getElementById('visitor-list'); \
         new MutationObserver(() => { for (const t of ['Home', 'Products', 'Pricing']) \
           if (!window.__seen[t] && list.textContent.includes(t)) window.__seen[t] = Date.now(); }) \
         .observe(list, {subtree: true, childList: true, characterData: true}); return true",
    );

    let visitor = driver.browser();
    for (path, title) in [
        ("/", "Home"),
        ("/products", "Products"),
        ("/pricing", "Pricing"),
    ] {
        visitor.goto(&format!("{shop_origin}{path}"));
        let started = visitor
            .exec("return performance.timeOrigin")
            .as_f64()
            .unwrap();
        agent.wait_until(
            &format!("{title} in the Visitors view"),
            &format!("return !!window.__seen['{title}']"),
        );
        let seen = agent
            .exec(&format!("return window.__seen['{title}']"))
            .as_f64()
            .unwrap();
        let ms = seen - started;
        eprintln!("{title}: in the agent's view {ms:.0} ms after the navigation started");
        assert!(
            ms < 1000.0,
            "{title} appeared {ms:.0} ms after the navigation started"
        );
    }

    // The visit's pages, in order, in the detail pane.
    let row = agent.find("#visitor-list [data-visitor-id]");
    agent.click(&row);
    agent.wait_until(
        "the three pages in the detail pane",
        "return document.querySelectorAll('#visitor-pages li').length === 3",
    );
    let order = agent.exec(
        "return [...document.querySelectorAll('#visitor-pages li')].map(li => \
         ['Home', 'Products', 'Pricing'].find(t => li.textContent.includes(t)) || '?')",
    );
    assert_eq!(order, serde_json::json!(["Home", "Products", "Pricing"]));

    // Invite; the visitor's page shows the invitation (with the next heartbeat) and accepts.
    agent.click(&agent.find("#visitor-detail .v-invite, #visitor-list .v-invite"));
    let card =
        "return document.querySelector('kontor-chat').shadowRoot.getElementById('kontor-invite')";
    visitor.wait_until(
        "the invitation",
        &format!("const c = (() => {{ {card} }})(); return !!c && !c.hidden"),
    );
    // The site's default invitation text, in the page's language.
    visitor.wait_until(
        "the invitation text",
        "return document.querySelector('kontor-chat').shadowRoot.getElementById('kontor-invite-text').textContent.includes('May I help you?')",
    );
    let accept = visitor.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.getElementById('kontor-invite-accept')",
    );
    visitor.click(&accept);
    let frame = visitor.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('iframe')",
    );
    visitor.enter_frame(&frame);
    visitor.wait_until(
        "the invitation greeting",
        "return document.body.innerText.includes('Ann')",
    );
    visitor.type_text(&visitor.find("#s-name"), "Vera");
    visitor.click(&visitor.find("#s-consent"));
    visitor.click(&visitor.find("#start-btn"));
    visitor.type_text(&visitor.find("#msg"), "Which plan fits a shop of three?");
    visitor.click(&visitor.find_xpath("//button[normalize-space()='Send']"));

    // The Visitors view shows the chat; the agent takes it in the chats area and replies.
    agent.wait_until(
        "the chat state in the Visitors view",
        "const c = document.querySelector('#visitor-list [data-visitor-id] .v-chat'); \
         return !!c && c.textContent.trim() !== '' && c.textContent.trim() !== '–'",
    );
    agent.goto(&format!("{}/app/chats", server.base));
    agent.click(&agent.find_xpath("//button[normalize-space()='Accept']"));
    agent.wait_until(
        "the visitor's message",
        "return document.body.innerText.includes('Which plan fits a shop of three?')",
    );
    // The chat shows the pages the visitor read before.
    agent.wait_until(
        "the visitor's pages beside the chat",
        "return document.querySelectorAll('.chat-visitor-page').length === 3",
    );
    agent.type_text(&agent.find("#reply-text"), "The small plan.");
    agent.press(&["\u{E007}"]);
    visitor.wait_until(
        "the reply",
        "return document.getElementById('log').innerText.includes('The small plan.')",
    );

    // The shop's own browser state: no cookie, and in anonymous mode nothing in localStorage
    // (sessionStorage keeps only the open chat panel's state, after the opt-in).
    visitor.leave_frame();
    assert!(visitor.cookies().is_empty(), "cookies on the shop");
    assert_eq!(
        visitor.exec("return [document.cookie, localStorage.length]"),
        serde_json::json!(["", 0])
    );
    drop(visitor);
    drop(agent);
}

#[test]
fn anonymous_tracking_leaves_no_cookie_and_no_storage_in_the_browser() {
    let (k, _pw) = Kontor::with_tenant();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let shop_origin = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let site = k.json(&["site", "add", "acme", "--origin", &shop_origin]);
    let key = site["site_key"].as_str().unwrap().to_string();
    let server = k.server(&[]);
    shop(listener, server.base.clone(), key);
    let driver = Driver::start();
    let visitor = driver.browser();
    for path in ["/", "/products", "/pricing"] {
        visitor.goto(&format!("{shop_origin}{path}"));
        visitor.wait_until(
            "the launcher",
            "return !!document.querySelector('kontor-chat')",
        );
    }
    // Let the heartbeat (every 5 s in the browser) run once: the page view and one ping.
    visitor.wait_until(
        "a heartbeat",
        "return performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/track')).length >= 2",
    );
    assert!(visitor.cookies().is_empty(), "cookies on the shop");
    assert_eq!(
        visitor.exec("return [document.cookie, localStorage.length, sessionStorage.length]"),
        serde_json::json!(["", 0, 0])
    );
    // And none on kontor's origin either (the reports are sent without credentials).
    visitor.goto(&format!("{}/healthz", server.base));
    assert!(visitor.cookies().is_empty(), "cookies on kontor's origin");
    drop(visitor);
    let mut server = server;
    assert_eq!(server.stop(), Some(0));
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let views: i64 = db
        .with(|c| Ok(c.query_row("SELECT count(*) FROM page_views", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(views, 3, "the three page views were stored");
}

#[test]
fn two_thousand_visitors_update_row_by_row() {
    let (k, pw) = Kontor::with_tenant();
    let origin = "https://shop.example";
    let site = k.json(&["site", "add", "acme", "--origin", origin]);
    let key = site["site_key"].as_str().unwrap().to_string();
    let server = k.server(&[]);
    let report = |ua: String, pv: String, url: &str, title: &str| {
        let mut b = crate::common::Browser::new(&server.base);
        let body = serde_json::json!({"t": "view", "pv": pv, "url": url, "title": title});
        let r = b.post_bytes(
            &format!("/api/track?site={key}"),
            &[("Origin", origin), ("User-Agent", &ua)],
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    };
    std::thread::scope(|s| {
        for t in 0..8 {
            let report = &report;
            s.spawn(move || {
                for i in (t..2000).step_by(8) {
                    report(
                        format!("UA {i}"),
                        format!("{i:016x}"),
                        "https://shop.example/",
                        "Home",
                    );
                }
            });
        }
    });
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.wait_until(
        "2,000 rows",
        "return document.querySelectorAll('#visitor-list [data-visitor-id]').length === 2000",
    );
    agent.exec(
        "for (const r of document.querySelectorAll('#visitor-list [data-visitor-id]')) r.__kept = true; return true",
    );
    report(
        "UA 1234".into(),
        "f0000000000004d2".into(),
        "https://shop.example/pricing",
        "Pricing",
    );
    agent.wait_until(
        "the one visitor's new page",
        "return [...document.querySelectorAll('#visitor-list .v-page')].some(c => c.textContent.includes('Pricing'))",
    );
    // Every row element is the one that was there before: nothing was rebuilt.
    assert_eq!(
        agent.exec(
            "const rows = [...document.querySelectorAll('#visitor-list [data-visitor-id]')]; \
             return [rows.length, rows.filter(r => r.__kept).length]"
        ),
        serde_json::json!([2000, 2000])
    );
}
