//! The dashboard's visitor API: a visitor's pages and earlier chats, the sites' tracking
//! modes, and the automatic invitation rules. Reads need the permission to see live visitors
//! (or to manage sites); writes need the permission to manage sites.

use super::State;
use super::client::Client;
use super::session::{AgentSession, audit, audit_denied, require_csrf};
use crate::domain::auth::Session;
use crate::domain::sites;
use crate::error::ApiError;
use crate::model::sites::SiteTracking;
use crate::model::tenants;
use crate::realtime::hub::Command;
use crate::store::system as sstore;
use crate::store::visits::{self as vstore, Rule};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// Sites and rules are read by agents who see live visitors and by those who manage sites.
fn sees_sites(s: &Session) -> Result<(), ApiError> {
    use crate::model::rights::Permission;
    super::session::require_any(s, &[Permission::VisitorsView, Permission::SitesManage])
}

/// A visitor's earlier chats, as far as this agent may read them.
fn visible_chats(
    c: &rusqlite::Connection,
    v: &mut vstore::VisitorDetail,
    only: Option<i64>,
    may_chat: bool,
) -> crate::error::Result<()> {
    let mut keep = Vec::new();
    if !may_chat {
        // Without chats at all, no chat of theirs can be opened: none is listed.
        v.chats.clear();
        return Ok(());
    }
    for ch in std::mem::take(&mut v.chats) {
        if super::chats::may_read(c, ch.conversation_id, only)? {
            keep.push(ch);
        }
    }
    v.chats = keep;
    Ok(())
}

/// `GET /api/visitors/{id}`.
pub async fn show(
    session: AgentSession,
    client: Client,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    super::session::require(&session.0, crate::model::rights::Permission::VisitorsView)?;
    let id = id.into_inner();
    let db = session.0.tenant.clone();
    let only = super::chats::own_only(&session.0);
    let may_chat = super::chats::require_chats(&session.0).is_ok();
    let found = web::block(move || {
        db.with(|c| match vstore::visitor_detail(c, id, None)? {
            Some(mut v) => {
                visible_chats(c, &mut v, only, may_chat)?;
                Ok(Some(v))
            }
            None => Ok(None),
        })
    })
    .await??;
    match found {
        Some(v) => Ok(HttpResponse::Ok().json(v)),
        None => {
            audit_denied(&session.0, &client, format!("visitor#{id}")).await;
            Err(ApiError::not_found())
        }
    }
}

/// `GET /api/conversations/{id}/visitor`: the pages the chat's visitor read in that visit.
pub async fn of_conversation(
    session: AgentSession,
    client: Client,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    super::session::require(&session.0, crate::model::rights::Permission::VisitorsView)?;
    super::chats::require_chats(&session.0)?;
    let conv = id.into_inner();
    let db = session.0.tenant.clone();
    let only = super::chats::own_only(&session.0);
    let may_chat = true;
    let found = web::block(move || {
        db.with(|c| {
            if !super::chats::may_read(c, conv, only)? {
                return Ok(Err(false));
            }
            match vstore::conversation_visitor(c, conv)? {
                Some(v) => match vstore::visitor_detail(c, v, Some(conv))? {
                    Some(mut d) => {
                        visible_chats(c, &mut d, only, may_chat)?;
                        Ok(Ok(d))
                    }
                    None => Ok(Err(true)),
                },
                None => Ok(Err(true)),
            }
        })
    })
    .await??;
    match found {
        Ok(v) => Ok(HttpResponse::Ok().json(v)),
        // The chat exists but has no visitor (tracking off, or no page view first).
        Err(true) => Err(ApiError::not_found()),
        Err(false) => {
            audit_denied(&session.0, &client, format!("conversation#{conv}")).await;
            Err(ApiError::not_found())
        }
    }
}

/// `GET /api/sites`: the tenant's sites with their tracking settings.
pub async fn sites(state: State, session: AgentSession) -> Result<HttpResponse, ApiError> {
    sees_sites(&session.0)?;
    let uuid = session.0.tenant.uuid.clone();
    let st = state.clone();
    let list = web::block(move || st.store.system(|c| sstore::list_sites(c, &uuid))).await??;
    let sites: Vec<_> = list
        .into_iter()
        .map(|s| {
            serde_json::json!({
                "site_key": s.site_key,
                "origins": s.origins,
                "tracking": s.tracking.mode,
                "strip": s.tracking.strip,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "sites": sites })))
}

/// Body of `PUT /api/sites/{key}/tracking`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingBody {
    tracking: String,
    #[serde(default)]
    strip: Option<Vec<String>>,
}

