//! `kontor gdpr …`: data-subject requests (find, export, rectify, restrict, erase a person's
//! data).

use crate::admin::{
    Ctx, Failure, Request, Response, absolute, confirmed, print_response, run_admin,
};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::privacy::{self, Actor};
use crate::domain::restriction;
use crate::error::{Error, Result};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Who the request is about: exactly one of these.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct SubjectArgs {
    /// The email address they gave
    #[arg(long)]
    email: Option<String>,
    /// The name they gave (exact, any case)
    #[arg(long)]
    name: Option<String>,
    /// A visitor id as the dashboard shows it
    #[arg(long)]
    visitor: Option<String>,
    /// A chat id
    #[arg(long)]
    chat: Option<String>,
}

impl SubjectArgs {
    fn pair(&self) -> (String, String) {
        let pick = [
            ("email", &self.email),
            ("name", &self.name),
            ("visitor", &self.visitor),
            ("chat", &self.chat),
        ];
        pick.into_iter()
            .find_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
            .unwrap_or_default()
    }
}

/// `kontor gdpr …`
#[derive(Debug, Subcommand)]
pub enum GdprCmd {
    /// What is stored about the person (counts and lists; audited)
    Find {
        /// Tenant slug
        tenant: String,
        #[command(flatten)]
        subject: SubjectArgs,
    },
    /// Everything about the person: JSON on standard output, or with --out an archive
    /// (subject.json, HTML transcripts, files). It holds chat content: run it only on the
    /// business's instruction (it is the controller); recorded in the tenant's audit trail as
    /// gdpr.export
    Export {
        /// Tenant slug
        tenant: String,
        #[command(flatten)]
        subject: SubjectArgs,
        /// Write the archive (.tar) here instead
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Correct the person's name and/or email everywhere (Art. 16)
    Rectify {
        /// Tenant slug
        tenant: String,
        #[command(flatten)]
        subject: SubjectArgs,
        /// The correct name
        #[arg(long)]
        new_name: Option<String>,
        /// The correct email
        #[arg(long)]
        new_email: Option<String>,
    },
    /// Restrict processing of the person's data (Art. 18): it stays, hidden from agents
    /// without the data-subject-requests permission and kept from the retention purge
    Restrict {
        /// Tenant slug
        tenant: String,
        #[command(flatten)]
        subject: SubjectArgs,
        /// Why (e.g. "accuracy contested, 2026-12-05 letter"); kept with the restriction
        #[arg(long)]
        reason: String,
    },
    /// Lift the restrictions of processing that cover the person
    Unrestrict {
        /// Tenant slug
        tenant: String,
        #[command(flatten)]
        subject: SubjectArgs,
    },
    /// List the tenant's restrictions of processing, active and lifted
    Restrictions {
        /// Tenant slug
        tenant: String,
    },
    /// Delete everything about the person and print the deletion protocol (Art. 17)
    Erase {
        /// Tenant slug
        tenant: String,
        #[command(flatten)]
        subject: SubjectArgs,
        /// Really delete (see `kontor gdpr find` first)
        #[arg(long)]
        yes: bool,
    },
}

/// The data-subject request on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum GdprRequest {
    /// `gdpr find|export|rectify|erase`
    Gdpr {
        /// Tenant slug.
        tenant: String,
        /// find, export, archive (export as files), rectify or erase.
        action: String,
        /// email, name, visitor or chat.
        by: String,
        /// The email, name or id.
        value: String,
        /// rectify: the new name.
        #[serde(default)]
        new_name: Option<String>,
        /// rectify: the new email.
        #[serde(default)]
        new_email: Option<String>,
        /// archive: where the server writes it (absolute).
        #[serde(default)]
        out: Option<PathBuf>,
        /// restrict: why.
        #[serde(default)]
        reason: Option<String>,
    },
}

impl GdprCmd {
    /// The request this command sends.
    pub fn request(&self) -> std::result::Result<Request, Failure> {
        let (tenant, subject, action, new_name, new_email) = match self {
            GdprCmd::Restrictions { tenant } => {
                return Ok(Request::Gdpr(GdprRequest::Gdpr {
                    tenant: tenant.clone(),
                    action: "restrictions".into(),
                    by: String::new(),
                    value: String::new(),
                    new_name: None,
                    new_email: None,
                    out: None,
                    reason: None,
                }));
            }
            GdprCmd::Restrict {
                tenant, subject, ..
            } => (tenant, subject, "restrict", None, None),
            GdprCmd::Unrestrict { tenant, subject } => (tenant, subject, "unrestrict", None, None),
            GdprCmd::Find { tenant, subject } => (tenant, subject, "find", None, None),
            GdprCmd::Export {
                tenant,
                subject,
                out,
            } => (
                tenant,
                subject,
                if out.is_some() { "archive" } else { "export" },
                None,
                None,
            ),
            GdprCmd::Rectify {
                tenant,
                subject,
                new_name,
                new_email,
            } => (
                tenant,
                subject,
                "rectify",
                new_name.clone(),
                new_email.clone(),
            ),
            GdprCmd::Erase {
                tenant,
                subject,
                yes,
            } => {
                confirmed(
                    *yes,
                    "erase",
                    "everything found would be deleted for good; \
                     run `kontor gdpr find` with the same arguments to see what",
                )?;
                (tenant, subject, "erase", None, None)
            }
        };
        let (by, value) = subject.pair();
        Ok(Request::Gdpr(GdprRequest::Gdpr {
            tenant: tenant.clone(),
            action: action.into(),
            by,
            value,
            new_name,
            new_email,
            out: match self {
                GdprCmd::Export { out: Some(out), .. } => Some(absolute(out)),
                _ => None,
            },
            reason: match self {
                GdprCmd::Restrict { reason, .. } => Some(reason.clone()),
                _ => None,
            },
        }))
    }

