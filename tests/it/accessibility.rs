//! An automated accessibility audit in headless Chromium: axe-core (vendored in
//! tests/tools/axe-core, never served by kontor) is injected into every page and every state
//! of the widget and the dashboard, in English and German, and run with the WCAG 2.0, 2.1 and
//! 2.2 A and AA rules and axe's best practices. Any serious or critical violation fails the
//! test; a moderate or minor one fails it unless docs/accessibility.md lists it as a known
//! exception (EXCEPTIONS below, with the same rule ids).
//!
//! Covered: the loader's launcher and invitation card on a shop page of another origin; the
//! chat frame offline (nobody online), at opt-in, waiting, chatting, rating and ended; the
//! launcher with its card and the open frame at 320 CSS px and at 200 % zoom (a 1280×900
//! window zoomed to 200 % is a 640×450 CSS px viewport at device pixel ratio 2, which is what
//! is emulated); the sign-in pages (password, set-up of a second factor, recovery codes,
//! code); every dashboard area with visitors online, a waiting and an active chat, history,
//! statistics over some days, canned responses, rules, campaigns, goals, notices, agents and
//! roles.

use crate::browser_visitors::sign_in;
use crate::common::{Kontor, Ws};
use crate::webdriver::{Browser, Driver};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const AXE: &str = include_str!("../tools/axe-core/axe.min.js");

const ENTER: &str = "\u{E007}";

/// Moderate or minor rules docs/accessibility.md lists as known exceptions, with its reason.
const EXCEPTIONS: &[&str] = &[];

/// The rule sets run: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices.
const TAGS: &str =
    "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa', 'best-practice']";

/// What the audit found, by page or state.
#[derive(Default)]
pub(crate) struct Audit {
    failures: Vec<String>,
    /// Rule id and impact → where it was found.
    found: BTreeMap<(String, String), BTreeSet<String>>,
    runs: usize,
}

impl Audit {
    /// Runs axe on the current document (the page, or the frame switched into).
    pub(crate) fn check(&mut self, b: &Browser, what: &str) {
        if b.exec("return typeof window.axe === 'object'") != Value::Bool(true) {
            b.exec(&format!("{AXE}\n;return true"));
        }
        // Cross-origin frames are audited on their own, from inside (iframes: false).
        let v = b.exec(&format!(
            "return axe.run(document, {{runOnly: {{type: 'tag', values: {TAGS}}}, \
               resultTypes: ['violations'], iframes: false}}).then((r) => r.violations.map((v) => \
               ({{id: v.id, impact: v.impact, help: v.help, \
                 targets: v.nodes.slice(0, 6).map((n) => JSON.stringify(n.target))}})) \
                 .concat([{{passed: r.passes.length}}]))"
        ));
        self.runs += 1;
        for v in v.as_array().unwrap_or_else(|| panic!("axe on {what}: {v}")) {
            // The count of rules passed, last: a page axe saw next to nothing of fails too.
            if let Some(passed) = v.get("passed") {
                assert!(
                    passed.as_u64() >= Some(15),
                    "axe passed only {passed} rules on {what}"
                );
                continue;
            }
            let id = v["id"].as_str().unwrap_or("?").to_string();
            let impact = v["impact"].as_str().unwrap_or("?").to_string();
            let line = format!(
                "{what}: {id} ({impact}): {} at {}",
                v["help"].as_str().unwrap_or(""),
                v["targets"]
            );
            if matches!(impact.as_str(), "serious" | "critical") {
                self.failures.push(line);
            } else if !EXCEPTIONS.contains(&id.as_str()) {
                self.failures.push(format!(
                    "{line} (neither fixed nor in docs/accessibility.md)"
                ));
            }
            self.found
                .entry((id, impact))
                .or_default()
                .insert(what.to_string());
        }
    }

    pub(crate) fn finish(self, started: Instant) {
        eprintln!(
            "axe: {} audits in {:.0} s",
            self.runs,
            started.elapsed().as_secs_f64()
        );
        for ((id, impact), wheres) in &self.found {
            eprintln!("axe found {id} ({impact}) on: {wheres:?}");
        }
        assert!(
            self.failures.is_empty(),
            "accessibility violations:\n{}",
            self.failures.join("\n")
        );
    }
}

