//! The record of technical and organisational measures as configured on this server, for a
//! business to attach to its records of processing (GDPR Art. 30): what is stored and for how
//! long, the sites and their tracking modes, encryption, backups, who has which role, support
//! access, data-subject requests and logging; no subprocessors. Built from the tenant's own
//! settings (never from its chats), as Markdown or as a self-contained HTML page, in German or
//! English.

use crate::error::Result;
use crate::i18n::{self, Lang};
use crate::store::{
    Store, TenantDb, audit, restrictions, retention, roles, support, system, tenant,
};

/// What the server's configuration says (the caller knows it; the tenant's files do not).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ServerFacts {
    /// Whether scheduled backups run.
    pub backups_enabled: bool,
    /// Where the archives go.
    pub backup_dir: String,
    /// `HH:MM` UTC and the weekday of the weekly one.
    pub backup_schedule: (String, String),
    /// Daily and weekly archives kept.
    pub backup_keep: (usize, usize),
    /// The newest archive there (Unix seconds), if any.
    pub last_backup: Option<i64>,
    /// Whether mail goes out through the business's SMTP server.
    pub smtp: bool,
    /// Whether kontor serves HTTPS itself (else: behind a TLS proxy, or plain).
    pub tls: bool,
    /// The off-site places every archive is copied to (`[[offsite]]`), in configured order.
    #[serde(default)]
    pub offsite: Vec<OffsiteFact>,
}

/// One off-site place and how its copies went, as `/healthz` and `doctor` read them.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct OffsiteFact {
    /// Its name in the configuration.
    pub name: String,
    /// `s3` or `sftp`.
    pub kind: String,
    /// When the last copy was made and read back (Unix seconds), if ever.
    pub last_good: Option<i64>,
    /// Failed attempts in a row since.
    pub failures: u32,
}

impl ServerFacts {
    /// What `config` says, and the newest scheduled archive in its backup directory.
    pub fn of(config: &crate::config::Config) -> ServerFacts {
        let dir = config.backup_dir();
        let last_backup = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("kontor-"))
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
            .max();
        let b = &config.backup;
        let status = crate::store::backup::offsite::status::load(&config.data_dir);
        let offsite = config
            .offsite
            .iter()
            .map(|r| {
                let s = status.get(&r.name).cloned().unwrap_or_default();
                OffsiteFact {
                    name: r.name.clone(),
                    kind: match r.target {
                        crate::config::Target::S3(_) => "s3",
                        crate::config::Target::Sftp(_) => "sftp",
                    }
                    .into(),
                    last_good: s.last_good_at,
                    failures: s.failures,
                }
            })
            .collect();
        ServerFacts {
            backups_enabled: b.enabled,
            backup_dir: dir.display().to_string(),
            backup_schedule: (b.daily_at.clone(), b.weekly_on.clone()),
            backup_keep: (b.keep_daily, b.keep_weekly),
            last_backup,
            smtp: config.smtp.is_some(),
            tls: config.tls.is_some(),
            offsite,
        }
    }
}

/// One table: its header and rows of cells.
pub struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// One section: a heading, paragraphs, tables.
pub struct Section {
    title: String,
    text: Vec<String>,
    tables: Vec<Table>,
}

/// The whole record.
pub struct Report {
    title: String,
    sections: Vec<Section>,
}

fn section(lang: Lang, key: &str) -> Section {
    Section {
        title: i18n::t(lang, &format!("report.{key}.title")).to_string(),
        text: Vec::new(),
        tables: Vec::new(),
    }
}

fn say(lang: Lang, key: &str, vars: &[(&str, String)]) -> String {
    let mut s = i18n::t(lang, key).to_string();
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

fn head(lang: Lang, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| i18n::t(lang, &format!("report.col.{k}")).to_string())
        .collect()
}

/// Builds the record of one tenant at `now`.
pub fn build(
    store: &Store,
    db: &TenantDb,
    facts: &ServerFacts,
    lang: Lang,
    now: i64,
) -> Result<Report> {
    let rec = store
        .system(|c| system::tenant_by_uuid(c, &db.uuid))?
        .ok_or_else(|| crate::error::Error::NotFound("tenant".into()))?;
    let sites = store.system(|c| system::list_sites(c, &db.uuid))?;
    let (periods, agents, all_roles, grants, limits, chain) = db.read(|c| {
        Ok((
            retention::get(c)?,
            tenant::list_agents(c)?,
            roles::list(c)?,
            support::list(c)?,
            restrictions::all(c, None)?,
            audit::verify(c)?,
        ))
    })?;
    let erasures = store
        .system(|c| crate::store::gdpr::ledger(c, &db.uuid))?
        .len();
    let restricted = limits.iter().filter(|r| r.lifted_at.is_none()).count();
    Ok(Report {
        title: say(
            lang,
            "report.title",
            &[
                ("name", rec.name.clone()),
                ("date", crate::clock::rfc3339(now)),
            ],
        ),
        sections: vec![
            controller(lang, &rec),
            stored(lang, &periods),
            websites(lang, &sites),
            security(lang, facts),
            backups(lang, facts),
            access(lang, &agents, &all_roles),
            support_access(lang, &grants, now),
            requests(lang, erasures, restricted),
            logging(lang, &chain, periods.reads_days),
        ],
    })
}

