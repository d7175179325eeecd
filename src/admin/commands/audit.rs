//! `kontor audit …`: the tenant's tamper-evident audit trail.

use crate::admin::{Ctx, Request, Response};
use crate::error::Result;
use crate::store::audit;
use clap::Subcommand;
use serde::{Deserialize, Serialize};

/// `kontor audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Recompute the hash chain; exits non-zero if any entry was changed, inserted or removed
    Verify {
        /// Tenant slug
        tenant: String,
        /// A head printed by an earlier verify: fails unless it is still in the chain
        #[arg(long, value_name = "HEX")]
        head: Option<String>,
    },
    /// The newest entries
    List {
        /// Tenant slug
        tenant: String,
        /// How many (at most 500)
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only actions starting with this, e.g. login
        #[arg(long)]
        action: Option<String>,
    },
}

/// The audit requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum AuditRequest {
    /// `audit verify`
    #[serde(rename = "audit_verify")]
    Verify {
        /// Tenant slug.
        tenant: String,
        /// A head kept from an earlier verify, which must still be in the chain.
        #[serde(default)]
        head: Option<String>,
    },
    /// `audit list`
    #[serde(rename = "audit_list")]
    List {
        /// Tenant slug.
        tenant: String,
        /// At most this many, newest first.
        #[serde(default)]
        limit: Option<u32>,
        /// Only actions starting with this.
        #[serde(default)]
        action: Option<String>,
    },
}

impl AuditCmd {
    /// The request this command sends.
    pub fn request(&self) -> Request {
        Request::Audit(match self {
            AuditCmd::Verify { tenant, head } => AuditRequest::Verify {
                tenant: tenant.clone(),
                head: head.clone(),
            },
            AuditCmd::List {
                tenant,
                limit,
                action,
            } => AuditRequest::List {
                tenant: tenant.clone(),
                limit: Some(*limit),
                action: action.clone(),
            },
        })
    }
}

impl AuditRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        match self {
            AuditRequest::Verify { tenant, head } => verify(cx, &tenant, head.as_deref()),
            AuditRequest::List {
                tenant,
                limit,
                action,
            } => {
                let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
                let filter = audit::Filter {
                    limit: Some(limit.unwrap_or(50)),
                    action,
                    ..Default::default()
                };
                let rows = db.with(|c| audit::list(c, &filter))?;
                let lines = rows
                    .iter()
                    .map(|r| {
                        let e = &r.entry;
                        format!(
                            "{} {} {} {} {} {} {}",
                            crate::clock::rfc3339(e.at),
                            e.actor,
                            if e.role.is_empty() { "-" } else { &e.role },
                            e.action,
                            if e.object.is_empty() { "-" } else { &e.object },
                            e.result,
                            if e.ip.is_empty() { "-" } else { &e.ip },
                        )
                    })
                    .collect();
                Ok(Response::Report {
                    ok: true,
                    value: serde_json::to_value(&rows).unwrap_or_default(),
                    lines,
                })
            }
        }
    }
}

/// `audit verify`: the chain, and whether a kept head is still in it.
fn verify(cx: &mut Ctx<'_>, tenant: &str, head: Option<&str>) -> Result<Response> {
    let (_, db) = cx.store.tenant_db_by_slug(tenant)?;
    let (v, kept) = db.with(|c| {
        let v = audit::verify(c)?;
        let kept = head.map(|h| audit::contains(c, h.trim())).transpose()?;
        Ok((v, kept))
    })?;
    let mut lines = vec![match &v.problem {
        None => format!("audit trail of {tenant}: intact, {} entries", v.entries),
        Some(p) => format!("audit trail of {tenant}: BROKEN: {p}"),
    }];
    lines.push(format!(
        "head: {} (keep it; later, --head checks it is still in the chain)",
        v.head
    ));
    let mut value = serde_json::to_value(&v).unwrap_or_default();
    let mut ok = v.intact;
    match kept {
        None => {}
        Some(Some(id)) => {
            lines.push(format!(
                "the kept head is entry {id}: the trail was not rewritten since"
            ));
            value["kept_head_entry"] = serde_json::json!(id);
        }
        Some(None) => {
            ok = false;
            lines.push(
                "the kept head is NOT in the chain: the trail was rewritten, or retention removed that entry since"
                    .into(),
            );
            value["kept_head_entry"] = serde_json::Value::Null;
        }
    }
    Ok(Response::Report { ok, value, lines })
}