/// The shop: every path is a page titled after it, in the language its first segment names.
fn shop(listener: std::net::TcpListener, base: String, key: String) {
    crate::browser::serve_pages(listener, move |path| {
        let lang = if path.starts_with("/de") { "de" } else { "en" };
        let title = path.trim_matches('/').replace('/', " ");
        format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <title>Shop {title}</title></head><body><header><p>Shop</p></header>\
             <main><h1>Shop {title}</h1><p>Our products.</p></main>\
             <script src=\"{base}/widget.js\" data-site=\"{key}\" async></script></body></html>"
        )
    });
}

const WIDGET: &str = "document.querySelector('kontor-chat')";

fn launcher(v: &Browser) {
    v.wait_until(
        "the launcher",
        &format!("const w = {WIDGET}; return !!w && !!w.shadowRoot && !!w.shadowRoot.querySelector('button')"),
    );
}

/// Switches into the chat frame and waits for `view` to be shown.
fn into_frame(v: &Browser, view: &str) {
    let frame = v.element_from(&format!(
        "return {WIDGET}.shadowRoot.querySelector('iframe')"
    ));
    v.enter_frame(&frame);
    v.wait_until(
        &format!("the frame's {view}"),
        &format!("const e = document.getElementById('{view}'); return !!e && !e.hidden"),
    );
}

/// Emulates a viewport of `w`×`h` CSS px at device pixel ratio `dpr`.
fn viewport(b: &Browser, w: u32, h: u32, dpr: u32) {
    b.cdp(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": w, "height": h, "deviceScaleFactor": dpr, "mobile": false}),
    );
}

fn full_viewport(b: &Browser) {
    b.cdp("Emulation.clearDeviceMetricsOverride", json!({}));
}

/// Waits for `script` to be true, then a moment for the last requests to be drawn.
fn settle(b: &Browser, what: &str, script: &str) {
    b.wait_until(what, script);
    std::thread::sleep(Duration::from_millis(300));
}

/// Every dashboard area, with the data of the fixture.
fn dashboard(a: &mut Audit, agent: &Browser, base: &str, lang: &str) {
    let pages: [(&str, &str); 12] = [
        (
            "chats",
            "return !!document.querySelector('.q-accept') && !!document.getElementById('reply-text')",
        ),
        (
            "visitors",
            "return document.querySelectorAll('#visitor-list [data-visitor-id]').length >= 3",
        ),
        (
            "history",
            "return !!document.getElementById('hist-results-title') && !!document.querySelector('#section-app table tbody tr')",
        ),
        (
            "statistics?from=2026-01-14&to=2026-01-17",
            "return !!document.querySelector('svg.stat-chart[data-chart=\"visits_by_day\"]') \
               && !!document.querySelector('[data-table=\"top_pages\"]')",
        ),
        (
            "settings/campaigns",
            "return !!document.querySelector('#campaign-list [data-campaign-id]') \
               && !!document.querySelector('#goal-list') && document.getElementById('goal-list').textContent.includes('signup')",
        ),
        (
            "settings/general",
            "return !!document.querySelector('#settings-part-general:not([hidden]) section')",
        ),
        (
            "settings/tracking",
            "return !!document.querySelector('#settings-part-tracking:not([hidden]) section')",
        ),
        (
            "settings/notices",
            "return !!document.querySelector('#settings-part-notices:not([hidden]) section')",
        ),
        (
            "settings/team",
            "return !!document.querySelector('#team-roles tr[data-role-id]')",
        ),
        (
            "settings/chat",
            "return !!document.querySelector('.canned-table:not([hidden])')",
        ),
        (
            "settings/profile",
            "return document.getElementById('profile-name')?.value !== '' \
               && document.querySelectorAll('#signins-table tbody tr').length > 0",
        ),
        (
            "privacy",
            "return !!document.getElementById('retention-form')",
        ),
    ];
    for (path, ready) in pages {
        let sep = if path.contains('?') { '&' } else { '?' };
        agent.goto(&format!("{base}/app/{path}{sep}lang={lang}"));
        settle(agent, &format!("the {path} page"), ready);
        let name = path.split('?').next().unwrap();
        a.check(agent, &format!("dashboard {name} ({lang})"));
    }
    // The site form with its live preview and snippet.
    agent.goto(&format!("{base}/app/settings/sites?lang={lang}"));
    settle(
        agent,
        "the site list",
        "return !!document.querySelector('.sites-edit')",
    );
    agent.click(&agent.find(".sites-edit"));
    settle(
        agent,
        "the site form",
        "return !!document.getElementById('sites-form') && !!document.getElementById('sites-snippet-code')",
    );
    a.check(agent, &format!("dashboard site form ({lang})"));
}

