//! Business hours end to end: the widget's config and frame outside them, a chat start refused
//! while closed, a DST change and a holiday on the test clock, the CLI and the dashboard API.

use crate::chat::{SHOP, agent, setup, with_bob};
use crate::common::{Browser, Kontor, Ws};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use std::time::Duration;

fn config(server_base: &str, site: &str) -> Value {
    let mut b = Browser::new(server_base);
    b.headers.push(("Origin".into(), SHOP.into()));
    let res = b.get(&format!("/api/widget/config?site={site}"));
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()
}

fn now(k: &Kontor) -> Timestamp {
    Timestamp::from_second(k.clock().now()).unwrap()
}

/// The instant of a local date and time in a zone with a known offset (no DST guessing here).
fn at_offset(day: Date, h: i8, m: i8, offset_secs: i32) -> i64 {
    let utc = TimeZone::UTC.to_timestamp(day.at(h, m, 0, 0)).unwrap();
    utc.as_second() - offset_secs as i64
}

fn rfc3339(secs: i64) -> String {
    kontor::clock::rfc3339(secs)
}

fn advance_to(k: &Kontor, secs: i64) {
    let d = secs - k.clock().now();
    assert!(d > 0, "the test clock only moves forward");
    k.advance_clock(Duration::from_secs(d as u64));
}

#[test]
fn outside_the_hours_the_widget_says_closed_and_a_start_is_refused() {
    let (k, pw, site) = setup();
    // Closed every day but tomorrow 09:00-10:00 (UTC).
    let tomorrow = TimeZone::UTC
        .to_datetime(now(&k))
        .date()
        .tomorrow()
        .unwrap();
    let special = format!("{tomorrow}=09:00-10:00");
    k.ok(&["hours", "set", "acme", "--tz", "UTC", "--special", &special]);
    let server = k.server(&[]);
    let (_ab, _aws) = agent(&server, &pw);
    let opens = at_offset(tomorrow, 9, 0, 0);

    let v = config(&server.base, &site);
    assert_eq!(v["open"], false);
    assert_eq!(
        v["available"], false,
        "an agent is online, but it is closed"
    );
    assert_eq!(v["next_open"], rfc3339(opens));
    assert!(
        v["closed_note"].as_str().unwrap().contains("09:00 (UTC)"),
        "{v}"
    );
    let frame = Browser::new(&server.base).get(&format!("/widget/frame?site={site}&lang=de"));
    assert!(
        frame
            .body
            .contains("Wir sind morgen um 09:00 Uhr wieder da (UTC)."),
        "{}",
        frame.body
    );
    assert!(frame.body.contains("data-available=\"false\""));
    let en = Browser::new(&server.base).get(&format!("/widget/frame?site={site}&lang=en"));
    assert!(en.body.contains("We are back tomorrow at 09:00 (UTC)."));

    // A page loaded while open still offers the chat: its start is refused.
    let mut ws = Ws::visitor(&server.base, &site, SHOP).unwrap();
    ws.send(json!({"type": "start", "consent": true, "notice_version": "1"}));
    let e = ws.recv_type("error");
    assert_eq!(e["code"], "closed", "{e}");
    drop(ws);

    advance_to(&k, opens + 30 * 60);
    let v = config(&server.base, &site);
    assert_eq!(
        (v["open"].clone(), v["next_open"].clone()),
        (json!(true), Value::Null)
    );
    let frame = Browser::new(&server.base).get(&format!("/widget/frame?site={site}&lang=de"));
    assert!(!frame.body.contains("wieder da"));
    let mut ws = Ws::visitor(&server.base, &site, SHOP).unwrap();
    ws.send(json!({"type": "start", "consent": true, "notice_version": "1"}));
    assert_eq!(ws.recv_type("welcome")["status"], "waiting");

    // After 10:00 it is closed for good (no more hours).
    advance_to(&k, opens + 61 * 60);
    let v = config(&server.base, &site);
    assert_eq!(
        (v["open"].clone(), v["next_open"].clone()),
        (json!(false), Value::Null)
    );
}