fn controller(lang: Lang, rec: &system::TenantRecord) -> Section {
    let mut s = section(lang, "controller");
    let vars = [("name", rec.name.clone()), ("slug", rec.slug.clone())];
    s.text.push(say(lang, "report.controller.text", &vars));
    s.text
        .push(i18n::t(lang, "report.controller.subprocessors").to_string());
    s
}

fn stored(lang: Lang, periods: &retention::Retention) -> Section {
    let mut s = section(lang, "stored");
    let kept = [
        ("chats", periods.chats_days),
        ("files", periods.files_days),
        ("offline", periods.offline_days),
        ("visits", periods.page_views_days),
        ("visitors", periods.visitors_days),
        ("audit", periods.audit_days),
        ("reads", periods.reads_days),
        ("presence", periods.presence_days),
    ];
    s.tables.push(Table {
        head: head(lang, &["data", "purpose", "kept"]),
        rows: kept
            .iter()
            .map(|(k, d)| {
                vec![
                    i18n::t(lang, &format!("report.stored.{k}")).to_string(),
                    i18n::t(lang, &format!("report.purpose.{k}")).to_string(),
                    say(lang, "report.days", &[("n", d.to_string())]),
                ]
            })
            .collect(),
    });
    s.text
        .push(i18n::t(lang, "report.stored.consent").to_string());
    s
}

fn websites(lang: Lang, sites: &[system::SiteRecord]) -> Section {
    let mut s = section(lang, "sites");
    s.tables.push(Table {
        head: head(lang, &["site", "origins", "tracking"]),
        rows: sites
            .iter()
            .map(|site| {
                let mode = format!("report.tracking.{}", site.tracking.mode);
                vec![
                    site.site_key.clone(),
                    site.origins.join(", "),
                    i18n::t(lang, &mode).to_string(),
                ]
            })
            .collect(),
    });
    s
}

fn security(lang: Lang, facts: &ServerFacts) -> Section {
    let mut s = section(lang, "security");
    s.text
        .push(i18n::t(lang, "report.security.rest").to_string());
    let transport = match facts.tls {
        true => "report.security.tls",
        false => "report.security.proxy",
    };
    s.text.push(i18n::t(lang, transport).to_string());
    if facts.smtp {
        s.text
            .push(i18n::t(lang, "report.security.smtp").to_string());
    }
    s
}

fn backups(lang: Lang, facts: &ServerFacts) -> Section {
    let mut s = section(lang, "backups");
    s.text.push(match facts.backups_enabled {
        true => say(
            lang,
            "report.backups.schedule",
            &[
                ("time", facts.backup_schedule.0.clone()),
                ("day", facts.backup_schedule.1.clone()),
                ("daily", facts.backup_keep.0.to_string()),
                ("weekly", facts.backup_keep.1.to_string()),
                ("dir", facts.backup_dir.clone()),
            ],
        ),
        false => i18n::t(lang, "report.backups.off").to_string(),
    });
    s.text.push(match facts.last_backup {
        Some(t) => say(
            lang,
            "report.backups.last",
            &[("time", crate::clock::rfc3339(t))],
        ),
        None => i18n::t(lang, "report.backups.none").to_string(),
    });
    if facts.offsite.is_empty() {
        s.text
            .push(i18n::t(lang, "report.backups.no_offsite").to_string());
        return s;
    }
    s.text
        .push(i18n::t(lang, "report.backups.offsite").to_string());
    s.tables.push(Table {
        head: head(lang, &["remote", "kind", "last_copy", "failures"]),
        rows: facts
            .offsite
            .iter()
            .map(|r| {
                let last = match r.last_good {
                    Some(t) => crate::clock::rfc3339(t),
                    None => i18n::t(lang, "report.backups.never").to_string(),
                };
                let kind = match r.kind.as_str() {
                    "s3" => "S3",
                    _ => "SFTP",
                };
                vec![r.name.clone(), kind.into(), last, r.failures.to_string()]
            })
            .collect(),
    });
    s
}

