//! Agents' work time on the statistics page: `GET /api/stats/agents` (each agent's figures
//! per day and in all, and the team's), `GET /api/stats/agents.csv` (one of those tables) and
//! `PUT /api/stats/agents/recording` (the tenant's switch). An agent who may see statistics
//! sees everyone; any other agent only their own figures (`docs/data-protection.md`,
//! "Agents' work time").

use super::agent::{Agent, Reply};
use super::stats::{csv_download, csv_rows};
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::store::period::Period;
use crate::store::{presence, worktime};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

/// The period asked for, and for the CSV export which table.
#[derive(Deserialize)]
pub struct WorkQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    table: Option<String>,
}

/// The report the caller may see: everyone's with the statistics permission, else their own.
async fn compute(a: &Agent, q: &WorkQuery) -> Result<(Period, worktime::WorkReport), ApiError> {
    let now = a.now();
    let p = Period::days(q.from.as_deref(), q.to.as_deref(), now)?;
    let only = (!a.session.agent.may(Permission::StatsView)).then_some(a.session.agent.id);
    let report = a.read(move |c| worktime::report(c, p, now, only)).await?;
    Ok((p, report))
}

/// `GET /api/stats/agents?from=YYYY-MM-DD&to=YYYY-MM-DD`.
pub async fn show(a: Agent, q: web::Query<WorkQuery>) -> Reply {
    let (_, report) = compute(&a, &q).await?;
    let recording = a.read(|c| presence::recording(c)).await?;
    let mut body = serde_json::to_value(&report).unwrap_or_default();
    body["all"] = json!(a.session.agent.may(Permission::StatsView));
    body["recording"] = json!(recording);
    body["may_switch"] = json!(a.session.agent.may(Permission::SettingsManage));
    Ok(HttpResponse::Ok().json(body))
}

/// The columns of the CSV tables, in order (`days` has `day` first).
const COLUMNS: [&str; 12] = [
    "agent_id",
    "name",
    "signed_in_seconds",
    "online_seconds",
    "away_seconds",
    "in_chat_seconds",
    "chats",
    "messages",
    "median_first_response_seconds",
    "rating",
    "ratings",
    "chats_per_online_hour",
];

/// `GET /api/stats/agents.csv?table=agents|days&from=…&to=…`: one table as a CSV download.
pub async fn csv(a: Agent, q: web::Query<WorkQuery>) -> Reply {
    let name = q.table.clone().unwrap_or_default();
    let (p, report) = compute(&a, &q).await?;
    let (rows, first): (Value, &[&str]) = match name.as_str() {
        "agents" => (json!(report.agents), &[]),
        "days" => (json!(report.days), &["day"]),
        _ => {
            return Err(ApiError::bad_request("table must be one of: agents, days"));
        }
    };
    let columns: Vec<&str> = first.iter().chain(COLUMNS.iter()).copied().collect();
    let rows = rows.as_array().cloned().unwrap_or_default();
    let text = csv_rows(&columns, &rows);
    let file = format!("kontor-work-{name}-{}-{}.csv", p.first_day(), p.last_day());
    Ok(csv_download(&a, &format!("work-{name}"), &p, file, text))
}

/// The switch's new position.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    recording: bool,
}

/// `PUT /api/stats/agents/recording` `{"recording": false}` (the settings permission): stops
/// or resumes recording the agents' presence; stopping ends the open stretches now.
pub async fn switch(a: Agent, body: web::Json<Recording>) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let (on, now) = (body.recording, a.now());
    a.db(move |c| presence::set_recording(c, on, now)).await?;
    a.audit("worktime.recording", if on { "on" } else { "off" })
        .await;
    Ok(HttpResponse::Ok().json(json!({ "recording": on })))
}
