//! `kontor retention …`: how long each kind of personal data is kept, and purging.

use crate::admin::{Ctx, Failure, Request, Response, tenant_audit};
use crate::error::{Code, Error, Result};
use crate::store::retention;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `kontor retention …`
#[derive(Debug, Subcommand)]
pub enum RetentionCmd {
    /// Show the periods (days)
    Show {
        /// Tenant slug
        tenant: String,
    },
    /// Change periods (1 to 3650 days each); the ones not given stay
    Set {
        /// Tenant slug
        tenant: String,
        /// Ended chats, their messages and transcripts
        #[arg(long, value_name = "DAYS")]
        chats: Option<u32>,
        /// Files sent in chats
        #[arg(long, value_name = "DAYS")]
        files: Option<u32>,
        /// Offline messages
        #[arg(long, value_name = "DAYS")]
        offline: Option<u32>,
        /// Raw visits and page views (statistics aggregates stay)
        #[arg(long, value_name = "DAYS")]
        page_views: Option<u32>,
        /// Visitor records
        #[arg(long, value_name = "DAYS")]
        visitors: Option<u32>,
        /// The audit trail
        #[arg(long, value_name = "DAYS")]
        audit: Option<u32>,
        /// The read log (who read which chat, visitor, file or export)
        #[arg(long, value_name = "DAYS")]
        reads: Option<u32>,
        /// Agents' presence, the raw data of the work-time statistics (their daily figures stay)
        #[arg(long, value_name = "DAYS")]
        presence: Option<u32>,
    },
    /// Delete what has expired now (the server also does this daily)
    Purge {
        /// Tenant slug
        tenant: String,
    },
}

/// The retention requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum RetentionRequest {
    /// `retention show`
    #[serde(rename = "retention_show")]
    Show {
        /// Tenant slug.
        tenant: String,
    },
    /// `retention set`: the periods given change, the others stay.
    #[serde(rename = "retention_set")]
    Set {
        /// Tenant slug.
        tenant: String,
        /// Changes, by field name (`chats_days` …).
        changes: BTreeMap<String, u32>,
    },
    /// `retention purge`: delete what has expired, now.
    #[serde(rename = "retention_purge")]
    Purge {
        /// Tenant slug.
        tenant: String,
    },
}

impl RetentionCmd {
    /// The request this command sends.
    pub fn request(&self) -> std::result::Result<Request, Failure> {
        Ok(Request::Retention(match self {
            RetentionCmd::Show { tenant } => RetentionRequest::Show {
                tenant: tenant.clone(),
            },
            RetentionCmd::Purge { tenant } => RetentionRequest::Purge {
                tenant: tenant.clone(),
            },
            RetentionCmd::Set {
                tenant,
                chats,
                files,
                offline,
                page_views,
                visitors,
                audit,
                reads,
                presence,
            } => {
                let changes: BTreeMap<String, u32> = [
                    ("chats_days", chats),
                    ("files_days", files),
                    ("offline_days", offline),
                    ("page_views_days", page_views),
                    ("visitors_days", visitors),
                    ("audit_days", audit),
                    ("reads_days", reads),
                    ("presence_days", presence),
                ]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                .collect();
                if changes.is_empty() {
                    return Err(Failure::new(
                        Code::InvalidInput,
                        "give at least one period, e.g. --chats 180 (see kontor retention set --help)",
                    ));
                }
                RetentionRequest::Set {
                    tenant: tenant.clone(),
                    changes,
                }
            }
        }))
    }
}

impl RetentionRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let store = cx.store;
        match self {
            RetentionRequest::Show { tenant } => {
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                let r = db.with(|c| retention::get(c))?;
                Ok(report(&tenant, &r))
            }
            RetentionRequest::Set { tenant, changes } => {
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                let r = db.with(|c| {
                    let mut v = serde_json::to_value(retention::get(c)?).unwrap_or_default();
                    for (k, n) in &changes {
                        v[k.as_str()] = serde_json::json!(n);
                    }
                    let r: retention::Retention = serde_json::from_value(v)
                        .map_err(|e| Error::Invalid(format!("retention: {e}")))?;
                    retention::set(c, r)
                })?;
                let fields: Vec<&str> = changes.keys().map(String::as_str).collect();
                tenant_audit(store, &tenant, "retention.update", &fields.join(","));
                Ok(report(&tenant, &r))
            }
            RetentionRequest::Purge { tenant } => {
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                let p = db.with(|c| retention::purge(c, cx.clock.now()))?;
                let line = if p.is_empty() {
                    format!("{tenant}: nothing has expired")
                } else {
                    format!("{tenant}: deleted {}", p.summary())
                };
                Ok(Response::Report {
                    value: serde_json::to_value(&p).unwrap_or_default(),
                    lines: vec![line],
                    ok: true,
                })
            }
        }
    }
}

/// The periods as a report.
fn report(tenant: &str, r: &retention::Retention) -> Response {
    let v = serde_json::to_value(r).unwrap_or_default();
    let mut lines = vec![format!("retention periods of {tenant} (days):")];
    if let Some(o) = v.as_object() {
        lines.extend(o.iter().map(|(k, n)| format!("  {k:<16} {n}")));
    }
    Response::Report {
        value: v,
        lines,
        ok: true,
    }
}
