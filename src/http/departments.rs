//! Departments in the dashboard (`/api/departments`): create, rename, delete. Listing is in
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

/// Body of `POST` and `PUT`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentBody {
    name: String,
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

/// `PUT /api/departments/{id}`: `{name}`.
pub async fn update(a: Agent, id: Path<i64>, body: Json<DepartmentBody>) -> Reply {
    a.may_change(Permission::AgentsManage)?;
    let (id, raw) = (id.into_inner(), body.into_inner().name);
    let dep = a
        .db(move |c| {
            let name = name_for(c, &raw, Some(id))?;
            tstore::rename_department(c, id, &name)
        })
        .await?;
    a.audit("department.update", &format!("department#{id}"))
        .await;
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