#[test]
fn the_next_opening_follows_a_dst_change_and_skips_a_holiday() {
    let (k, _pw, site) = setup();
    let berlin = TimeZone::get("Europe/Berlin").unwrap();
    // The next change of Berlin's clocks (spring or autumn, whichever comes first).
    let change = berlin.following(now(&k)).next().unwrap().timestamp();
    let day = berlin.to_datetime(change).date();
    let after = berlin.to_offset(change).seconds();
    let holiday = day.tomorrow().unwrap();
    let closed = format!("{holiday}=Feiertag");
    k.ok(&[
        "hours",
        "set",
        "acme",
        "--tz",
        "Europe/Berlin",
        "--week",
        "mon-sun 09:00-17:00",
        "--closed",
        &closed,
    ]);
    let server = k.server(&[]);

    // An hour before the change (the night of the change): opens at 09:00 in the new offset.
    advance_to(&k, change.as_second() - 3600);
    let opens = at_offset(day, 9, 0, after);
    let v = config(&server.base, &site);
    assert_eq!(v["open"], false);
    assert_eq!(
        v["next_open"],
        rfc3339(opens),
        "09:00 after the change on {day}"
    );

    advance_to(&k, opens + 1);
    assert_eq!(config(&server.base, &site)["open"], true);

    // That evening: the next day is a holiday, so the day after at 09:00.
    advance_to(&k, opens + 8 * 3600 + 30 * 60);
    let v = config(&server.base, &site);
    assert_eq!(v["open"], false);
    assert_eq!(
        v["next_open"],
        rfc3339(opens + 2 * 86400),
        "after the holiday"
    );
    let frame = Browser::new(&server.base).get(&format!("/widget/frame?site={site}&lang=en"));
    let weekday = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ][holiday
        .tomorrow()
        .unwrap()
        .weekday()
        .to_monday_zero_offset() as usize];
    assert!(
        frame.body.contains(&format!(
            "We are back on {weekday} at 09:00 (Europe/Berlin)."
        )),
        "{}",
        frame.body
    );
}

