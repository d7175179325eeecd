//! The widget in its seven languages: the page's `<html lang>` decides, else the browser's
//! languages, else the site's default, else English. In headless Chromium on a shop page of
//! another origin, the launcher and the chat frame's first screen are compared with the
//! catalogs; over HTTP, the loader's config, the frame, the transcript, the business's own
//! privacy notice (written in German and English only) and the site's `--lang`.

use crate::chat::SHOP;
use crate::common::{Browser as Http, Kontor, Ws};
use crate::webdriver::{Browser, Driver};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const LANGS: [&str; 7] = ["en", "de", "fr", "es", "it", "nl", "pl"];

/// The widget catalog of `lang`, as the server embeds it.
fn catalog(lang: &str) -> BTreeMap<String, String> {
    let path = format!(
        "{}/assets/i18n/widget.{lang}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Another catalog file of `lang` (`transcript`, or `""` for the main one).
fn other_catalog(area: &str, lang: &str) -> BTreeMap<String, String> {
    let name = if area.is_empty() {
        format!("{lang}.json")
    } else {
        format!("{area}.{lang}.json")
    };
    let path = format!("{}/assets/i18n/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The text as the frame template puts it into HTML.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Serves the shop: `/none` has no `<html lang>`, `/<tag>` has `<html lang="<tag>">`.
fn shop(port: u16, base: String, key: String) {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    crate::browser::serve_pages(listener, move |path| {
        let tag = path.trim_start_matches('/');
        let lang = if tag == "none" || tag.is_empty() {
            String::new()
        } else {
            format!(" lang=\"{tag}\"")
        };
        format!(
            "<!doctype html><html{lang}><head><title>Shop</title></head><body><h1>Shop</h1>\
             <script src=\"{base}/widget.js\" data-site=\"{key}\" async></script></body></html>"
        )
    });
}

/// Opens `url`, checks the launcher's name, opens the panel and reads the frame's first
/// screen (the offline form: nobody is online). Returns what it saw.
fn first_screen(b: &Browser, url: &str) -> Value {
    b.goto(url);
    b.wait_until(
        "the launcher",
        "const h = document.querySelector('kontor-chat'); return !!(h && h.shadowRoot.querySelector('button'))",
    );
    let launcher = b.exec(
        "const r = document.querySelector('kontor-chat').shadowRoot; \
         const l = r.querySelector('button').getAttribute('aria-label'); \
         r.querySelector('button').click(); return l",
    );
    let frame = b.element_from(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('iframe')",
    );
    let frame_title = b.exec(
        "return document.querySelector('kontor-chat').shadowRoot.querySelector('iframe').title",
    );
    b.enter_frame(&frame);
    b.wait_until(
        "the offline form is shown",
        "const v = document.getElementById('v-offline'); return !!v && !v.hidden",
    );
    // Checking the empty form shows a message from the catalog chat.js loaded.
    b.exec("document.getElementById('o-consent').checked = true; document.getElementById('offline-btn').click(); return true");
    b.wait_until(
        "a validation message",
        "return document.getElementById('offline-error').textContent !== ''",
    );
    let seen = b.exec(
        "const t = (id) => document.getElementById(id).textContent.trim(); \
         return {lang: document.documentElement.lang, heading: t('title'), offline: t('offline-heading'), \
         consent: document.querySelector('label[for=o-consent]').textContent.trim(), send: t('offline-btn'), \
         problem: t('offline-error')}",
    );
    b.leave_frame();
    json!({"launcher": launcher, "frame_title": frame_title, "frame": seen})
}

/// What `first_screen` must see in `lang`.
fn expected(lang: &str) -> Value {
    let c = catalog(lang);
    json!({
        "launcher": c["widget.title"],
        "frame_title": c["widget.title"],
        "frame": {
            "lang": lang,
            "heading": c["widget.heading"],
            "offline": c["widget.offline_heading"],
            "consent": c["widget.consent"],
            "send": c["widget.offline_send"],
            "problem": c["widget.email_required"],
        }
    })
}

#[test]
fn the_widget_speaks_the_pages_the_browsers_or_the_sites_language() {
    let (k, _) = Kontor::with_tenant();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let origin = format!("http://localhost:{port}");
    // The site's default language is Italian.
    let site = k.json(&["site", "add", "acme", "--origin", &origin, "--lang", "it"]);
    let key = site["site_key"].as_str().unwrap().to_string();
    let server = k.server(&[]);
    shop(port, server.base.clone(), key);

    let driver = Driver::start();
    // A Portuguese browser: not one of the widget's languages.
    let b = driver.browser_speaking("pt-PT,pt");
    // The page's language decides, whatever the browser and the site's default say.
    let tags = ["en-GB", "de-AT", "fr", "es", "it", "nl", "pl"];
    for (tag, lang) in tags.into_iter().zip(LANGS) {
        assert_eq!(
            first_screen(&b, &format!("{origin}/{tag}")),
            expected(lang),
            "<html lang={tag}>"
        );
    }
    // The page says nothing (or names a language the widget lacks), the browser neither: the
    // site's default.
    assert_eq!(first_screen(&b, &format!("{origin}/none")), expected("it"));
    assert_eq!(first_screen(&b, &format!("{origin}/pt-BR")), expected("it"));

    // A Dutch browser on a page that says nothing: Dutch; on a French page: French.
    let nl = driver.browser_speaking("nl-NL,nl,en");
    assert_eq!(first_screen(&nl, &format!("{origin}/none")), expected("nl"));
    assert_eq!(first_screen(&nl, &format!("{origin}/fr")), expected("fr"));
}

#[test]
fn config_frame_transcript_and_notices_follow_the_language() {
    let (k, pw) = Kontor::with_tenant();
    let site = k.json(&["site", "add", "acme", "--origin", SHOP, "--lang", "pl"]);
    let site = site["site_key"].as_str().unwrap().to_string();
    let german = k.json(&["site", "add", "acme", "--origin", SHOP, "--lang", "de"]);
    let german = german["site_key"].as_str().unwrap().to_string();
    // The CLI names the seven languages when it refuses another.
    let err = k.fails(&["site", "add", "acme", "--origin", SHOP, "--lang", "pt"]);
    assert!(err.contains("en, de, fr, es, it, nl, pl"), "{err}");
    let server = k.server(&[]);
    let mut b = Http::new(&server.base);
    b.headers.push(("Origin".into(), SHOP.into()));

    // The loader's config: the language asked for if the widget has it, else the site's.
    for (asked, ui) in [
        ("fr", "fr"),
        ("es-MX", "es"),
        ("", "pl"),
        ("pt", "pl"),
        ("nl", "nl"),
    ] {
        let v = b
            .get(&format!("/api/widget/config?site={site}&lang={asked}"))
            .json();
        assert_eq!(v["ui_lang"], ui, "{asked}");
        assert_eq!(v["lang"], "pl", "the site's default");
        let c = catalog(ui);
        assert_eq!(
            v["text"]["title"].as_str(),
            Some(c["widget.title"].as_str())
        );
        assert_eq!(
            v["text"]["unread"].as_str(),
            Some(c["widget.unread"].as_str())
        );
        assert_eq!(
            v["text"]["dismiss"].as_str(),
            Some(c["widget.no_thanks"].as_str())
        );
    }

    // The frame in each language: its strings and kontor's own notice.
    for lang in LANGS {
        let c = catalog(lang);
        let html = b
            .get(&format!("/widget/frame?site={site}&lang={lang}"))
            .body;
        assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{lang}");
        for key in [
            "widget.start",
            "widget.consent",
            "widget.notice",
            "widget.end",
        ] {
            assert!(html.contains(&escaped(&c[key])), "{lang} {key}");
        }
        assert_eq!(b.get(&format!("/i18n/widget.{lang}.json")).status, 200);
    }

    // A French visitor's transcript is in French.
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "Zoé", "lang": "fr-FR"}));
    let token = v.recv_type("welcome")["token"]
        .as_str()
        .unwrap()
        .to_string();
    v.send(json!({"type": "message", "client_id": "m1", "text": "Bonjour"}));
    v.recv_type("ack");
    let text = b
        .post_json("/api/widget/transcript", &json!({"token": token}))
        .body;
    let fr = other_catalog("transcript", "fr");
    assert!(text.starts_with(&fr["transcript.title"]), "{text}");
    assert!(
        text.contains(&format!("{}: Bonjour", fr["transcript.you"])),
        "{text}"
    );

    // The business's notice, written in German and English: a Polish visitor of a site whose
    // default is Polish gets English; German and English visitors their own.
    let mut admin = Http::signed_in(&server.base, "ann@acme.example", &pw);
    let de = "Wir speichern Ihre Nachrichten auf unserem Server und löschen sie nach 90 Tagen.";
    let en = "We store your messages on our own server and delete them after 90 days.";
    let r = admin.post_json(
        &format!("/api/sites/{site}/notices"),
        &json!({"text_de": de, "text_en": en}),
    );
    assert!(r.status < 300, "{}", r.status);
    let frame = |b: &mut Http, lang: &str| {
        b.get(&format!("/widget/frame?site={site}&lang={lang}"))
            .body
    };
    assert!(frame(&mut b, "pl").contains(en));
    assert!(frame(&mut b, "de").contains(de));
    assert!(frame(&mut b, "en").contains(en));
    // A site whose default is German: a French visitor reads the German text.
    admin.post_json(
        &format!("/api/sites/{german}/notices"),
        &json!({"text_de": de, "text_en": en}),
    );
    let html = b.get(&format!("/widget/frame?site={german}&lang=fr")).body;
    assert!(html.contains(de), "site default German");
    assert!(html.contains(&escaped(&catalog("fr")["widget.start"])));
    // The invitation's default text exists for every language.
    for lang in LANGS {
        assert!(!other_catalog("", lang)["invite.default"].is_empty());
    }
}

#[test]
fn the_sign_in_page_stays_english_or_german() {
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    // A French browser: English, not a half-translated page.
    let mut b = Http::new(&server.base);
    b.headers
        .push(("Accept-Language".into(), "fr-FR,fr;q=0.9,de;q=0.5".into()));
    assert!(b.get("/login").body.contains("<html lang=\"de\""));
    let mut b = Http::new(&server.base);
    b.headers
        .push(("Accept-Language".into(), "fr-FR,fr".into()));
    assert!(b.get("/login").body.contains("<html lang=\"en\""));
    // ?lang=fr is not a dashboard language: English, and nothing remembered.
    let res = b.get("/login?lang=fr");
    assert!(res.body.contains("<html lang=\"en\""));
    assert!(
        !res.set_cookies()
            .iter()
            .any(|c| c.starts_with("kontor_lang=")),
        "{:?}",
        res.set_cookies()
    );
}