/// The sign-in pages: password, setting up a second factor (the role requires one), the
/// recovery codes, and the code page at the next sign-in.
fn sign_in_pages(
    a: &mut Audit,
    k: &Kontor,
    b: &Browser,
    base: &str,
    email: &str,
    pw: &str,
    lang: &str,
) {
    let password = |b: &Browser| {
        b.delete_cookies();
        b.goto(&format!("{base}/login?lang={lang}"));
        b.type_text(&b.find("#tenant"), "acme");
        b.type_text(&b.find("#email"), email);
        b.type_text(&b.find("#password"), pw);
    };
    password(b);
    a.check(b, &format!("sign-in ({lang})"));
    b.press(&[ENTER]);
    b.wait_until(
        "the set-up page",
        "return location.pathname === '/login/enrol' && document.querySelector('svg.qr path') !== null",
    );
    a.check(b, &format!("sign-in: set up a second factor ({lang})"));
    let secret = crate::two_factor::secret_of(&b.text(&b.find("#totp-secret")));
    b.type_text(&b.find("#code"), &crate::two_factor::code_now(k, &secret));
    b.press(&[ENTER]);
    b.wait_until(
        "the recovery codes",
        "return document.getElementById('recovery-codes') !== null",
    );
    a.check(b, &format!("sign-in: recovery codes ({lang})"));
    password(b);
    b.press(&[ENTER]);
    b.wait_until(
        "the code page",
        "return location.pathname === '/login/code' && !!document.getElementById('code')",
    );
    a.check(b, &format!("sign-in: code ({lang})"));
    // The set-up page of a password link (unused here), with a strength warning, and a dead link.
    let out = k.ok(&["agent", "reset-link", "acme", email]);
    let url = out.lines().find(|l| l.contains("/setup/")).unwrap().trim();
    let path = &url[url.find("/setup/").unwrap()..];
    b.delete_cookies();
    b.goto(&format!("{base}{path}?lang={lang}"));
    b.wait_until(
        "the set-up page",
        "return !!document.getElementById('confirm')",
    );
    a.check(b, &format!("set-up page ({lang})"));
    b.type_text(&b.find("#password"), "password1234");
    b.type_text(&b.find("#confirm"), "password1234");
    b.press(&[ENTER]);
    b.wait_until(
        "the strength warning",
        "const e = document.getElementById('password-error'); return !!e && !e.hidden",
    );
    a.check(b, &format!("set-up page with a warning ({lang})"));
    b.goto(&format!("{base}/setup/gone?lang={lang}"));
    a.check(b, &format!("set-up link no longer works ({lang})"));
}