fn access(lang: Lang, agents: &[tenant::AgentRecord], all_roles: &[roles::Role]) -> Section {
    let mut s = section(lang, "access");
    let word = |k: &str| i18n::t(lang, k).to_string();
    s.tables.push(Table {
        head: head(lang, &["agent", "role", "state"]),
        rows: agents
            .iter()
            .map(|a| {
                let state = match a.disabled {
                    true => "report.state.disabled",
                    false => "report.state.active",
                };
                vec![a.display_name.clone(), a.role.clone(), word(state)]
            })
            .collect(),
    });
    s.tables.push(Table {
        head: head(lang, &["role", "permissions", "two_factor"]),
        rows: all_roles
            .iter()
            .map(|r| {
                let tf = if r.two_factor {
                    "report.yes"
                } else {
                    "report.no"
                };
                vec![r.name.clone(), r.permissions.names().join(", "), word(tf)]
            })
            .collect(),
    });
    s
}

fn support_access(lang: Lang, grants: &[support::Grant], now: i64) -> Section {
    let mut s = section(lang, "support");
    s.text
        .push(i18n::t(lang, "report.support.text").to_string());
    if grants.is_empty() {
        s.text
            .push(i18n::t(lang, "report.support.never").to_string());
        return s;
    }
    s.tables.push(Table {
        head: head(lang, &["granted", "until", "state"]),
        rows: grants
            .iter()
            .map(|g| {
                let state = match (g.active(now), g.revoked_at) {
                    (true, _) => "report.state.active",
                    (false, Some(_)) => "report.state.revoked",
                    (false, None) => "report.state.ended",
                };
                vec![
                    format!("{} ({})", crate::clock::rfc3339(g.created_at), g.created_by),
                    crate::clock::rfc3339(g.expires_at),
                    i18n::t(lang, state).to_string(),
                ]
            })
            .collect(),
    });
    s
}

fn requests(lang: Lang, erasures: usize, restricted: usize) -> Section {
    let mut s = section(lang, "requests");
    let vars = [
        ("erasures", erasures.to_string()),
        ("restrictions", restricted.to_string()),
    ];
    s.text.push(say(lang, "report.requests.text", &vars));
    s
}

fn logging(lang: Lang, chain: &audit::Verification, reads_days: u32) -> Section {
    let mut s = section(lang, "logging");
    let key = match chain.intact {
        true => "report.logging.intact",
        false => "report.logging.broken",
    };
    s.text
        .push(say(lang, key, &[("n", chain.entries.to_string())]));
    s.text.push(say(
        lang,
        "report.logging.reads",
        &[("n", reads_days.to_string())],
    ));
    s
}

/// The record as Markdown: names the business typed are text, never markup (`<`, `>`, `&`
/// as entities, `|` escaped, line breaks as spaces).
pub fn markdown(r: &Report) -> String {
    let cell = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('|', "\\|")
            .replace(['\n', '\r'], " ")
    };
    let mut out = format!("# {}\n", cell(&r.title));
    for s in &r.sections {
        out.push_str(&format!("\n## {}\n", cell(&s.title)));
        for p in &s.text {
            out.push_str(&format!("\n{}\n", cell(p)));
        }
        for t in &s.tables {
            out.push_str(&format!(
                "\n| {} |\n",
                t.head
                    .iter()
                    .map(|h| cell(h))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
            out.push_str(&format!("|{}\n", "---|".repeat(t.head.len())));
            for row in &t.rows {
                out.push_str(&format!(
                    "| {} |\n",
                    row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
                ));
            }
        }
    }
    out
}

/// The record as one self-contained HTML page (every value escaped, no script, no remote
/// resource), in `lang`.
pub fn html(r: &Report, lang: Lang) -> String {
    use crate::i18n::escape_html as e;
    let mut body = format!("<h1>{}</h1>\n", e(&r.title));
    for s in &r.sections {
        body.push_str(&format!("<h2>{}</h2>\n", e(&s.title)));
        for p in &s.text {
            body.push_str(&format!("<p>{}</p>\n", e(p)));
        }
        for t in &s.tables {
            body.push_str("<table>\n<thead><tr>");
            for h in &t.head {
                body.push_str(&format!("<th scope=\"col\">{}</th>", e(h)));
            }
            body.push_str("</tr></thead>\n<tbody>\n");
            for row in &t.rows {
                body.push_str("<tr>");
                for c in row {
                    body.push_str(&format!("<td>{}</td>", e(c)));
                }
                body.push_str("</tr>\n");
            }
            body.push_str("</tbody>\n</table>\n");
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}\
         table{{border-collapse:collapse;margin:1rem 0;width:100%}}th,td{{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}}</style>\n\
         </head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        lang.code(),
        e(&r.title)
    )
}
