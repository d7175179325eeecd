//! `kontor privacy report`: the record of technical and organisational measures of a tenant
//! as configured on this server (see `domain::privacy_report`), as Markdown or HTML.

use crate::admin::{Ctx, Request, Response, absolute};
use crate::config::Config;
use crate::domain::privacy_report::{self, ServerFacts};
use crate::error::{Error, Result};
use crate::i18n::Lang;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `kontor privacy …`
#[derive(Debug, Subcommand)]
pub enum PrivacyCmd {
    /// The technical and organisational measures as configured here, for the business's
    /// records of processing (Art. 30): Markdown on standard output, or HTML with --html
    Report {
        /// Tenant slug
        tenant: String,
        /// de or en
        #[arg(long, default_value = "en")]
        lang: String,
        /// A self-contained HTML page instead of Markdown
        #[arg(long)]
        html: bool,
        /// Write it to this file instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The privacy requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum PrivacyRequest {
    /// `privacy report`
    #[serde(rename = "privacy_report")]
    Report {
        /// Tenant slug.
        tenant: String,
        /// `de` or `en`.
        lang: String,
        /// HTML rather than Markdown.
        html: bool,
        /// Where the server writes it (absolute), if not answered.
        out: Option<PathBuf>,
        /// What the configuration says (the command line reads it).
        facts: ServerFacts,
    },
}

impl PrivacyCmd {
    /// The request this command sends.
    pub fn request(&self, config: &Config) -> Request {
        let PrivacyCmd::Report {
            tenant,
            lang,
            html,
            out,
        } = self;
        Request::Privacy(PrivacyRequest::Report {
            tenant: tenant.clone(),
            lang: lang.clone(),
            html: *html,
            out: out.as_deref().map(absolute),
            facts: ServerFacts::of(config),
        })
    }
}

impl PrivacyRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let PrivacyRequest::Report {
            tenant,
            lang,
            html,
            out,
            facts,
        } = self;
        let lang = match lang.as_str() {
            "de" => Lang::De,
            "en" => Lang::En,
            other => return Err(Error::Invalid(format!("--lang: de or en, not {other:?}"))),
        };
        let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
        let report = privacy_report::build(cx.store, &db, &facts, lang, cx.clock.now())?;
        let text = match html {
            true => privacy_report::html(&report, lang),
            false => privacy_report::markdown(&report),
        };
        let lines = match &out {
            Some(path) => {
                std::fs::write(path, &text)
                    .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
                vec![format!("written: {}", path.display())]
            }
            None => text.lines().map(String::from).collect(),
        };
        Ok(Response::Report {
            value: serde_json::json!({ "file": out, "text": if out.is_some() { String::new() } else { text } }),
            lines,
            ok: true,
        })
    }
}
