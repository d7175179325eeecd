//! Business hours in the dashboard: `GET`/`PUT /api/hours` (the tenant's default, which the
//! widget follows) and `GET`/`PUT /api/departments/{id}/hours`. Both need `settings.manage`;
//! changes are audited. The rules are in `model::hours`, the reading and saving in
//! `domain::hours`; the hub reads the hours when a chat starts, so nothing needs reloading.

use super::agent::{Agent, Reply};
use crate::domain::hours;
use crate::model::hours::{HoursInput, status_at};
use crate::model::rights::Permission;
use crate::store::hours::TENANT_DEFAULT;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use serde::Deserialize;

/// Body of `PUT`: the hours, or `null` for none (always open).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursBody {
    hours: Option<HoursInput>,
}

/// The answer of both verbs: the hours as stored (normalized) and whether they are open now.
fn answer(department: i64, h: Option<HoursInput>, now: i64) -> HttpResponse {
    // Stored hours always parse again; the status only informs the editor.
    let parsed = h
        .clone()
        .and_then(|i| crate::model::hours::Hours::parse(i).ok());
    let status = status_at(parsed.as_ref(), now);
    HttpResponse::Ok().json(serde_json::json!({
        "department_id": (department != TENANT_DEFAULT).then_some(department),
        "hours": h,
        "open": status.open,
        "next_open": status.next_open.map(|t| crate::clock::rfc3339(t.as_second())),
    }))
}

async fn show(a: Agent, department: i64) -> Reply {
    a.may(Permission::SettingsManage)?;
    let h = a.read(move |c| hours::show(c, department)).await?;
    Ok(answer(department, h, a.now()))
}

async fn save(a: Agent, department: i64, body: HoursBody) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let now = a.now();
    let h = a
        .db(move |c| hours::save(c, department, body.hours, now))
        .await?;
    let object = match department {
        TENANT_DEFAULT => "hours".to_string(),
        d => format!("hours:department#{d}"),
    };
    a.audit("settings.update", &object).await;
    Ok(answer(department, h, now))
}

/// `GET /api/hours`: the tenant's default hours.
pub async fn get_default(a: Agent) -> Reply {
    show(a, TENANT_DEFAULT).await
}

/// `PUT /api/hours`: `{hours: {...} | null}`.
pub async fn put_default(a: Agent, body: Json<HoursBody>) -> Reply {
    save(a, TENANT_DEFAULT, body.into_inner()).await
}

/// `GET /api/departments/{id}/hours`.
pub async fn get_department(a: Agent, id: Path<i64>) -> Reply {
    match id.into_inner() {
        id if id > 0 => show(a, id).await,
        _ => Err(crate::error::ApiError::not_found()),
    }
}

/// `PUT /api/departments/{id}/hours`: `{hours: {...} | null}`.
pub async fn put_department(a: Agent, id: Path<i64>, body: Json<HoursBody>) -> Reply {
    match id.into_inner() {
        id if id > 0 => save(a, id, body.into_inner()).await,
        _ => Err(crate::error::ApiError::not_found()),
    }
}
