//! The signed-in agent of a dashboard API call, as one extractor.
//!
//! Every dashboard handler starts the same way: a valid session (401 otherwise), for a change
//! our own origin and the session's CSRF token, then the role's permission. It then works in
//! the tenant's database off the async threads and audits what it changed. [`Agent`] holds
//! what those steps need, so that a handler says only what is its own.

use super::State;
use super::client::Client;
use super::session;
use crate::domain::auth::Session;
use crate::error::{ApiError, Error};
use crate::model::rights::Permission;
use crate::realtime::hub::Command;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use rusqlite::Connection;
use std::future::Future;
use std::pin::Pin;

/// What a handler answers.
pub type Reply = Result<HttpResponse, ApiError>;

/// Work on one database connection, run off the async threads.
pub trait DbWork<T>: FnOnce(&mut Connection) -> crate::error::Result<T> + Send + 'static {}

impl<T, F: FnOnce(&mut Connection) -> crate::error::Result<T> + Send + 'static> DbWork<T> for F {}

/// Runs blocking work (a database, files) on actix's blocking threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(web::block(f).await??)
}

/// A signed-in agent's call: the session, the caller's facts and the app state. Extracting it
/// answers 401 when there is no valid session.
pub struct Agent {
    /// The session: the tenant's database, the agent, the CSRF token.
    pub session: Session,
    /// Who is calling.
    pub client: Client,
    /// The app state.
    pub state: State,
    /// The request, for the CSRF check.
    req: HttpRequest,
    /// The API token of a `/api/v1/` call (its number and name); none for the dashboard.
    pub token: Option<(i64, String)>,
}

/// The public API's paths: bearer tokens only, no session cookie, no CSRF.
pub const V1: &str = "/api/v1/";

impl FromRequest for Agent {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Agent, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<State>()
                .cloned()
                .ok_or_else(|| ApiError::from(Error::Internal("app state missing".into())))?;
            let client = Client::of(&req, &state);
            let (session, token) = if req.path().starts_with(V1) {
                let ts = super::bearer::current(&req, &state, &client).await?;
                (ts.session, Some((ts.id, ts.name)))
            } else {
                let s = session::current(&req, &state).await?;
                (s.ok_or(Error::Unauthorized)?, None)
            };
            Ok(Agent {
                session,
                client,
                state,
                req,
                token,
            })
        })
    }
}

impl Agent {
    /// Refuses agents whose role lacks `p` (for reads).
    pub fn may(&self, p: Permission) -> Result<(), ApiError> {
        session::require(&self.session, p)
    }

    /// Refuses agents whose role has none of `any` (the first one names the refusal).
    pub fn may_any(&self, any: &[Permission]) -> Result<(), ApiError> {
        session::require_any(&self.session, any)
    }

    /// For a change: the CSRF check first, then the permission.
    pub fn may_change(&self, p: Permission) -> Result<(), ApiError> {
        self.csrf()?;
        self.may(p)
    }

    /// Whether the request's `Origin` is exactly our own.
    pub fn same_origin(&self) -> bool {
        self.client.same_origin(&self.req)
    }

    /// The CSRF check alone (our own `Origin` and the session's token), for changes whose
    /// permission depends on what is asked.
    pub fn csrf(&self) -> Result<(), ApiError> {
        if self.token.is_some() {
            // A bearer token is never sent by a browser on its own: nothing to forge.
            return Ok(());
        }
        session::require_csrf(&self.req, &self.client, &self.session)
    }

    /// Who the audit trail and the read log name: the agent, and the token when one is used.
    pub fn actor(&self) -> String {
        let email = &self.session.agent.email;
        match &self.token {
            Some((_, name)) => format!("{email} (API token \"{name}\")"),
            None => email.clone(),
        }
    }

    /// The server's time, Unix seconds.
    pub fn now(&self) -> i64 {
        self.state.clock.now()
    }

    /// The tenant's uuid.
    pub fn tenant_uuid(&self) -> &str {
        &self.session.tenant.uuid
    }