#[test]
fn the_cli_sets_shows_and_refuses_bad_hours() {
    let (k, _pw) = Kontor::with_tenant();
    let shown = k.json(&["hours", "show", "acme"]);
    assert_eq!(
        (shown["hours"].clone(), shown["open"].clone()),
        (Value::Null, json!(true))
    );
    assert!(k.ok(&["hours", "show", "acme"]).contains("always open"));

    let set = k.json(&[
        "hours",
        "set",
        "acme",
        "--tz",
        "Europe/Berlin",
        "--week",
        "mon-fri 13:00-17:00,09:00-12:00; sat 10:00-14:00",
        "--closed",
        "2026-12-25=Christmas",
        "--closed",
        "2026-12-26",
        "--special",
        "2026-12-24=09:00-12:00",
    ]);
    assert_eq!(
        set["hours"]["week"]["mon"],
        json!(["09:00-12:00", "13:00-17:00"])
    );
    assert_eq!(set["hours"]["week"]["sun"], Value::Null);
    assert_eq!(
        set["hours"]["closed"][0],
        json!({"date": "2026-12-25", "label": "Christmas"})
    );
    assert_eq!(
        set["hours"]["special"][0],
        json!({"date": "2026-12-24", "hours": ["09:00-12:00"]})
    );
    let text = k.ok(&["hours", "show", "acme"]);
    assert!(text.contains("time zone  Europe/Berlin"), "{text}");
    assert!(text.contains("sun        closed"), "{text}");
    assert!(text.contains("closed     2026-12-25 Christmas"), "{text}");

    for (args, says) in [
        (
            vec!["--tz", "Mars/Olympus"],
            "time_zone: unknown time zone \"Mars/Olympus\"",
        ),
        (
            vec!["--tz", "UTC", "--week", "mon 09:00-12:00,11:00-13:00"],
            "week.mon: 09:00-12:00 and 11:00-13:00 overlap",
        ),
        (
            vec!["--tz", "UTC", "--week", "mon 17:00-09:00"],
            "ends before it starts",
        ),
        (
            vec!["--tz", "UTC", "--week", "mon 9:00-12:00"],
            "\"9:00\" is not a time HH:MM",
        ),
        (
            vec!["--tz", "UTC", "--week", "mo 09:00-12:00"],
            "unknown weekday \"mo\"",
        ),
        (
            vec![
                "--tz",
                "UTC",
                "--closed",
                "2026-12-25",
                "--closed",
                "2026-12-25",
            ],
            "closed[1]: 2026-12-25 is listed twice",
        ),
        (
            vec!["--tz", "UTC", "--special", "2026-12-24"],
            "special: \"2026-12-24\" needs a date",
        ),
    ] {
        let mut all = vec!["hours", "set", "acme"];
        all.extend(args.iter());
        let err = k.fails(&all);
        assert!(err.contains(says), "{all:?}: {err}");
    }
    // Nothing changed by the refusals.
    assert_eq!(
        k.json(&["hours", "show", "acme"])["hours"]["time_zone"],
        "Europe/Berlin"
    );

    // A department's own hours; with a server running they go through it.
    let dep = k.json(&["department", "add", "acme", "Sales"]);
    let id = dep["departments"][0]["id"].as_i64().unwrap().to_string();
    let _server = k.server(&[]);
    let d = k.json(&[
        "hours",
        "set",
        "acme",
        "--department",
        &id,
        "--tz",
        "UTC",
        "--week",
        "mon 08:00-24:00",
    ]);
    assert_eq!(d["department_id"].as_i64().unwrap().to_string(), id);
    assert_eq!(
        k.json(&["hours", "show", "acme", "--department", &id])["hours"]["week"]["mon"],
        json!(["08:00-24:00"])
    );
    assert!(
        k.fails(&["hours", "show", "acme", "--department", "999"])
            .contains("not found")
    );
    k.ok(&["hours", "clear", "acme"]);
    assert_eq!(k.json(&["hours", "show", "acme"])["hours"], Value::Null);
}

