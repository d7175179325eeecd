//! Sites and their widget in the dashboard and the CLI: creating, changing and removing a
//! site, every check (origins, contrast, text lengths, logos, permission), the audit trail,
//! and the widget showing what was set.

use crate::chat::{SHOP, setup};
use crate::common::{Browser, Res};
use serde_json::{Value, json};

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn refused(r: &Res, words: &str) {
    assert_eq!(r.status, 400, "{}", r.body);
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains(words), "{words:?} not in {msg:?}");
}

fn audit_actions(b: &mut Browser) -> Vec<(String, String)> {
    b.get("/api/audit?action=site&limit=50").json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["object"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn sites_are_created_changed_and_removed_in_the_dashboard_with_every_check() {
    let (k, pw, _site) = setup();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);

    // Origins are checked like the CLI's.
    for (origin, words) in [
        ("https://shop.example/de", "without path"),
        ("https://*.shop.example", "invalid host name"),
        ("http://shop.example", "use https"),
    ] {
        let r = ann.post_json("/api/sites", &json!({"origins": [origin]}));
        refused(&r, words);
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("origins:")
        );
    }
    refused(
        &ann.post_json("/api/sites", &json!({"origins": []})),
        "origins:",
    );

    let r = ann.post_json(
        "/api/sites",
        &json!({"origins": ["https://other.example", "http://localhost:3000"], "greeting_de": "Hallo!"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    let key = created["site_key"].as_str().unwrap().to_string();
    assert_eq!(created["greeting_de"], "Hallo!");
    assert_eq!(created["color"], "#0a5bd3");
    assert!(created["snippet"].as_str().unwrap().contains(&key));
    let path = format!("/api/sites/{key}");

    // A colour the widget's text would be hard to read on.
    let r = ann.put_json(&path, &json!({"color": "#777777"}));
    refused(&r, "4.5:1");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("color:")
    );
    // Texts: limited, plain.
    refused(
        &ann.put_json(&path, &json!({"greeting_de": "x".repeat(301)})),
        "greeting_de must be at most 300",
    );
    refused(
        &ann.put_json(&path, &json!({"title_en": "Hi\u{202e}there"})),
        "bidi",
    );
    refused(&ann.put_json(&path, &json!({"lang": "pt"})), "lang:");
    refused(
        &ann.put_json(&path, &json!({"position": "top"})),
        "position:",
    );

    let r = ann.put_json(
        &path,
        &json!({"color": "#1a7f37", "position": "bottom-left", "lang": "de",
                "title_de": "Wir helfen gern", "title_en": "Happy to help",
                "launcher_label_de": "Fragen?", "offline_en": "Leave us a note",
                "show_agent_names": false}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["color"], "#1a7f37");
    assert_eq!(v["greeting_de"], "Hallo!", "what is not named stays");
    assert_eq!(v["show_agent_names"], false);
    assert_eq!(
        v["origins"],
        json!(["http://localhost:3000", "https://other.example"])
    );

    // Logos: images only, sniffed, at most 256 KiB.
    let logo = format!("{path}/logo");
    refused(
        &ann.put_bytes(&logo, "image/png", b"<svg onload=alert(1)>"),
        "PNG, JPEG, WebP or GIF",
    );
    refused(
        &ann.put_bytes(&logo, "image/png", b"%PDF-1.4 not a logo"),
        "PNG, JPEG, WebP or GIF",
    );
    let mut big = PNG.to_vec();
    big.resize(256 * 1024 + 1, 0);
    let r = ann.put_bytes(&logo, "image/png", &big);
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("256 KiB"), "{}", r.body);
    let r = ann.put_bytes(&logo, "application/octet-stream", PNG);
    assert_eq!(r.status, 200, "{}", r.body);
    let logo_url = r.json()["logo"].as_str().unwrap().to_string();
    let mut anyone = Browser::new(&server.base);
    let img = anyone.get(&logo_url);
    assert_eq!(img.status, 200);
    assert_eq!(img.header("content-type"), Some("image/png"));
    assert_eq!(img.header("x-content-type-options"), Some("nosniff"));

    // The widget uses it all: German visitor, German texts; French visitor, the site's default.
    let mut shop = Browser::new(&server.base);
    shop.headers
        .push(("Origin".into(), "https://other.example".into()));
    let conf = shop
        .get(&format!("/api/widget/config?site={key}&lang=de"))
        .json();
    assert_eq!(conf["color"], "#1a7f37");
    assert_eq!(conf["position"], "bottom-left");
    assert_eq!(conf["text"]["title"], "Fragen?");
    let frame = anyone
        .get(&format!("/widget/frame?site={key}&lang=de"))
        .body;
    assert!(frame.contains("Wir helfen gern"), "{frame}");
    assert!(frame.contains("Hallo!"));
    assert!(frame.contains(&format!("data-logo=\"{}\"", logo_url.replace('&', "&amp;"))));
    assert!(frame.contains("data-agent-names=\"false\""));
    let frame = anyone
        .get(&format!("/widget/frame?site={key}&lang=fr"))
        .body;
    assert!(
        frame.contains("Wir helfen gern"),
        "French falls back to the default (de)"
    );
    let frame = anyone
        .get(&format!("/widget/frame?site={key}&lang=en"))
        .body;
    assert!(frame.contains("Happy to help"));
    assert!(frame.contains("Leave us a note"));
    assert!(
        frame.contains("Hallo!"),
        "English falls back to German when only German is written"
    );

    // Someone without the sites permission may change nothing.
    let r = ann.post_json(
        "/api/roles",
        &json!({"name": "chat only", "permissions": ["chat"]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    k.ok_stdin(
        &[
            "agent",
            "add",
            "acme",
            "cid@acme.example",
            "--name",
            "Cid",
            "--role",
            "chat only",
            "--password-stdin",
        ],
        &pw,
    );
    let mut cid = Browser::signed_in(&server.base, "cid@acme.example", &pw);
    assert_eq!(
        cid.put_json(&path, &json!({"color": "#000000"})).status,
        403
    );
    assert_eq!(
        cid.post_json("/api/sites", &json!({"origins": ["https://x.example"]}))
            .status,
        403
    );
    assert_eq!(cid.delete(&path).status, 403);
    assert_eq!(cid.put_bytes(&logo, "image/png", PNG).status, 403);

    // Removing: the widget stops at once; chats and statistics stay.
    let r = ann.delete(&path);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["effect"].as_str().unwrap().contains("stay"));
    assert_eq!(
        shop.get(&format!("/api/widget/config?site={key}")).status,
        404
    );
    assert_eq!(anyone.get(&logo_url).status, 404);
    assert_eq!(ann.delete(&path).status, 404);
    let sites: Value = ann.get("/api/sites").json();
    assert!(!sites.to_string().contains(&key));

    let actions = audit_actions(&mut ann);
    for action in ["site.create", "site.update", "site.remove"] {
        assert!(
            actions.iter().any(|(a, o)| a == action && o == &key),
            "{action} missing: {actions:?}"
        );
    }
}

#[test]
fn sites_are_changed_and_removed_with_the_cli_through_the_same_checks() {
    let (k, _pw, site) = setup();
    let out = k.fails(&["site", "set", "acme", &site, "--color", "#777777"]);
    assert!(out.contains("4.5:1"), "{out}");
    let out = k.fails(&[
        "site",
        "set",
        "acme",
        &site,
        "--origin",
        "http://shop.example",
    ]);
    assert!(out.contains("use https"), "{out}");
    let v = k.json(&[
        "site",
        "set",
        "acme",
        &site,
        "--color",
        "#1a7f37",
        "--launcher-label-de",
        "Fragen?",
        "--origin",
        SHOP,
        "--origin",
        "https://www.shop.example",
    ]);
    assert_eq!(v["color"], "#1a7f37");
    assert_eq!(v["launcher_label_de"], "Fragen?");
    assert_eq!(v["origins"], json!([SHOP, "https://www.shop.example"]));
    let out = k.ok(&["site", "remove", "acme", &site]);
    assert!(out.contains("stops working"), "{out}");
    assert!(out.contains("stay"), "{out}");
    let out = k.fails(&["site", "remove", "acme", &site]);
    assert!(out.contains("not found") || out.contains(&site), "{out}");
}

/// In Chromium: the look is changed in the dashboard (colour, German greeting, logo) and a
/// German shop page on another origin shows it the next time its widget opens.
#[test]
fn sites_look_changed_in_the_dashboard_shows_in_the_widget_on_the_shop() {
    use crate::browser::{shop, shop_site, sign_in};
    use crate::webdriver::Driver;
    let (k, pw) = crate::common::Kontor::with_tenant();
    let (shop_port, shop_origin, key) = shop_site(&k);
    let server = k.server(&[]);
    shop(
        shop_port,
        format!(
            "<!doctype html><html lang=\"de\"><head><title>Laden</title></head><body><h1>Laden</h1>\
             <script src=\"{}/widget.js\" data-site=\"{key}\" async></script></body></html>",
            server.base
        ),
    );
    let logo = k.data_dir().join("logo.png");
    std::fs::write(&logo, PNG).unwrap();

    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.goto(&format!("{}/app/settings/sites", server.base));
    agent.click(&agent.find(&format!("[data-site-key='{key}'] .sites-edit")));
    // A colour too light for its text is refused next to the field.
    agent.exec(
        "const c = document.getElementById('sites-f-color'); c.value = '#777777'; \
         c.dispatchEvent(new Event('input', {bubbles: true})); return true",
    );
    agent.click(&agent.find("#sites-form button[type=submit]"));
    agent.wait_until(
        "the contrast error at the colour field",
        "const c = document.getElementById('sites-f-color'); \
         return c.getAttribute('aria-invalid') === 'true' \
           && document.getElementById('sites-form-error').textContent.includes('4.5:1')",
    );
    let color = agent.find("#sites-f-color");
    agent.exec(
        "const c = document.getElementById('sites-f-color'); c.value = '#1a7f37'; \
         c.dispatchEvent(new Event('input', {bubbles: true})); return true",
    );
    let _ = color;
    agent.type_text(
        &agent.find("#sites-f-greeting_de"),
        "Moin! Wie können wir helfen?",
    );
    agent.type_text(&agent.find("#sites-f-logo"), logo.to_str().unwrap());
    agent.wait_until(
        "the chosen logo in the preview",
        "const l = document.querySelector('.sites-pv-logo'); return !l.hidden && l.src.startsWith('data:image/png')",
    );
    // The live preview follows the form.
    agent.wait_until(
        "the preview shows the greeting and colour",
        "const g = document.querySelector('.sites-pv-greeting'); \
         const hd = document.querySelector('.sites-pv-header'); \
         return !!g && g.textContent.includes('Moin') && hd.style.background.includes('26, 127, 55')",
    );
    agent.click(&agent.find("#sites-form button[type=submit]"));
    agent.wait_until(
        "saved",
        "const s = document.querySelector('#sites-form .form-status'); return !!s && s.textContent.length > 0 && !document.getElementById('sites-form-error').textContent",
    );
    agent.wait_until(
        "the logo is stored",
        "return !!document.querySelector('.sites-pv-logo') && document.querySelector('.sites-pv-logo').getAttribute('src').startsWith('/widget/logo/')",
    );

    let visitor = driver.browser();
    visitor.goto(&format!("{shop_origin}/"));
    visitor.wait_until(
        "the launcher",
        "return !!document.querySelector('kontor-chat')",
    );
    assert_eq!(
        visitor
            .exec("return document.querySelector('kontor-chat').style.getPropertyValue('--k-bg')"),
        "#1a7f37"
    );
    visitor.exec("document.querySelector('kontor-chat').shadowRoot.querySelector('button').click(); return true");
    let frame = visitor.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('iframe')",
    );
    visitor.enter_frame(&frame);
    visitor.wait_until(
        "the German greeting",
        "const g = document.getElementById('site-greeting'); return !!g && !g.hidden && g.textContent.includes('Moin! Wie können wir helfen?')",
    );
    visitor.wait_until(
        "the logo",
        "const l = document.getElementById('logo'); return !!l && !l.hidden && l.complete && l.naturalWidth === 1",
    );
    assert_eq!(
        visitor
            .exec("return getComputedStyle(document.querySelector('header.top')).backgroundColor"),
        "rgb(26, 127, 55)"
    );
}
