//! `kontor tenant …`: create, list, show, delete, export, import, clone and rekey tenants, and
//! move them to another host (`move-out`, `move-cancel`; `docs/scale-out.md`).

use crate::admin::{
    Ctx, Failure, Request, Response, absolute, confirmed, read_secret, tenant_audit,
};
use crate::domain::email;
use crate::error::Result;
use crate::model::tenants::{self, TenantInfo};
use crate::store::system as sstore;
use crate::store::tenant as tstore;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::PathBuf;

use super::site::SiteInfo;

/// `kontor tenant …`
#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant with its own encrypted database
    Create {
        /// Short name: a-z, 0-9 and '-'
        slug: String,
        /// Display name [default: the slug]
        #[arg(long)]
        name: Option<String>,
    },
    /// List tenants
    List,
    /// Show one tenant
    Show {
        /// Tenant slug
        slug: String,
    },
    /// Delete a tenant for good: its key is destroyed first, then its database file; prints
    /// and keeps a deletion certificate
    Delete {
        /// Tenant slug
        slug: String,
        /// Confirm that the tenant's data is to be destroyed irrecoverably
        #[arg(long)]
        yes: bool,
    },
    /// Write everything of a tenant to one file (contract end, moving servers); encrypted
    /// under a passphrase read from standard input unless --plain. It holds chat content: run
    /// it only on the business's instruction (it is the controller); recorded in the
    /// tenant's audit trail as tenant.export
    Export {
        /// Tenant slug
        slug: String,
        /// The file to write
        #[arg(long)]
        out: PathBuf,
        /// Write it unencrypted (the data then needs protecting by other means)
        #[arg(long)]
        plain: bool,
    },
    /// Create a tenant from an export file (its passphrase on standard input if encrypted);
    /// on a running server the tenant is served at once (the target's side of a move)
    Import {
        /// The export file
        file: PathBuf,
    },
    /// Move a tenant to another host, this host's side: drain it (its sockets close, its
    /// requests get 503 until the proxy routes them to the new host), then write its final
    /// export, with its agents' sign-ins, encrypted under a passphrase read from standard
    /// input (the secret the two hosts share). Next: `kontor tenant import FILE` on the new
    /// host, flip the route, `kontor tenant delete SLUG --yes` here (docs/scale-out.md)
    MoveOut {
        /// Tenant slug
        slug: String,
        /// The file to write
        #[arg(long)]
        out: PathBuf,
    },
    /// Abort a move before the route flips: the drained tenant is served here again
    MoveCancel {
        /// Tenant slug
        slug: String,
    },
    /// Make a new tenant for a test system from an existing one, anonymised: the same tables
    /// and row counts, every name, address, message, file and free text replaced by consistent
    /// fakes; new keys; agents need a reset link (`agent reset-link`); the source is only read
    Clone {
        /// The tenant to copy
        source: String,
        /// Slug of the new, anonymised tenant (required: kontor makes no plain copies)
        #[arg(long, value_name = "NEW", required = true)]
        anonymize: String,
        /// Display name [default: the source's, marked as a test copy]
        #[arg(long)]
        name: Option<String>,
    },
    /// Put the tenant's database under a new key and destroy the old one
    Rekey {
        /// Tenant slug
        slug: String,
    },
    /// Show or set where the tenant's mails go: offline messages (--inbox) and missed-chat
    /// notices (--alerts, the inbox when empty), and their language
    Mail {
        /// Tenant slug
        slug: String,
        /// Addresses for offline messages, comma-separated ("" for none)
        #[arg(long)]
        inbox: Option<String>,
        /// Addresses for missed-chat notices, comma-separated ("" for the inbox's)
        #[arg(long)]
        alerts: Option<String>,
        /// Language of these mails: de or en
        #[arg(long)]
        lang: Option<String>,
    },
}

