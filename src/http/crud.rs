//! Invitation rules, campaigns and goals are rows the tenant's hub reads. The dashboard
//! lists them, and creates, changes and deletes each kind by id in the same steps, written
//! here once: the CSRF check and the permission, the row checked, the change, its audit entry
//! (`{kind}.create` on `{kind}#{id}`, likewise `update` and `delete`), and the hub told to
//! read them again.

use super::agent::{Agent, Reply};
use crate::error::{ApiError, Result};
use crate::model::rights::Permission;
use crate::realtime::hub::Command;
use actix_web::HttpResponse;
use actix_web::web::{self, Json, Path, ServiceConfig};
use rusqlite::Connection;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A kind of row the hub reads, as the dashboard edits it.
pub(crate) trait HubRows {
    /// Its name in audit entries.
    const KIND: &'static str;
    /// The list's name in the answer of `GET`.
    const LIST: &'static str;
    /// Who may list such rows (any of these).
    const READ: &'static [Permission];
    /// Who may change such rows.
    const PERMISSION: Permission;
    /// A row as sent, and as answered.
    type Row: DeserializeOwned + Serialize + Send + 'static;
    /// A row as checked, ready to store.
    type Checked: Send + 'static;

    /// Every row, by id.
    fn list(c: &Connection) -> Result<Vec<Self::Row>>;
    /// Checks a row sent (its id is ignored).
    async fn check(a: &Agent, row: Self::Row) -> std::result::Result<Self::Checked, ApiError>;
    /// Stores a new row.
    fn insert(c: &Connection, row: &Self::Checked, at: i64) -> Result<Self::Row>;
    /// Replaces row `id`; `None` when there is no such row.
    fn update(c: &Connection, id: i64, row: Self::Checked) -> Result<Option<Self::Row>>;
    /// Deletes row `id`; whether there was one.
    fn delete(c: &Connection, id: i64) -> Result<bool>;
    /// A stored row's id.
    fn id(row: &Self::Row) -> i64;
}

/// Registers `GET` and `POST {path}`, `PUT` and `DELETE {path}/{id}` for rows of kind `K`.
pub(crate) fn routes<K: HubRows + 'static>(path: &'static str) -> impl FnOnce(&mut ServiceConfig) {
    move |cfg| {
        let one = format!("{path}/{{id}}");
        cfg.route(path, web::get().to(list::<K>))
            .route(path, web::post().to(create::<K>))
            .route(&one, web::put().to(update::<K>))
            .route(&one, web::delete().to(delete::<K>));
    }
}

/// `GET` of every row: `{"<list>": [...]}`.
pub(crate) async fn list<K: HubRows>(a: Agent) -> Reply {
    a.may_any(K::READ)?;
    let rows = a.db(|c| K::list(c)).await?;
    let mut body = serde_json::Map::new();
    body.insert(K::LIST.into(), serde_json::json!(rows));
    Ok(HttpResponse::Ok().json(body))
}

/// `POST` of a new row: 201 with the row as stored.
pub(crate) async fn create<K: HubRows>(a: Agent, body: Json<K::Row>) -> Reply {
    a.may_change(K::PERMISSION)?;
    let row = K::check(&a, body.into_inner()).await?;
    let at = a.now();
    let saved = a.db(move |c| K::insert(c, &row, at)).await?;
    changed::<K>(&a, "create", K::id(&saved)).await;
    Ok(HttpResponse::Created().json(saved))
}

/// `PUT` of row `{id}`: 200 with the row as stored, 404 when there is none.
pub(crate) async fn update<K: HubRows>(a: Agent, id: Path<i64>, body: Json<K::Row>) -> Reply {
    a.may_change(K::PERMISSION)?;
    let id = id.into_inner();
    let row = K::check(&a, body.into_inner()).await?;
    let saved = a.db(move |c| K::update(c, id, row)).await?;
    let saved = saved.ok_or_else(ApiError::not_found)?;
    changed::<K>(&a, "update", id).await;
    Ok(HttpResponse::Ok().json(saved))
}

/// `DELETE` of row `{id}`: 204, 404 when there is none.
pub(crate) async fn delete<K: HubRows>(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(K::PERMISSION)?;
    let id = id.into_inner();
    if !a.db(move |c| K::delete(c, id)).await? {
        return Err(ApiError::not_found());
    }
    changed::<K>(&a, "delete", id).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Audits a change and tells a running hub to read rules, campaigns and goals again (a hub
/// that is not running reads them when it starts).
async fn changed<K: HubRows>(a: &Agent, what: &str, id: i64) {
    let kind = K::KIND;
    a.audit(&format!("{kind}.{what}"), &format!("{kind}#{id}"))
        .await;
    a.tell_hub(Command::RulesChanged);
}