/// `PUT /api/sites/{key}/tracking` (the sites permission).
pub async fn set_tracking(
    req: HttpRequest,
    state: State,
    client: Client,
    session: AgentSession,
    key: web::Path<String>,
    body: web::Json<TrackingBody>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    manages_sites(&s)?;
    let key = key.into_inner();
    let b = body.into_inner();
    let st = state.clone();
    let uuid = s.tenant.uuid.clone();
    let k = key.clone();
    // Without `strip` the site keeps its list, as with the CLI.
    let changed = web::block(move || {
        st.store.system(|c| {
            let Some(site) = sstore::site_by_key(c, &k)?.filter(|x| x.tenant_uuid == uuid) else {
                return Ok(None);
            };
            let strip = b.strip.unwrap_or(site.tracking.strip);
            let t: SiteTracking = sites::clean_tracking(Some(&b.tracking), Some(&strip))?;
            sstore::set_site_tracking(c, &k, &t)?;
            Ok(Some(t))
        })
    })
    .await??;
    let Some(t) = changed else {
        audit_denied(&s, &client, format!("site#{key}")).await;
        return Err(ApiError::not_found());
    };
    state.tracking.forget_site(&key);
    audit(&s, &client, "site.tracking", &key, "success").await;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "site_key": key,
        "tracking": t.mode,
        "strip": t.strip,
    })))
}

/// `GET /api/rules`.
pub async fn rules(session: AgentSession) -> Result<HttpResponse, ApiError> {
    sees_sites(&session.0)?;
    let db = session.0.tenant.clone();
    let rules = web::block(move || db.with(|c| vstore::list_rules(c))).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "rules": rules })))
}

/// `POST /api/rules` (the sites permission).
pub async fn create_rule(
    req: HttpRequest,
    state: State,
    client: Client,
    session: AgentSession,
    body: web::Json<Rule>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    manages_sites(&s)?;
    let rule = check_rule(&state, &s, body.into_inner()).await?;
    let (db, at) = (s.tenant.clone(), state.clock.now());
    let saved = web::block(move || db.with(|c| vstore::insert_rule(c, &rule, at))).await??;
    audit(
        &s,
        &client,
        "rule.create",
        &format!("rule#{}", saved.id),
        "success",
    )
    .await;
    rules_changed(&state, &s);
    Ok(HttpResponse::build(StatusCode::CREATED).json(saved))
}

/// `PUT /api/rules/{id}` (the sites permission).
pub async fn update_rule(
    req: HttpRequest,
    state: State,
    client: Client,
    session: AgentSession,
    id: web::Path<i64>,
    body: web::Json<Rule>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    manages_sites(&s)?;
    let id = id.into_inner();
    let rule = check_rule(&state, &s, body.into_inner()).await?;
    let db = s.tenant.clone();
    let r2 = rule.clone();
    let found = web::block(move || db.with(|c| vstore::update_rule(c, id, &r2))).await??;
    if !found {
        return Err(ApiError::not_found());
    }
    audit(&s, &client, "rule.update", &format!("rule#{id}"), "success").await;
    rules_changed(&state, &s);
    Ok(HttpResponse::Ok().json(Rule { id, ..rule }))
}

/// `DELETE /api/rules/{id}` (the sites permission).
pub async fn delete_rule(
    req: HttpRequest,
    state: State,
    client: Client,
    session: AgentSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    manages_sites(&s)?;
    let id = id.into_inner();
    let db = s.tenant.clone();
    let found = web::block(move || db.with(|c| vstore::delete_rule(c, id))).await??;
    if !found {
        return Err(ApiError::not_found());
    }
    audit(&s, &client, "rule.delete", &format!("rule#{id}"), "success").await;
    rules_changed(&state, &s);
    Ok(HttpResponse::NoContent().finish())
}

fn manages_sites(s: &Session) -> Result<(), ApiError> {
    super::session::require(s, crate::model::rights::Permission::SitesManage)
}

/// Checks a rule an admin sent: a site of this tenant, a name, a text, sane numbers.
async fn check_rule(state: &State, s: &Session, mut r: Rule) -> Result<Rule, ApiError> {
    r.name = tenants::clean_name("name", r.name.trim(), 100)?;
    r.text = r.text.trim().to_string();
    let len = r.text.chars().count();
    if len == 0 || len > crate::realtime::hub::MAX_INVITE_TEXT {
        return Err(ApiError::bad_request("text: 1 to 500 characters"));
    }
    if !(0..=3600).contains(&r.delay_seconds) {
        return Err(ApiError::bad_request("delay_seconds: 0 to 3600"));
    }
    r.conditions.validate()?;
    let st = state.clone();
    let (key, uuid) = (r.site_key.clone(), s.tenant.uuid.clone());
    let own = web::block(move || {
        st.store
            .system(|c| Ok(sstore::site_by_key(c, &key)?.is_some_and(|x| x.tenant_uuid == uuid)))
    })
    .await??;
    if !own {
        return Err(ApiError::bad_request("site_key: no such site"));
    }
    Ok(r)
}

/// Tells a running hub to read rules, campaigns and goals again (a hub that is not running
/// reads them when it starts).
pub(super) fn rules_changed(state: &State, s: &Session) {
    if let Some(hub) = state.realtime.running(&s.tenant.uuid) {
        hub.send(Command::RulesChanged);
    }
}
