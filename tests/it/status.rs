//! A site's public online status: the JSON with agents online per offered department and the
//! next opening, CORS for the site's origins only, a short cache, a well-formed SVG badge in
//! German and English, and never an agent's name.

use crate::chat::{SHOP, agent_as, setup, with_bob};
use crate::common::{Browser, Res, wait_until};
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use std::time::Duration;

fn get(base: &str, path: &str, origin: Option<&str>) -> Res {
    let mut b = Browser::new(base);
    if let Some(o) = origin {
        b.headers.push(("Origin".into(), o.into()));
    }
    b.get(path)
}

fn status(base: &str, site: &str) -> Value {
    let r = get(base, &format!("/api/status/{site}"), Some(SHOP));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Parses the SVG with a real XML parser (Python's), so a stray `<` or `&` fails.
fn assert_well_formed_svg(svg: &str) {
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E; r = E.fromstring(sys.stdin.read()); \
             assert r.tag == '{http://www.w3.org/2000/svg}svg', r.tag",
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(svg.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{svg}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn status_counts_agents_online_per_department_and_names_nobody() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let add = |name: &str| {
        k.json(&["department", "add", "acme", name])["departments"][0]["id"]
            .as_i64()
            .unwrap()
    };
    let (sales, support) = (add("Sales"), add("Support"));
    k.ok(&[
        "agent",
        "set",
        "acme",
        "bob@acme.example",
        "--department",
        "Support",
    ]);
    crate::forms::save_with_cli(&k, &site, &json!({"departments": [sales, support]}));
    let server = k.server(&[]);

    let s = status(&server.base, &site);
    assert_eq!(s["open"], true);
    assert_eq!(s["hours"], false);
    assert_eq!(s["available"], false);
    assert_eq!(s["agents_online"], 0);
    assert_eq!(s["next_open"], Value::Null);
    assert_eq!(s["departments"].as_array().unwrap().len(), 2);

    let (_bb, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    bob.send(json!({"type": "status", "status": "online"}));
    let mut s = Value::Null;
    // Answers are kept for 5 s: the change shows within that.
    wait_until("Bob not counted", Duration::from_secs(10), || {
        s = status(&server.base, &site);
        s["agents_online"] == 1
    });
    assert_eq!(s["available"], true);
    let dep = |name: &str| {
        s["departments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(dep("Support")["agents_online"], 1);
    assert_eq!(dep("Support")["available"], true);
    assert_eq!(dep("Sales")["agents_online"], 0);
    assert_eq!(dep("Sales")["available"], false);
    let text = s.to_string();
    for secret in ["Bob", "bob@", "Ann", "ann@", "agent_id", "email"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let badge = get(&server.base, &format!("/api/status/{site}/badge.svg"), None);
    assert!(badge.body.contains(">online<"), "{}", badge.body);
    assert!(!badge.body.contains("Bob"));
}

#[test]
fn status_grants_cors_to_the_sites_origins_only_and_is_cached_briefly() {
    let (k, _, site) = setup();
    let server = k.server(&[]);
    let path = format!("/api/status/{site}");
    let ours = get(&server.base, &path, Some(SHOP));
    assert_eq!(ours.status, 200);
    assert_eq!(ours.header("access-control-allow-origin"), Some(SHOP));
    assert_eq!(ours.header("vary"), Some("Origin"));
    assert_eq!(ours.header("cache-control"), Some("public, max-age=5"));
    let theirs = get(&server.base, &path, Some("https://evil.example"));
    assert_eq!(theirs.status, 200);
    assert_eq!(theirs.header("access-control-allow-origin"), None);
    // Without an Origin (a server, curl) the answer is there, without a grant.
    let plain = get(&server.base, &path, None);
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("access-control-allow-origin"), None);
    assert_eq!(
        get(&server.base, "/api/status/no-such-site", Some(SHOP)).status,
        404
    );
    assert_eq!(
        get(&server.base, "/api/status/no-such-site/badge.svg", None).status,
        404
    );
}

#[test]
fn a_closed_site_tells_its_next_opening_and_the_badge_says_so_in_german() {
    let (k, _, site) = setup();
    let now = jiff::Timestamp::from_second(k.clock().now()).unwrap();
    let tomorrow = TimeZone::UTC.to_datetime(now).date().tomorrow().unwrap();
    k.ok(&[
        "hours",
        "set",
        "acme",
        "--tz",
        "UTC",
        "--special",
        &format!("{tomorrow}=09:00-10:00"),
    ]);
    let server = k.server(&[]);
    let s = status(&server.base, &site);
    assert_eq!(s["open"], false);
    assert_eq!(s["hours"], true);
    assert_eq!(s["available"], false);
    let opens = TimeZone::UTC
        .to_timestamp(tomorrow.at(9, 0, 0, 0))
        .unwrap()
        .as_second();
    assert_eq!(s["next_open"], kontor::clock::rfc3339(opens));

    let de = get(
        &server.base,
        &format!("/api/status/{site}/badge.svg?lang=de"),
        Some(SHOP),
    );
    assert_eq!(de.status, 200);
    assert!(
        de.header("content-type")
            .is_some_and(|t| t.starts_with("image/svg+xml")),
        "{:?}",
        de.headers
    );
    // Embedded by the business's pages.
    assert_eq!(
        de.header("cross-origin-resource-policy"),
        Some("cross-origin")
    );
    assert!(de.body.contains("Live-Chat") && de.body.contains("geschlossen"));
    assert_well_formed_svg(&de.body);
    let en = get(
        &server.base,
        &format!("/api/status/{site}/badge.svg?lang=en"),
        None,
    );
    assert!(en.body.contains("Live chat") && en.body.contains(">closed<"));
    assert_well_formed_svg(&en.body);
}
