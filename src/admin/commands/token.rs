//! `kontor token …`: API tokens for a tenant's integrations, made by the operator (the
//! business's admins make them in Settings › API). A token acts for one agent of the tenant
//! with the permissions named here that the agent's role holds; it is printed once.

use crate::admin::{Ctx, Request, Response};
use crate::domain::api_tokens::{self, Request as NewToken};
use crate::error::Result;
use crate::model::rights::Permissions;
use clap::Subcommand;
use serde::{Deserialize, Serialize};

/// `kontor token …`
#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// A new API token, printed once
    Create {
        /// Tenant slug
        tenant: String,
        /// What it is for (e.g. "shop", "CRM")
        #[arg(long)]
        name: String,
        /// The agent it acts for (their email)
        #[arg(long)]
        agent: String,
        /// Its permissions, comma-separated (e.g. chat,stats.view); each must be the agent's
        #[arg(long)]
        permissions: String,
        /// Days until it stops working (default: until revoked)
        #[arg(long)]
        days: Option<u32>,
    },
    /// The tenant's tokens (never their secrets), newest first
    List {
        /// Tenant slug
        tenant: String,
    },
    /// Stops a token at once
    Revoke {
        /// Tenant slug
        tenant: String,
        /// The token's number (from `token list`)
        id: i64,
    },
}

/// The token requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum TokenRequest {
    /// `token create`
    #[serde(rename = "token_create")]
    Create {
        /// Tenant slug.
        tenant: String,
        /// Its name.
        name: String,
        /// The agent's email.
        agent: String,
        /// Its permissions.
        permissions: String,
        /// Its lifetime.
        days: Option<u32>,
    },
    /// `token list`
    #[serde(rename = "token_list")]
    List {
        /// Tenant slug.
        tenant: String,
    },
    /// `token revoke`
    #[serde(rename = "token_revoke")]
    Revoke {
        /// Tenant slug.
        tenant: String,
        /// The token's number.
        id: i64,
    },
}

impl TokenCmd {
    /// The request this command sends.
    pub fn request(&self) -> Request {
        Request::Token(match self {
            TokenCmd::Create {
                tenant,
                name,
                agent,
                permissions,
                days,
            } => TokenRequest::Create {
                tenant: tenant.clone(),
                name: name.clone(),
                agent: agent.clone(),
                permissions: permissions.clone(),
                days: *days,
            },
            TokenCmd::List { tenant } => TokenRequest::List {
                tenant: tenant.clone(),
            },
            TokenCmd::Revoke { tenant, id } => TokenRequest::Revoke {
                tenant: tenant.clone(),
                id: *id,
            },
        })
    }
}

impl TokenRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let now = cx.clock.now();
        match self {
            TokenRequest::Create {
                tenant,
                name,
                agent,
                permissions,
                days,
            } => {
                let (rec, db) = cx.store.tenant_db_by_slug(&tenant)?;
                let permissions = Permissions::parse(&permissions)?;
                let email = crate::domain::agents::normalize_email(&agent)?;
                let made = db.with(|c| {
                    let tx = c.transaction()?;
                    let agent_id = crate::store::api_tokens::agent_id_by_email(&tx, &email)?;
                    let r = NewToken {
                        name: name.clone(),
                        agent_id,
                        permissions,
                        days,
                    };
                    let made = api_tokens::create(
                        &tx,
                        &rec.uuid,
                        &r,
                        Permissions::all(),
                        "operator",
                        now,
                    )?;
                    crate::admin::operator_audit(
                        &tx,
                        "api_token.create",
                        &format!("api_token#{}", made.id),
                    )?;
                    tx.commit()?;
                    Ok(made)
                })?;
                let until = made.expires_at.map_or("until revoked".to_string(), |t| {
                    format!("until {}", crate::clock::rfc3339(t))
                });
                let lines = vec![
                    format!(
                        "API token #{} \"{name}\" of {tenant}, acting for {email}, {until}:",
                        made.id
                    ),
                    format!("  {}", made.token),
                    "it is shown only now; send it as Authorization: Bearer".into(),
                ];
                Ok(Response::Report {
                    value: serde_json::json!(made),
                    lines,
                    ok: true,
                })
            }
            TokenRequest::List { tenant } => {
                let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
                let tokens = db.with(|c| api_tokens::list(c))?;
                let mut lines = vec![format!("API tokens of {tenant}:")];
                for t in &tokens {
                    let state = match (t.revoked_at, t.expires_at) {
                        (Some(at), _) => format!("revoked {}", crate::clock::rfc3339(at)),
                        (None, Some(e)) if e <= now => {
                            format!("expired {}", crate::clock::rfc3339(e))
                        }
                        _ => "active".into(),
                    };
                    let used = t.last_used_at.map_or("never used".into(), |u| {
                        format!("last used {}", crate::clock::rfc3339(u))
                    });
                    lines.push(format!(
                        "  #{:<4} {:<20} {} [{}]  {state}, {used}",
                        t.id,
                        t.name,
                        t.agent_email,
                        t.permissions.join(",")
                    ));
                }
                if tokens.is_empty() {
                    lines.push("  none".into());
                }
                Ok(Response::Report {
                    value: serde_json::json!({ "tokens": tokens }),
                    lines,
                    ok: true,
                })
            }
            TokenRequest::Revoke { tenant, id } => {
                let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
                let name = db.with(|c| {
                    let tx = c.transaction()?;
                    let name = api_tokens::revoke(&tx, id, "operator", now)?;
                    crate::admin::operator_audit(
                        &tx,
                        "api_token.revoke",
                        &format!("api_token#{id}"),
                    )?;
                    tx.commit()?;
                    Ok(name)
                })?;
                Ok(Response::Report {
                    value: serde_json::json!({ "revoked": id }),
                    lines: vec![format!("API token #{id} \"{name}\" of {tenant} revoked")],
                    ok: true,
                })
            }
        }
    }
}
