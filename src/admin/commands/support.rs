//! `kontor support …`: the operator's side of support access. A business's admin grants it in
//! the dashboard (Settings › Team › Support access); while a grant holds, `support link` gives
//! the set-up link of the read-only support login (audited in the tenant's trail). The
//! operator cannot grant access to themselves.

use crate::admin::{Ctx, Request, Response};
use crate::domain::support;
use crate::error::Result;
use crate::store::support::Grant;
use clap::Subcommand;
use serde::{Deserialize, Serialize};

/// `kontor support …`
#[derive(Debug, Subcommand)]
pub enum SupportCmd {
    /// The set-up link of the support login (a new password; works once, for 72 hours),
    /// while the business grants support access
    Link {
        /// Tenant slug
        tenant: String,
    },
    /// The business's support grants, newest first
    Grants {
        /// Tenant slug
        tenant: String,
    },
}

/// The support requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum SupportRequest {
    /// `support link`
    #[serde(rename = "support_link")]
    Link {
        /// Tenant slug.
        tenant: String,
    },
    /// `support grants`
    #[serde(rename = "support_grants")]
    Grants {
        /// Tenant slug.
        tenant: String,
    },
}

impl SupportCmd {
    /// The request this command sends.
    pub fn request(&self) -> Request {
        Request::Support(match self {
            SupportCmd::Link { tenant } => SupportRequest::Link {
                tenant: tenant.clone(),
            },
            SupportCmd::Grants { tenant } => SupportRequest::Grants {
                tenant: tenant.clone(),
            },
        })
    }
}

impl SupportRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let now = cx.clock.now();
        match self {
            SupportRequest::Link { tenant } => {
                let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
                let (path, g) = support::link(&db, now)?;
                let url = format!("{}{path}", cx.base_url);
                let lines = vec![
                    format!(
                        "support login of {tenant}: {}",
                        crate::store::support::EMAIL
                    ),
                    format!("set its password here (once, within 72 hours): {url}"),
                    format!(
                        "access granted until {} (grant #{})",
                        crate::clock::rfc3339(g.expires_at),
                        g.id
                    ),
                ];
                Ok(Response::Report {
                    value: serde_json::json!({
                        "email": crate::store::support::EMAIL,
                        "url": url,
                        "grant": g,
                    }),
                    lines,
                    ok: true,
                })
            }
            SupportRequest::Grants { tenant } => {
                let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
                let grants = support::list(&db)?;
                let mut lines = vec![format!("support grants of {tenant}:")];
                lines.extend(grants.iter().map(|g| grant_line(g, now)));
                if grants.is_empty() {
                    lines.push("  none: the business has not granted support access".into());
                }
                Ok(Response::Report {
                    value: serde_json::json!({ "grants": grants }),
                    lines,
                    ok: true,
                })
            }
        }
    }
}

fn grant_line(g: &Grant, now: i64) -> String {
    let state = match (g.active(now), g.revoked_at) {
        (true, _) => format!("active until {}", crate::clock::rfc3339(g.expires_at)),
        (false, Some(at)) => format!("revoked {}", crate::clock::rfc3339(at)),
        (false, None) => format!("ended {}", crate::clock::rfc3339(g.expires_at)),
    };
    format!("  #{:<4} by {}  {state}  {}", g.id, g.created_by, g.note)
}