/// The tenant requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum TenantRequest {
    /// `tenant create`
    #[serde(rename = "tenant_create")]
    Create {
        /// Slug.
        slug: String,
        /// Display name (defaults to the slug).
        name: Option<String>,
    },
    /// `tenant list`
    #[serde(rename = "tenant_list")]
    List,
    /// `tenant show`
    #[serde(rename = "tenant_show")]
    Show {
        /// Slug.
        slug: String,
    },
    /// `tenant delete`
    #[serde(rename = "tenant_delete")]
    Delete {
        /// Slug.
        slug: String,
    },
    /// `tenant clone --anonymize`
    #[serde(rename = "tenant_clone")]
    Clone {
        /// The source's slug.
        source: String,
        /// The new tenant's slug.
        slug: String,
        /// Its display name.
        name: Option<String>,
    },
    /// `tenant rekey`
    #[serde(rename = "tenant_rekey")]
    Rekey {
        /// Slug.
        slug: String,
    },
    /// `tenant mail`
    #[serde(rename = "tenant_mail")]
    Mail {
        /// Slug.
        slug: String,
        /// New inbox addresses, comma-separated.
        inbox: Option<String>,
        /// New alert addresses, comma-separated.
        alerts: Option<String>,
        /// New language.
        lang: Option<String>,
    },
    /// `tenant export`
    #[serde(rename = "tenant_export")]
    Export {
        /// Slug.
        slug: String,
        /// Absolute path to write.
        out: PathBuf,
        /// Encrypt under this; plain without.
        #[serde(default)]
        passphrase: Option<String>,
    },
    /// `tenant move-out`
    #[serde(rename = "tenant_move_out")]
    MoveOut {
        /// Slug.
        slug: String,
        /// Absolute path to write.
        out: PathBuf,
        /// The export's passphrase.
        passphrase: String,
    },
    /// `tenant move-cancel`
    #[serde(rename = "tenant_move_cancel")]
    MoveCancel {
        /// Slug.
        slug: String,
    },
    /// `tenant import`
    #[serde(rename = "tenant_import")]
    Import {
        /// Absolute path of the export.
        file: PathBuf,
        /// For an encrypted export.
        #[serde(default)]
        passphrase: Option<String>,
    },
}

/// A tenant with what `tenant show` adds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantDetails {
    /// The tenant.
    #[serde(flatten)]
    pub tenant: TenantInfo,
    /// Number of agents.
    pub agents: i64,
    /// Its sites.
    pub sites: Vec<SiteInfo>,
    /// Size of its database file in bytes.
    pub db_bytes: u64,
}

impl From<sstore::TenantRecord> for TenantInfo {
    fn from(t: sstore::TenantRecord) -> Self {
        TenantInfo {
            uuid: t.uuid,
            slug: t.slug,
            name: t.name,
            created_at: t.created_at,
        }
    }
}

impl TenantCmd {
    /// The request this command sends; reads a passphrase from stdin when one is needed.
    pub fn request(&self) -> std::result::Result<Request, Failure> {
        Ok(Request::Tenant(match self {
            TenantCmd::Create { slug, name } => TenantRequest::Create {
                slug: slug.clone(),
                name: name.clone(),
            },
            TenantCmd::Export { slug, out, plain } => TenantRequest::Export {
                slug: slug.clone(),
                out: absolute(out),
                passphrase: if *plain {
                    None
                } else {
                    Some(read_secret("passphrase").map_err(|mut f| {
                        f.message.push_str(
                            " (pipe one in, at least 12 characters; --plain writes it unencrypted)",
                        );
                        f
                    })?)
                },
            },
            TenantCmd::MoveOut { slug, out } => TenantRequest::MoveOut {
                slug: slug.clone(),
                out: absolute(out),
                passphrase: read_secret("passphrase").map_err(|mut f| {
                    f.message.push_str(
                        " (pipe one in, at least 12 characters: the target host needs it too)",
                    );
                    f
                })?,
            },
            TenantCmd::MoveCancel { slug } => TenantRequest::MoveCancel { slug: slug.clone() },
            TenantCmd::Import { file } => {
                let encrypted = std::fs::File::open(file)
                    .and_then(|mut f| {
                        let mut head = [0u8; 16];
                        f.read_exact(&mut head).map(|_| head)
                    })
                    .map(|head| crate::store::tenant_export::is_encrypted(&head))
                    .unwrap_or(false);
                TenantRequest::Import {
                    file: absolute(file),
                    passphrase: if encrypted {
                        Some(read_secret("passphrase")?)
                    } else {
                        None
                    },
                }
            }
            TenantCmd::Clone {
                source,
                anonymize,
                name,
            } => TenantRequest::Clone {
                source: source.clone(),
                slug: anonymize.clone(),
                name: name.clone(),
            },
            TenantCmd::Rekey { slug } => TenantRequest::Rekey { slug: slug.clone() },
            TenantCmd::Mail {
                slug,
                inbox,
                alerts,
                lang,
            } => TenantRequest::Mail {
                slug: slug.clone(),
                inbox: inbox.clone(),
                alerts: alerts.clone(),
                lang: lang.clone(),
            },
            TenantCmd::List => TenantRequest::List,
            TenantCmd::Show { slug } => TenantRequest::Show { slug: slug.clone() },
            TenantCmd::Delete { slug, yes } => {
                confirmed(
                    *yes,
                    &format!("delete tenant {slug:?}"),
                    "its data would be destroyed irrecoverably",
                )?;
                TenantRequest::Delete { slug: slug.clone() }
            }
        }))
    }
}