/// The tenant's data for the dashboard: the statistics fixture (some days of visits, chats,
/// offline messages, a goal), agents who must set up a second factor, canned responses, a rule,
/// a campaign, a goal, a notice and a role.
fn data(k: &Kontor, base: &str, pw: &str, key: &str) {
    for email in ["bob@acme.example", "dave@acme.example"] {
        k.ok_stdin(
            &[
                "agent",
                "add",
                "acme",
                email,
                "--name",
                &email[..3],
                "--password-stdin",
            ],
            pw,
        );
    }
    k.ok(&["agent", "require-two-factor", "acme", "--role", "agent"]);
    let mut admin = crate::common::Browser::signed_in(base, "ann@acme.example", pw);
    let posts = [
        (
            "/api/canned".to_string(),
            json!({"shortcut": "hello", "text": "Hello, how can I help?", "shared": true}),
        ),
        (
            "/api/canned".to_string(),
            json!({"shortcut": "danke", "text": "Danke für Ihre Nachricht!"}),
        ),
        (
            "/api/rules".to_string(),
            json!({"site_key": key, "name": "Pricing help", "text": "Questions about our prices?",
                   "conditions": {"url": "*/pricing*", "min_seconds_on_page": 30}}),
        ),
        (
            "/api/campaigns".to_string(),
            json!({"name": "Spring", "channel": "email", "utm_source": "newsletter",
                   "utm_campaign": "spring", "starts_on": "2026-01-01", "cost": 100.0}),
        ),
        (
            "/api/goals".to_string(),
            json!({"name": "signup", "value": 10.0}),
        ),
        (
            format!("/api/sites/{key}/notices"),
            json!({"text_de": "Wir speichern Ihre Nachrichten 90 Tage.",
                   "text_en": "We keep your messages for 90 days."}),
        ),
        (
            "/api/roles".to_string(),
            json!({"name": "Trainee", "permissions": ["chat", "visitors.view"]}),
        ),
    ];
    for (path, body) in posts {
        let r = admin.post_json(&path, &body);
        assert!(
            (200..300).contains(&r.status),
            "{path}: {} {}",
            r.status,
            r.body
        );
    }
}