#[test]
fn the_dashboard_api_needs_the_settings_permission() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let dep = k.json(&["department", "add", "acme", "Support"]);
    let dep_id = dep["departments"][0]["id"].as_i64().unwrap();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let got = ann.get("/api/hours");
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.json()["hours"], Value::Null);

    let bad = ann.put_json(
        "/api/hours",
        &json!({"hours": {"time_zone": "Europe/Berlin", "week": {"tue": ["10:00-11:00", "10:30-12:00"]}}}),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["code"], "invalid_input");
    assert!(
        bad.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("week.tue:"),
        "{}",
        bad.body
    );
    // Closed all week: the widget follows at once.
    let res = ann.put_json(
        "/api/hours",
        &json!({"hours": {"time_zone": "Europe/Berlin", "closed": [{"date": "2030-01-01"}]}}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["open"], false);
    assert_eq!(config(&server.base, &site)["open"], false);

    let path = format!("/api/departments/{dep_id}/hours");
    let res = ann.put_json(
        &path,
        &json!({"hours": {"time_zone": "Asia/Tokyo", "week": {"mon": ["09:00-17:00"]}}}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(ann.get(&path).json()["hours"]["time_zone"], "Asia/Tokyo");
    assert_eq!(ann.get("/api/departments/999/hours").status, 404);

    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    assert_eq!(bob.get("/api/hours").status, 403);
    assert_eq!(
        bob.put_json("/api/hours", &json!({"hours": null})).status,
        403
    );
    assert_eq!(bob.put_json(&path, &json!({"hours": null})).status, 403);

    assert_eq!(
        ann.put_json("/api/hours", &json!({"hours": null})).status,
        200
    );
    assert_eq!(
        config(&server.base, &site)["open"],
        true,
        "no hours: always open"
    );
}

/// The pre-chat form the chat frame renders (`data-form`, HTML-escaped JSON).
fn frame_form(server_base: &str, site: &str) -> Value {
    let body = Browser::new(server_base)
        .get(&format!("/widget/frame?site={site}&lang=en"))
        .body;
    let start = body.find("data-form=\"").unwrap() + "data-form=\"".len();
    let raw = &body[start..start + body[start..].find('"').unwrap()];
    let json = raw
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

#[test]
fn a_departments_own_hours_decide_its_chats_and_the_widget() {
    let (k, pw, site) = setup();
    let id = |v: Value| v["departments"][0]["id"].as_i64().unwrap();
    let sales = id(k.json(&["department", "add", "acme", "Sales"]));
    let support = id(k.json(&["department", "add", "acme", "Support"]));
    // Sales opens only tomorrow 09:00-10:00 (UTC); Support and the tenant have no hours.
    let tomorrow = TimeZone::UTC
        .to_datetime(now(&k))
        .date()
        .tomorrow()
        .unwrap();
    let special = format!("{tomorrow}=09:00-10:00");
    let dep = sales.to_string();
    k.ok(&[
        "hours",
        "set",
        "acme",
        "--department",
        &dep,
        "--tz",
        "UTC",
        "--special",
        &special,
    ]);
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let form_path = format!("/api/sites/{site}/form");
    let r = ann.put_json(&form_path, &json!({"departments": [sales, support]}));
    assert_eq!(r.status, 200, "{}", r.body);
    let me = ann.agent_id("ann@acme.example");
    let r = ann.put_json(
        &format!("/api/agents/{me}"),
        &json!({"department_ids": [sales, support]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (_ab, _aws) = agent(&server, &pw);

    // Support is open, so the site is; the form marks Sales closed though its agent is online.
    let v = config(&server.base, &site);
    assert_eq!(
        (v["open"].clone(), v["available"].clone()),
        (json!(true), json!(true)),
        "{v}"
    );
    let offered = frame_form(&server.base, &site)["departments"].clone();
    let open_of = |d: i64| {
        offered
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == d)
            .map(|x| x["open"].clone())
    };
    assert_eq!(open_of(sales), Some(json!(false)), "{offered}");
    assert_eq!(open_of(support), Some(json!(true)), "{offered}");
    let start_for = |d: i64| {
        let mut ws = Ws::visitor(&server.base, &site, SHOP).unwrap();
        ws.send(json!({"type": "start", "consent": true, "notice_version": "1", "department": d}));
        loop {
            let f = ws.recv();
            if f["type"] == "welcome" || f["type"] == "error" {
                return f;
            }
        }
    };
    assert_eq!(start_for(sales)["code"], "closed");
    assert_eq!(start_for(support)["type"], "welcome");

    // A site that offers only Sales is closed until Sales opens, and says when.
    let r = ann.put_json(&form_path, &json!({"departments": [sales]}));
    assert_eq!(r.status, 200, "{}", r.body);
    let opens = at_offset(tomorrow, 9, 0, 0);
    let v = config(&server.base, &site);
    assert_eq!(v["open"], false, "{v}");
    assert_eq!(v["next_open"], rfc3339(opens));
    assert!(
        v["closed_note"]
            .as_str()
            .unwrap()
            .contains("tomorrow at 09:00 (UTC)"),
        "{v}"
    );

    // Tomorrow at 09:30 Sales is open.
    advance_to(&k, opens + 30 * 60);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    assert_eq!(ann.get("/api/session").status, 200);
    let (_ab, _aws) = agent(&server, &pw);
    assert_eq!(config(&server.base, &site)["open"], true);
    assert_eq!(start_for(sales)["type"], "welcome");
}