impl TenantRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let store = cx.store;
        match self {
            TenantRequest::Create { slug, name } => {
                tenants::validate_slug(&slug)?;
                let name =
                    tenants::clean_name("tenant name", name.as_deref().unwrap_or(&slug), 200)?;
                Ok(Response::Tenant(store.create_tenant(&slug, &name)?.into()))
            }
            TenantRequest::List => Ok(Response::Tenants {
                tenants: store.list_tenants()?.into_iter().map(Into::into).collect(),
            }),
            TenantRequest::Show { slug } => {
                let (rec, db) = store.tenant_db_by_slug(&slug)?;
                let agents = db.with(|c| tstore::agent_count(c))?;
                let sites = store.system(|c| sstore::list_sites(c, &rec.uuid))?;
                let db_bytes = std::fs::metadata(store.tenant_path(&rec.uuid))
                    .map(|m| m.len())
                    .unwrap_or(0);
                Ok(Response::TenantDetails(TenantDetails {
                    tenant: rec.into(),
                    agents,
                    sites: sites
                        .into_iter()
                        .map(|s| SiteInfo::new(s, cx.base_url))
                        .collect(),
                    db_bytes,
                }))
            }
            TenantRequest::Mail {
                slug,
                inbox,
                alerts,
                lang,
            } => {
                let (_, db) = store.tenant_db_by_slug(&slug)?;
                let changed = inbox.is_some() || alerts.is_some() || lang.is_some();
                let a = db.with(|c| {
                    let mut a = email::events::addresses(c)?;
                    if !changed {
                        return Ok(a);
                    }
                    if let Some(i) = inbox {
                        a.inbox = vec![i];
                    }
                    if let Some(al) = alerts {
                        a.alerts = vec![al];
                    }
                    if let Some(l) = lang {
                        a.lang = l;
                    }
                    let tx = c.transaction()?;
                    let a = email::events::set_addresses(&tx, &a)?;
                    tx.commit()?;
                    Ok(a)
                })?;
                let none = |l: &[String]| {
                    if l.is_empty() {
                        "(none)".to_string()
                    } else {
                        l.join(", ")
                    }
                };
                let lines = vec![
                    format!("offline messages to:  {}", none(&a.inbox)),
                    format!(
                        "missed chats to:      {}",
                        if a.alerts.is_empty() {
                            format!("{} (the inbox)", none(&a.inbox))
                        } else {
                            none(&a.alerts)
                        }
                    ),
                    format!("language:             {}", a.lang),
                ];
                Ok(Response::Report {
                    value: serde_json::to_value(&a).unwrap_or_default(),
                    lines,
                    ok: true,
                })
            }
            TenantRequest::Delete { slug } => {
                let cert = crate::store::certificate::delete_with_certificate(store, &slug)?;
                let mut lines = vec![
                    format!("tenant {slug} deleted; deletion certificate:"),
                    String::new(),
                ];
                lines.extend(cert.text().lines().map(String::from));
                Ok(Response::Report {
                    value: serde_json::to_value(&cert).unwrap_or_default(),
                    lines,
                    ok: true,
                })
            }
            TenantRequest::Rekey { slug } => {
                crate::store::rekey::rekey(store, &slug, cx.close)?;
                tenant_audit(store, &slug, "key.change", "tenant key");
                Ok(Response::Report {
                    value: serde_json::json!({ "tenant": slug, "rekeyed": true }),
                    lines: vec![format!(
                        "{slug}: the database is now under a new key; the old one is destroyed"
                    )],
                    ok: true,
                })
            }
            TenantRequest::Export {
                slug,
                out,
                passphrase,
            } => export(cx, &slug, &out, passphrase.as_deref()),
            TenantRequest::Clone { source, slug, name } => {
                clone(cx, &source, &slug, name.as_deref())
            }
            TenantRequest::Import { file, passphrase } => import(cx, &file, passphrase.as_deref()),
            TenantRequest::MoveOut {
                slug,
                out,
                passphrase,
            } => move_out(cx, &slug, &out, &passphrase),
            TenantRequest::MoveCancel { slug } => {
                let rec = cx.store.tenant_record(&slug)?;
                if !cx.store.undrain(&rec.uuid)? {
                    return Err(crate::error::Error::Conflict(format!(
                        "tenant {slug} is not moving away from this host"
                    )));
                }
                tenant_audit(cx.store, &slug, "tenant.move_cancel", "served here again");
                Ok(Response::Report {
                    value: serde_json::json!({ "tenant": slug, "drained": false }),
                    lines: vec![
                        format!("{slug}: the move is cancelled; the tenant is served here again"),
                        "the proxy must still route it here: do not import it elsewhere, or \
                         delete the copy there"
                            .into(),
                    ],
                    ok: true,
                })
            }
        }
    }
}

