//! The statistics page's data: `GET /api/stats` (headline, the previous period for comparison,
//! breakdowns) and `GET /api/stats.csv` (one table as CSV, spreadsheet formulas neutralised).
//! Needs the permission to see statistics.

use super::agent::{Agent, Reply};
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::store::period::Period;
use crate::store::stats::{self, Breakdown, DayFigures, Ranked};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

/// The period asked for.
#[derive(Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    /// For the CSV export: which table.
    #[serde(default)]
    table: Option<String>,
}

/// The period's figures, the previous period's headline and the breakdowns, for agents who
/// may see statistics.
async fn compute(
    a: &Agent,
    q: &PeriodQuery,
) -> Result<(Period, stats::Headline, stats::Headline, Breakdown), ApiError> {
    a.may(Permission::StatsView)?;
    let now = a.now();
    let p = Period::days(q.from.as_deref(), q.to.as_deref(), now)?;
    // A reader beside the chat writer: a year of figures does not hold up live chat.
    a.read(move |c| {
        let (headline, breakdown) = stats::report(c, p, now)?;
        let previous = stats::headline(c, p.previous(), now)?;
        Ok((p, headline, previous, breakdown))
    })
    .await
}

fn ranked(list: &[Ranked], name: &str, extra: Option<&str>, count: &str) -> Value {
    list.iter()
        .map(|r| {
            let mut o = serde_json::Map::new();
            o.insert(name.into(), json!(r.name));
            if let Some(e) = extra {
                o.insert(e.into(), json!(r.extra));
            }
            o.insert(count.into(), json!(r.count));
            Value::Object(o)
        })
        .collect()
}

fn days(list: &[DayFigures], a: &str, b: &str, c: Option<&str>) -> Value {
    list.iter()
        .map(|d| {
            let mut o = serde_json::Map::new();
            o.insert("day".into(), json!(d.day));
            o.insert(a.into(), json!(d.a));
            o.insert(b.into(), json!(d.b));
            if let Some(c) = c {
                o.insert(c.into(), json!(d.c));
            }
            Value::Object(o)
        })
        .collect()
}

/// The breakdowns as the API names them (`docs/http-api.md`, "Statistics"), and the
/// headline's campaigns as a table of their own (for the CSV export).
fn tables(b: &Breakdown, h: &stats::Headline) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert(
        "visits_by_day".into(),
        days(&b.visits_by_day, "visits", "page_views", None),
    );
    m.insert(
        "chats_by_day".into(),
        days(&b.chats_by_day, "chats", "accepted", Some("missed")),
    );
    m.insert("visits_by_hour".into(), json!(b.visits_by_hour));
    m.insert("visits_by_weekday".into(), json!(b.visits_by_weekday));
    m.insert("chats_by_hour".into(), json!(b.chats_by_hour));
    m.insert("chats_by_weekday".into(), json!(b.chats_by_weekday));
    m.insert(
        "top_pages".into(),
        ranked(&b.top_pages, "url", Some("title"), "views"),
    );
    m.insert(
        "entry_pages".into(),
        ranked(&b.entry_pages, "url", Some("title"), "visits"),
    );
    m.insert(
        "exit_pages".into(),
        ranked(&b.exit_pages, "url", Some("title"), "visits"),
    );
    m.insert(
        "referrers".into(),
        ranked(&b.referrers, "kind", None, "visits"),
    );
    m.insert(
        "referrer_hosts".into(),
        ranked(&b.referrer_hosts, "host", Some("kind"), "visits"),
    );
    for (key, list) in [
        ("browsers", &b.browsers),
        ("os", &b.os),
        ("devices", &b.devices),
        ("languages", &b.languages),
        ("countries", &b.countries),
    ] {
        m.insert(key.into(), ranked(list, "name", None, "visits"));
    }
    m.insert("agents".into(), json!(b.agents));
    m.insert("campaigns".into(), json!(h.campaigns));
    m.insert("departments".into(), json!(b.departments));
    m.insert("faqs".into(), ranked(&b.faqs, "question", None, "views"));
    m
}

/// `GET /api/stats?from=YYYY-MM-DD&to=YYYY-MM-DD` (the statistics permission).
pub async fn show(a: Agent, q: web::Query<PeriodQuery>) -> Reply {
    let (_, headline, previous, b) = compute(&a, &q).await?;
    let mut body = tables(&b, &headline);
    body.insert("headline".into(), json!(headline));
    body.insert("previous".into(), json!(previous));
    Ok(HttpResponse::Ok().json(Value::Object(body)))
}

/// `GET /api/stats.csv?table=NAME&from=…&to=…` (the statistics permission): one table as a CSV download.
pub async fn csv(a: Agent, q: web::Query<PeriodQuery>) -> Reply {
    let name = q.table.clone().unwrap_or_default();
    let (p, headline, _, b) = compute(&a, &q).await?;
    let all = tables(&b, &headline);
    let Some(table) = all.get(&name) else {
        return Err(ApiError::bad_request(format!(
            "table must be one of: {}",
            all.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    };
    let text = to_csv(table);
    let file = format!("kontor-{name}-{}-{}.csv", p.first_day(), p.last_day());
    Ok(csv_download(&a, &name, &p, file, text))
}

/// A CSV table as a download, its reading recorded in the read log as `stats.csv` with the
/// table's name and period.
pub fn csv_download(a: &Agent, name: &str, p: &Period, file: String, text: String) -> HttpResponse {
    a.read_logged(
        "stats.csv",
        &format!("{name} {}..{}", p.first_day(), p.last_day()),
    );
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .body(text)
}

/// Rows of flat objects as CSV with these columns, in this order (a missing value is empty).
pub fn csv_rows<S: AsRef<str>>(columns: &[S], rows: &[Value]) -> String {
    let mut out = columns
        .iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for r in rows {
        let line: Vec<String> = columns
            .iter()
            .map(|c| cell(&plain(&r[c.as_ref()])))
            .collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A JSON table (a list of flat objects, or a list of numbers by index) as CSV.
fn to_csv(table: &Value) -> String {
    let rows = table.as_array().cloned().unwrap_or_default();
    if let Some(Value::Object(first)) = rows.first() {
        let cols: Vec<&String> = first.keys().collect();
        return csv_rows(&cols, &rows);
    }
    let mut out = String::from("index,count\r\n");
    for (i, v) in rows.iter().enumerate() {
        out.push_str(&format!("{i},{}\r\n", cell(&plain(v))));
    }
    out
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One CSV cell: text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR at the
/// start) gets a leading `'`; quotes, commas and line breaks are quoted.
pub fn cell(s: &str) -> String {
    let is_number = !s.is_empty() && s.parse::<f64>().is_ok();
    let mut v = s.to_string();
    if !is_number && v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        v.insert(0, '\'');
    }
    if v.contains([',', '"', '\n', '\r']) {
        v = format!("\"{}\"", v.replace('"', "\"\""));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+49 30"), "'+49 30");
        assert_eq!(cell("-cmd"), "'-cmd");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("-3"), "-3");
        assert_eq!(cell("https://s.example/a,b"), "\"https://s.example/a,b\"");
        assert_eq!(cell("plain"), "plain");
    }
}
