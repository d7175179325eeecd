//! Departments in the dashboard (`/api/departments`): create, rename, set their own waiting
//! times, delete. Listing is in
//! `chats.rs` (every agent who chats sees them, to transfer chats). Changes need the
//! permission to manage agents and are audited. Deleting a department moves its waiting chats
//! to the general queue (every agent sees them) and takes its agents out of it.

use super::agent::{Agent, Reply};
use crate::error::Error;
use crate::model::rights::Permission;
use crate::model::tenants;
use crate::realtime::hub::Command;
use crate::store::tenant as tstore;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use serde::Deserialize;

/// Body of `POST`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentBody {
    name: String,
}

/// Body of `PUT`: what is absent stays; a time given as `null` follows the tenant's again.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentChange {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    queue_alert_secs: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    offline_offer_secs: Option<Option<u32>>,
}

/// A field that is present, even as `null` (absent fields take the `default`, `None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The cleaned name, refused when another department has it (in any case).
fn name_for(c: &rusqlite::Connection, raw: &str, id: Option<i64>) -> crate::error::Result<String> {
    let name = tenants::clean_name("department name", raw, 100)?;
    let taken = tstore::list_departments(c)?
        .into_iter()
        .any(|d| Some(d.id) != id && d.name.to_lowercase() == name.to_lowercase());
    if taken {
        return Err(Error::Conflict(format!(
            "a department named {name:?} exists already"
        )));
    }
    Ok(name)
}

/// `POST /api/departments`: `{name}`.
pub async fn create(a: Agent, body: Json<DepartmentBody>) -> Reply {
    a.may_change(Permission::AgentsManage)?;
    let raw = body.into_inner().name;
    let dep = a
        .db(move |c| {
            let name = name_for(c, &raw, None)?;
            tstore::insert_department(c, &name)
        })
        .await?;
    a.audit("department.create", &format!("department#{}", dep.id))
        .await;
    Ok(HttpResponse::Created().json(dep))
}

/// `PUT /api/departments/{id}`: `{name, queue_alert_secs, offline_offer_secs}`, each optional.
pub async fn update(a: Agent, id: Path<i64>, body: Json<DepartmentChange>) -> Reply {
    a.may_change(Permission::AgentsManage)?;
    let (id, ch) = (id.into_inner(), body.into_inner());
    let check = |name, v: Option<Option<u32>>| {
        v.map(|v| {
            v.map(|s| crate::model::waiting::check_secs(name, s))
                .transpose()
        })
        .transpose()
    };
    let alert = check("queue_alert_secs", ch.queue_alert_secs)?;
    let offer = check("offline_offer_secs", ch.offline_offer_secs)?;
    let times_changed = alert.is_some() || offer.is_some();
    let dep = a
        .db(move |c| {
            let tx = c.transaction()?;
            let mut dep = tstore::department(&tx, id)?;
            if let Some(raw) = ch.name {
                let name = name_for(&tx, &raw, Some(id))?;
                dep = tstore::rename_department(&tx, id, &name)?;
            }
            if times_changed {
                let own = crate::model::waiting::Own {
                    alert: alert.unwrap_or(dep.queue_alert_secs),
                    offer: offer.unwrap_or(dep.offline_offer_secs),
                };
                dep = tstore::set_department_waiting(&tx, id, own)?;
            }
            tx.commit()?;
            Ok(dep)
        })
        .await?;
    a.audit("department.update", &format!("department#{id}"))
        .await;
    if times_changed {
        a.tell_started_hub(Command::SettingsChanged).await?;
    }
    Ok(HttpResponse::Ok().json(dep))
}

/// `DELETE /api/departments/{id}`: answers `{moved}`, the waiting chats now in the general
/// queue.
pub async fn delete(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(Permission::AgentsManage)?;
    let id = id.into_inner();
    let moved = a.db(move |c| tstore::delete_department(c, id)).await?;
    a.tell_hub(Command::DepartmentDeleted(id));
    a.audit("department.delete", &format!("department#{id}"))
        .await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "moved": moved })))
}