/// `tenant export`: audited first, so the export itself carries the record of it.
fn export(
    cx: &mut Ctx<'_>,
    slug: &str,
    out: &std::path::Path,
    passphrase: Option<&str>,
) -> Result<Response> {
    let how = if passphrase.is_some() {
        "encrypted"
    } else {
        "plain"
    };
    tenant_audit(cx.store, slug, "tenant.export", how);
    let done = crate::store::tenant_export::export(cx.store, slug, out, passphrase, cx.progress)?;
    let rows: u64 = done.tables.iter().map(|t| t.1).sum();
    let lines = vec![
        format!(
            "export written: {} ({} bytes, {})",
            done.file.display(),
            done.bytes,
            if done.encrypted {
                "encrypted"
            } else {
                "NOT encrypted"
            }
        ),
        format!("{} tables, {rows} rows", done.tables.len()),
    ];
    Ok(Response::Report {
        value: serde_json::to_value(&done).unwrap_or_default(),
        lines,
        ok: true,
    })
}

/// `tenant move-out`: checks what can be checked first (nothing is drained for a bad
/// passphrase or an unwritable place), records the move in the tenant's trail (so the export
/// carries it), drains the tenant, then writes the final export. Run again after a failure:
/// draining a drained tenant only waits again.
fn move_out(
    cx: &mut Ctx<'_>,
    slug: &str,
    out: &std::path::Path,
    passphrase: &str,
) -> Result<Response> {
    use crate::error::Error;
    let rec = cx.store.tenant_record(slug)?;
    crate::store::tenant_export::check_passphrase(passphrase)?;
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "{} is no directory: the export cannot be written there",
            dir.display()
        )));
    }
    if !cx.store.is_drained(&rec.uuid) {
        tenant_audit(cx.store, slug, "tenant.move_out", "drained for a move");
    }
    cx.store.drain(&rec.uuid, cx.close)?;
    let done =
        crate::store::tenant_export::export_for_move(cx.store, slug, out, passphrase, cx.progress)?;
    let rows: u64 = done.tables.iter().map(|t| t.1).sum();
    let file = done.file.display();
    let lines = vec![
        format!(
            "{slug} is drained here: its sockets closed; its requests get 503 (tenant_moving) until the proxy routes them to the new host"
        ),
        format!(
            "final export written: {file} ({} bytes, encrypted; {} tables, {rows} rows, agents' sign-ins included)",
            done.bytes,
            done.tables.len()
        ),
        "1. on the new host: kontor tenant import FILE (the same passphrase on standard input)"
            .to_string(),
        format!(
            "2. route to it: kontor placement export --tenant {slug} --backend NEW --runtime MAP (on the new host) and send those lines to HAProxy's admin socket"
        ),
        format!(
            "3. here: kontor tenant delete {slug} --yes (or, before step 2, kontor tenant move-cancel {slug} to abort)"
        ),
    ];
    Ok(Response::Report {
        value: serde_json::json!({
            "tenant": slug,
            "uuid": rec.uuid,
            "drained": true,
            "export": done,
        }),
        lines,
        ok: true,
    })
}