    /// Runs `f` on the tenant database's writer connection, off the async threads.
    pub async fn db<T: Send + 'static>(&self, f: impl DbWork<T>) -> Result<T, ApiError> {
        let db = self.session.tenant.clone();
        blocking(move || db.with(f)).await
    }

    /// Like [`Agent::db`] on a reader connection: long reads do not hold up live chat.
    pub async fn read<T: Send + 'static>(&self, f: impl DbWork<T>) -> Result<T, ApiError> {
        let db = self.session.tenant.clone();
        blocking(move || db.read(f)).await
    }

    /// Runs `f` on the system database (sites, notices), off the async threads.
    pub async fn system<T: Send + 'static>(&self, f: impl DbWork<T>) -> Result<T, ApiError> {
        let store = self.state.store.clone();
        blocking(move || store.system(f)).await
    }

    /// Tells the tenant's hub, if it runs (one that does not reads everything when it starts).
    pub fn tell_hub(&self, command: Command) {
        if let Some(hub) = self.state.realtime.running(self.tenant_uuid()) {
            hub.send(command);
        }
    }

    /// Tells the tenant's hub, starting it first if need be.
    pub async fn tell_started_hub(&self, command: Command) -> Result<(), ApiError> {
        let (st, uuid) = (self.state.clone(), self.tenant_uuid().to_string());
        let hub = blocking(move || st.realtime.hub(&uuid)).await?;
        hub.send(command);
        Ok(())
    }

    /// Writes the audit entry of a successful change (never message content).
    pub async fn audit(&self, action: &str, object: &str) {
        self.audit_entry(action, object, "success").await;
    }

    /// Records that the agent asked for an object they may not see, and gives the answer
    /// they get: 404, as for one that does not exist.
    pub async fn denied(&self, object: String) -> ApiError {
        self.audit_entry("access", &object, "authz denied").await;
        ApiError::not_found()
    }

    /// Records a refused change in the audit trail (`authz denied`) and gives the refusal
    /// as the answer (`403 forbidden` for [`Error::Forbidden`]).
    pub async fn refused(&self, action: &str, object: &str, e: Error) -> ApiError {
        self.audit_entry(action, object, "authz denied").await;
        e.into()
    }

    /// Records that the agent read personal data (`what`: its kind, `object`: which one, never
    /// content); written in the background (see `domain::read_log`).
    pub fn read_logged(&self, what: &str, object: &str) {
        let s = &self.session;
        self.state.read_log.record(
            &s.tenant.uuid,
            crate::store::read_log::ReadEvent {
                at: self.state.clock.now(),
                actor: self.actor(),
                role: s.agent.role.clone(),
                what: what.into(),
                object: object.into(),
                ip: self.client.shown_ip(),
                request_id: self.client.request_id.clone(),
            },
        );
    }

    async fn audit_entry(&self, action: &str, object: &str, result: &'static str) {
        let s = &self.session;
        let db = s.tenant.clone();
        let (actor, role) = (self.actor(), s.agent.role.clone());
        let (ip, rid) = (self.client.shown_ip(), self.client.request_id.clone());
        let (action, object) = (action.to_string(), object.to_string());
        let written = web::block(move || {
            db.with(|c| {
                crate::store::audit::record(
                    c,
                    &crate::store::audit::AuditEntry {
                        actor: &actor,
                        role: &role,
                        action: &action,
                        object: &object,
                        result,
                        ip: &ip,
                        request_id: &rid,
                    },
                )
            })
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            tracing::error!("writing the audit log failed");
        }
    }
}

#[derive(serde::Serialize)]
struct SessionView<'a> {
    email: &'a str,
    name: &'a str,
    role: &'a str,
    permissions: crate::model::rights::Permissions,
    tenant: &'a str,
    csrf: &'a str,
}

/// `GET /api/session`: who is signed in, and the CSRF token for state-changing calls.
pub async fn show(a: Agent) -> HttpResponse {
    let s = &a.session;
    HttpResponse::Ok().json(SessionView {
        email: &s.agent.email,
        name: &s.agent.display_name,
        role: &s.agent.role,
        permissions: s.agent.permissions,
        tenant: &s.tenant.uuid,
        csrf: &s.csrf,
    })
}