/// Visitors reading the shop, as the loader reports them.
fn visitors_online(base: &str, key: &str, origin: &str) {
    for (i, page) in ["pricing", "products", "contact"].iter().enumerate() {
        let mut b = crate::common::Browser::new(base);
        let body = json!({"t": "view", "pv": format!("{i:016x}"), "url": format!("{origin}/{page}"),
                          "title": format!("Shop {page}"), "ref": "https://www.google.de/"});
        let r = b.post_bytes(
            &format!("/api/track?site={key}"),
            &[
                ("Origin", origin),
                ("User-Agent", &format!("Mozilla/5.0 Firefox/{}", 120 + i)),
            ],
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

#[test]
fn accessibility_audit_of_widget_sign_in_and_dashboard() {
    let started = Instant::now();
    let (k, pw) = crate::stats::fixture();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let site = k.json(&["site", "add", "acme", "--origin", &origin]);
    let key = site["site_key"].as_str().unwrap().to_string();
    let server = k.server(&[]);
    let base = server.base.clone();
    shop(listener, base.clone(), key.clone());
    data(&k, &base, &pw, &key);

    let driver = Driver::start();
    let mut a = Audit::default();
    let visitor = driver.browser();

    // Nobody online: the launcher, and the offline form instead of a chat.
    for lang in ["en", "de"] {
        visitor.goto(&format!("{origin}/{lang}/offline"));
        launcher(&visitor);
        a.check(&visitor, &format!("launcher ({lang})"));
        visitor.exec(&format!(
            "{WIDGET}.shadowRoot.querySelector('button').click(); return true"
        ));
        into_frame(&visitor, "v-offline");
        a.check(&visitor, &format!("chat frame: offline form ({lang})"));
        visitor.leave_frame();
        visitor.exec("sessionStorage.clear(); localStorage.clear(); return true");
    }

    // The sign-in pages, with agents whose role requires a second factor.
    let login = driver.browser();
    sign_in_pages(&mut a, &k, &login, &base, "bob@acme.example", &pw, "en");
    sign_in_pages(&mut a, &k, &login, &base, "dave@acme.example", &pw, "de");
    drop(login);

    // Ann online; a chat waits; visitors read the shop.
    let agent = driver.browser();
    sign_in(&agent, &base, &pw);
    let mut waiting = Ws::visitor(&base, &key, &origin).unwrap();
    waiting
        .send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "Walter"}));
    waiting.recv_type("welcome");
    crate::chat::say(&mut waiting, None, "w1", "Is anyone there?");
    visitors_online(&base, &key, &origin);

    for (lang, name) in [("en", "Vera"), ("de", "Vera Deutsch")] {
        let page = format!("{lang}/welcome");
        visitor.goto(&format!("{origin}/{page}"));
        launcher(&visitor);
        // Ann invites the visitor from the Visitors view.
        agent.goto(&format!("{base}/app/visitors?lang={lang}"));
        let invite = agent.element_from(&format!(
            "const r = [...document.querySelectorAll('#visitor-list [data-visitor-id]')] \
               .find((r) => r.textContent.includes('Shop {}')); \
             return r && r.querySelector('.v-invite')",
            page.replace('/', " ")
        ));
        agent.click(&invite);
        visitor.wait_until(
            "the invitation",
            &format!("const c = {WIDGET}.shadowRoot.getElementById('kontor-invite'); return !!c && !c.hidden"),
        );
        a.check(&visitor, &format!("launcher with invitation ({lang})"));
        viewport(&visitor, 320, 640, 1);
        a.check(
            &visitor,
            &format!("launcher with invitation, 320 px ({lang})"),
        );
        viewport(&visitor, 640, 450, 2);
        a.check(
            &visitor,
            &format!("launcher with invitation, 200 % zoom ({lang})"),
        );

        // Accepted: the opt-in, at 200 % zoom, at 320 px and full size.
        let accept = visitor.element_from(&format!(
            "return {WIDGET}.shadowRoot.getElementById('kontor-invite-accept')"
        ));
        visitor.click(&accept);
        into_frame(&visitor, "v-start");
        a.check(
            &visitor,
            &format!("chat frame: opt-in, 200 % zoom ({lang})"),
        );
        visitor.leave_frame();
        viewport(&visitor, 320, 640, 1);
        into_frame(&visitor, "v-start");
        a.check(&visitor, &format!("chat frame: opt-in, 320 px ({lang})"));
        visitor.leave_frame();
        full_viewport(&visitor);
        into_frame(&visitor, "v-start");
        a.check(&visitor, &format!("chat frame: opt-in ({lang})"));

        // Waiting in the queue.
        visitor.type_text(&visitor.find("#s-name"), name);
        visitor.click(&visitor.find("#s-consent"));
        visitor.click(&visitor.find("#start-btn"));
        let question = format!("Where is my parcel? ({lang})");
        visitor.type_text(&visitor.find("#msg"), &question);
        visitor.click(&visitor.find("#send-btn"));
        visitor.wait_until(
            "the message in the log",
            &format!("return document.getElementById('log').innerText.includes('{question}')"),
        );
        settle(
            &visitor,
            "the waiting note",
            "return document.getElementById('info').textContent.trim() !== ''",
        );
        a.check(&visitor, &format!("chat frame: waiting ({lang})"));

        // Ann accepts and replies: messages from both sides.
        agent.goto(&format!("{base}/app/chats?lang={lang}"));
        let accept = agent.element_from(&format!(
            "return [...document.querySelectorAll('.q-accept')] \
               .find((b) => (b.getAttribute('aria-label') || '').includes('{name}'))"
        ));
        agent.click(&accept);
        agent.wait_until(
            "the visitor's message",
            &format!("return document.body.innerText.includes('{question}')"),
        );
        let reply = format!("It arrives tomorrow. ({lang})");
        agent.type_text(&agent.find("#reply-text"), &reply);
        agent.press(&[ENTER]);
        // Settled: new messages fade in (unless reduced motion is asked for), and a half-faded
        // one would be measured at the wrong contrast.
        settle(
            &visitor,
            "the reply",
            &format!("return document.getElementById('log').innerText.includes('{reply}')"),
        );
        a.check(&visitor, &format!("chat frame: chatting ({lang})"));

        // The dashboard while one chat is open and one waits.
        dashboard(&mut a, &agent, &base, lang);

        // Ended: the rating, then thanks.
        visitor.click(&visitor.find("#end-btn"));
        visitor.click(&visitor.find("#end-yes"));
        settle(
            &visitor,
            "the rating form",
            "return !document.getElementById('ended').hidden",
        );
        a.check(&visitor, &format!("chat frame: rating ({lang})"));
        visitor.click(&visitor.find("label[for='star-5']"));
        visitor.click(&visitor.find("#rate-btn"));
        settle(
            &visitor,
            "the thanks",
            "return !document.getElementById('rated').hidden",
        );
        a.check(&visitor, &format!("chat frame: ended ({lang})"));
        visitor.leave_frame();
        visitor.exec("sessionStorage.clear(); localStorage.clear(); return true");
    }
    drop(visitor);
    drop(agent);
    a.finish(started);
}