/// `tenant clone --anonymize`: audited in both trails once the clone exists (the clone's
/// own record is written while it is built).
fn clone(cx: &mut Ctx<'_>, source: &str, slug: &str, name: Option<&str>) -> Result<Response> {
    tenants::validate_slug(slug)?;
    let name = match name {
        Some(n) => tenants::clean_name("tenant name", n, 200)?,
        None => {
            let src = cx.store.tenant_record(source)?;
            let marked = format!("{} (test copy)", src.name);
            tenants::clean_name("tenant name", &marked, 200)
                .or_else(|_| tenants::clean_name("tenant name", slug, 200))?
        }
    };
    let done = crate::store::tenant_clone::clone_anonymized(
        cx.store,
        source,
        &crate::store::tenant_clone::Target {
            slug,
            name: &name,
            new_site_key: &crate::domain::sites::new_site_key,
        },
        cx.progress,
    )?;
    tenant_audit(
        cx.store,
        source,
        "tenant.clone",
        &format!("anonymised copy {slug}"),
    );
    let rows: u64 = done.tables.iter().map(|t| t.1).sum();
    let mut lines = vec![
        format!(
            "tenant {slug} created (id {}): an anonymised copy of {source}",
            done.uuid
        ),
        format!(
            "{} tables, {rows} rows; sign-ins, second factors and links were left out",
            done.tables.len()
        ),
    ];
    for (old, new) in &done.sites {
        lines.push(format!("site {new} (a new key; the source's is {old})"));
    }
    if !done.agents.is_empty() {
        lines.push(format!(
            "no agent can sign in until they choose a password: kontor agent reset-link {slug} EMAIL"
        ));
        lines.push(format!("agents: {}", done.agents.join(", ")));
    }
    Ok(Response::Report {
        value: serde_json::to_value(&done).unwrap_or_default(),
        lines,
        ok: true,
    })
}

/// Prints one tenant as text.
pub fn print_tenant(t: &TenantInfo) {
    say!("tenant {} ({}), id {}", t.slug, t.name, t.uuid);
}

/// Prints `tenant show` as text.
pub fn print_details(d: &TenantDetails) {
    let t = &d.tenant;
    say!("slug:     {}", t.slug);
    say!("name:     {}", t.name);
    say!("id:       {}", t.uuid);
    say!("created:  {}", crate::clock::rfc3339(t.created_at));
    say!("agents:   {}", d.agents);
    say!("database: {} bytes (encrypted)", d.db_bytes);
    say!("sites:    {}", d.sites.len());
    for s in &d.sites {
        say!("  {}  {}", s.site_key, s.origins.join(" "));
    }
}

/// Prints `tenant list` as text.
pub fn print_list(tenants: &[TenantInfo]) {
    if tenants.is_empty() {
        say!("no tenants yet; create one with `kontor tenant create SLUG`");
    }
    for t in tenants {
        say!("{:<24} {:<30} {}", t.slug, t.name, t.uuid);
    }
}

/// `tenant import`: the tenant from an export, audited, with the erasure ledger (this
/// server's, now with the export's) replayed over it.
fn import(cx: &mut Ctx<'_>, file: &std::path::Path, passphrase: Option<&str>) -> Result<Response> {
    let store = cx.store;
    let done = crate::store::tenant_export::import(store, file, passphrase, cx.progress)?;
    tenant_audit(
        store,
        &done.slug,
        "tenant.import",
        &file.file_name().unwrap_or_default().to_string_lossy(),
    );
    // Nobody this server's ledger (now with the export's) names comes back.
    let again = crate::domain::privacy::replay(store, &done.uuid)?;
    let rows: u64 = done.tables.iter().map(|t| t.1).sum();
    let mut lines = vec![
        format!("tenant {} imported (id {})", done.slug, done.uuid),
        format!(
            "{} tables, {rows} rows, {} sites",
            done.tables.len(),
            done.sites
        ),
        if done.sessions {
            "agents stay signed in: their sessions moved along".into()
        } else {
            "agents sign in with their old passwords; sessions did not move".into()
        },
    ];
    if !again.is_empty() {
        lines.push(format!(
            "erased {} items again from the erasure ledger",
            again.total()
        ));
    }
    Ok(Response::Report {
        value: serde_json::to_value(&done).unwrap_or_default(),
        lines,
        ok: true,
    })
}