    /// Runs it and prints the result; `gdpr export` without `--out` prints the document
    /// itself, pretty.
    pub fn run(
        &self,
        config: &Config,
        clock: &Clock,
        json: bool,
    ) -> std::result::Result<(), Failure> {
        let res = run_admin(config, clock, self.request()?)?;
        match (&res, self) {
            (Response::Report { value, .. }, GdprCmd::Export { out: None, .. }) => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(value).unwrap_or_default()
                );
            }
            _ => print_response(&res, json),
        }
        Ok(())
    }
}

impl GdprRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let GdprRequest::Gdpr {
            tenant,
            action,
            by,
            value,
            new_name,
            new_email,
            out,
            reason,
        } = self;
        let store = cx.store;
        let (_, db) = store.tenant_db_by_slug(&tenant)?;
        let op = Actor::OPERATOR;
        let report = |value: serde_json::Value, lines: Vec<String>| Response::Report {
            value,
            lines,
            ok: true,
        };
        if action == "restrictions" {
            let list = restriction::list(&db)?;
            let mut lines = vec![format!("restrictions of processing in {tenant}:")];
            lines.extend(list.iter().map(restriction_line));
            if list.is_empty() {
                lines.push("  none".into());
            }
            return Ok(report(serde_json::json!({ "restrictions": list }), lines));
        }
        let by = crate::store::gdpr::By::parse(&by, &value)?;
        match action.as_str() {
            "restrict" => {
                let why = reason.unwrap_or_default();
                let r = restriction::restrict(&db, &by, &why, &op, cx.clock.now())?;
                let line = restriction_line(&r);
                Ok(report(
                    serde_json::to_value(&r).unwrap_or_default(),
                    vec![line],
                ))
            }
            "unrestrict" => {
                let lifted = restriction::unrestrict(&db, &by, &op, cx.clock.now())?;
                let lines = lifted.iter().map(restriction_line).collect();
                Ok(report(serde_json::json!({ "lifted": lifted }), lines))
            }
            "find" => {
                let found = privacy::find(&db, &by, &op)?;
                let mut lines = vec![format!("stored about this person in {tenant}:")];
                lines.extend(count_lines(&found["counts"]));
                Ok(report(found, lines))
            }
            "export" => {
                let (doc, _) = privacy::export(&db, &by, &op)?;
                Ok(report(doc.clone(), vec![doc.to_string()]))
            }
            "archive" => {
                let out = out.ok_or_else(|| Error::Invalid("give --out FILE".into()))?;
                let (_, files) = privacy::export(&db, &by, &op)?;
                let mut tar = Vec::new();
                crate::store::gdpr::write_tar(&files, &mut tar, cx.clock.now())?;
                crate::store::tenant_export::write_private(&out, &tar)?;
                Ok(report(
                    serde_json::json!({ "file": out, "files": files.len(), "bytes": tar.len() }),
                    vec![format!(
                        "export written: {} ({} files, {} bytes)",
                        out.display(),
                        files.len(),
                        tar.len()
                    )],
                ))
            }
            "rectify" => {
                let u = privacy::rectify(&db, &by, new_name.as_deref(), new_email.as_deref(), &op)?;
                let line = format!(
                    "updated {} chats, {} offline messages and {} pre-chat form values",
                    u.conversations, u.offline_messages, u.form_fields
                );
                Ok(report(
                    serde_json::to_value(&u).unwrap_or_default(),
                    vec![line],
                ))
            }
            "erase" => {
                let p = privacy::erase(store, &db, &by, &op, &|s| cx.forget(&db.uuid, s))?;
                let value = serde_json::to_value(&p).unwrap_or_default();
                let mut lines = vec![
                    format!("deletion protocol #{} of {tenant}", p.id),
                    format!("time: {}", crate::clock::rfc3339(p.at)),
                    format!("by:   {}", p.by),
                    "deleted:".to_string(),
                ];
                lines.extend(count_lines(&value["deleted"]));
                lines.push(
                    "recorded in the erasure ledger; a restore of an older backup erases it again"
                        .into(),
                );
                Ok(report(value, lines))
            }
            other => Err(Error::Invalid(format!("unknown gdpr action {other:?}"))),
        }
    }
}

/// `  conversations     2` lines of a counts object.
fn count_lines(counts: &serde_json::Value) -> Vec<String> {
    counts
        .as_object()
        .map(|o| o.iter().map(|(k, n)| format!("  {k:<17} {n}")).collect())
        .unwrap_or_default()
}

/// One restriction on a line: number, pseudonym, what it covers, state.
fn restriction_line(r: &crate::store::restrictions::Restriction) -> String {
    let state = match r.lifted_at {
        Some(at) => format!(
            "lifted {} by {}",
            crate::clock::rfc3339(at),
            r.lifted_by.as_deref().unwrap_or("")
        ),
        None => format!(
            "active: {} chats, {} offline messages, {} visitor records",
            r.covered.conversations, r.covered.offline_messages, r.covered.visitors
        ),
    };
    format!(
        "  #{:<4} {}  since {} by {}  {state}",
        r.id,
        r.subject,
        crate::clock::rfc3339(r.created_at),
        r.created_by
    )
}
