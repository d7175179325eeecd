//! Operator commands as typed requests, executed the same way whether the CLI opened the data
//! directory itself or handed the request to a running server over its admin socket.

pub mod socket;

use crate::clock::Clock;
use crate::config::normalize_origin;
use crate::crypto;
use crate::domain::agents;
use crate::domain::sites;
use crate::error::{Code, Error, Result};
use crate::model::sites::{SiteLook, SiteTracking};
use crate::model::tenants;
use crate::store::audit as astore;
use crate::store::system::{self as sstore, SiteRecord, TenantRecord};
use crate::store::tenant::{self as tstore, AgentRecord, DepartmentRecord};
use crate::store::{Store, backup, retention};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One operator command.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// Is a server there?
    Ping,
    /// `tenant create`
    TenantCreate {
        /// Slug.
        slug: String,
        /// Display name (defaults to the slug).
        name: Option<String>,
    },
    /// `tenant list`
    TenantList,
    /// `tenant show`
    TenantShow {
        /// Slug.
        slug: String,
    },
    /// `tenant delete`
    TenantDelete {
        /// Slug.
        slug: String,
    },
    /// `tenant rekey`
    TenantRekey {
        /// Slug.
        slug: String,
    },
    /// `tenant export`
    TenantExport {
        /// Slug.
        slug: String,
        /// Absolute path to write.
        out: PathBuf,
        /// Encrypt under this; plain without.
        #[serde(default)]
        passphrase: Option<String>,
    },
    /// `tenant import`
    TenantImport {
        /// Absolute path of the export.
        file: PathBuf,
        /// For an encrypted export.
        #[serde(default)]
        passphrase: Option<String>,
    },
    /// `agent add`
    AgentAdd {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
        /// Display name.
        name: String,
        /// Role.
        role: String,
        /// Password; generated when absent.
        password: Option<String>,
    },
    /// `agent list`
    AgentList {
        /// Tenant slug.
        tenant: String,
    },
    /// `agent passwd`
    AgentPasswd {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
        /// New password; generated when absent.
        password: Option<String>,
    },
    /// `agent disable`
    AgentDisable {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
    },
    /// `agent set`
    AgentSet {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
        /// Chats at once.
        #[serde(default)]
        capacity: Option<i64>,
        /// Departments by name (replaces the current ones).
        #[serde(default)]
        departments: Option<Vec<String>>,
    },
    /// `department add`
    DepartmentAdd {
        /// Tenant slug.
        tenant: String,
        /// Name.
        name: String,
    },
    /// `department list`
    DepartmentList {
        /// Tenant slug.
        tenant: String,
    },
    /// `retention show`
    RetentionShow {
        /// Tenant slug.
        tenant: String,
    },
    /// `retention set`: the periods given change, the others stay.
    RetentionSet {
        /// Tenant slug.
        tenant: String,
        /// Changes, by field name (`chats_days` …).
        changes: std::collections::BTreeMap<String, u32>,
    },
    /// `retention purge`: delete what has expired, now.
    RetentionPurge {
        /// Tenant slug.
        tenant: String,
    },
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
    },
    /// `audit verify`
    AuditVerify {
        /// Tenant slug.
        tenant: String,
        /// A head kept from an earlier verify, which must still be in the chain.
        #[serde(default)]
        head: Option<String>,
    },
    /// `audit list`
    AuditList {
        /// Tenant slug.
        tenant: String,
        /// At most this many, newest first.
        #[serde(default)]
        limit: Option<u32>,
        /// Only actions starting with this.
        #[serde(default)]
        action: Option<String>,
    },
    /// `site add`
    SiteAdd {
        /// Tenant slug.
        tenant: String,
        /// Allowed origins.
        origins: Vec<String>,
        /// bottom-right or bottom-left.
        #[serde(default)]
        position: Option<String>,
        /// `#rrggbb`.
        #[serde(default)]
        color: Option<String>,
        /// The site's privacy notice.
        #[serde(default)]
        privacy_url: Option<String>,
        /// Default widget language.
        #[serde(default)]
        lang: Option<String>,
        /// off, anonymous or consented.
        #[serde(default)]
        tracking: Option<String>,
        /// Query parameters stripped from reported URLs.
        #[serde(default)]
        strip: Option<Vec<String>>,
    },
    /// `site tracking`
    SiteTracking {
        /// Tenant slug.
        tenant: String,
        /// The site.
        site_key: String,
        /// off, anonymous or consented.
        #[serde(default)]
        mode: Option<String>,
        /// Query parameters stripped from reported URLs.
        #[serde(default)]
        strip: Option<Vec<String>>,
    },
    /// `stats`
    Stats {
        /// Tenant slug.
        tenant: String,
        /// First day, YYYY-MM-DD.
        #[serde(default)]
        from: Option<String>,
        /// Last day, included.
        #[serde(default)]
        to: Option<String>,
    },
    /// `site list`
    SiteList {
        /// Tenant slug.
        tenant: String,
    },
    /// `backup create`
    BackupCreate {
        /// Only this tenant.
        #[serde(default)]
        tenant: Option<String>,
        /// Directory for the archive (absolute).
        out: PathBuf,
        /// Backup key file (absolute), if not the default.
        #[serde(default)]
        backup_key: Option<PathBuf>,
    },
    /// `backup restore`
    BackupRestore {
        /// The archive (absolute).
        file: PathBuf,
        /// Only this tenant.
        #[serde(default)]
        tenant: Option<String>,
        /// Backup key file (absolute), if not the default.
        #[serde(default)]
        backup_key: Option<PathBuf>,
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

/// Tenant as sent over the socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantInfo {
    /// uuid
    pub uuid: String,
    /// slug
    pub slug: String,
    /// name
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Agent as sent over the socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Agent id.
    pub id: i64,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Whether sign-in is blocked.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// Site as sent over the socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SiteInfo {
    /// Public site key.
    pub site_key: String,
    /// Allowed origins.
    pub origins: Vec<String>,
    /// How the widget looks.
    #[serde(flatten)]
    pub look: SiteLook,
    /// Visitor monitoring.
    #[serde(flatten)]
    pub tracking: SiteTracking,
    /// The snippet to embed in those origins' pages.
    pub snippet: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl SiteInfo {
    fn new(s: SiteRecord, base_url: &str) -> SiteInfo {
        SiteInfo {
            snippet: sites::embed_snippet(base_url, &s.site_key),
            site_key: s.site_key,
            origins: s.origins,
            look: s.look,
            tracking: s.tracking,
            created_at: s.created_at,
        }
    }
}

/// What a command returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    /// Answer to `Ping`.
    Pong {
        /// Server version.
        version: String,
    },
    /// One tenant.
    Tenant(TenantInfo),
    /// One tenant in detail.
    TenantDetails(TenantDetails),
    /// Tenants.
    Tenants {
        /// The list.
        tenants: Vec<TenantInfo>,
    },
    /// One agent, with the generated password if one was made.
    Agent {
        /// The agent.
        agent: AgentInfo,
        /// Shown once; never stored.
        generated_password: Option<String>,
    },
    /// Agents.
    Agents {
        /// The list.
        agents: Vec<AgentInfo>,
    },
    /// Headline statistics.
    Stats(crate::store::stats::Headline),
    /// A check or a listing: the machine-readable value, the lines a person reads, and
    /// whether it passed (a failed check exits non-zero).
    Report {
        /// For `--json`.
        value: serde_json::Value,
        /// For people.
        lines: Vec<String>,
        /// Passed.
        ok: bool,
    },
    /// Departments.
    Departments {
        /// The list.
        departments: Vec<DepartmentRecord>,
    },
    /// One site.
    Site(SiteInfo),
    /// Sites.
    Sites {
        /// The list.
        sites: Vec<SiteInfo>,
    },
    /// A backup was written.
    BackupCreated(crate::store::backup::Created),
    /// Tenants were restored.
    BackupRestored {
        /// Each with what its chat log lost by the restore.
        tenants: Vec<crate::store::backup::Restored>,
    },
}

impl From<TenantRecord> for TenantInfo {
    fn from(t: TenantRecord) -> Self {
        TenantInfo {
            uuid: t.uuid,
            slug: t.slug,
            name: t.name,
            created_at: t.created_at,
        }
    }
}

impl From<AgentRecord> for AgentInfo {
    fn from(a: AgentRecord) -> Self {
        AgentInfo {
            id: a.id,
            email: a.email,
            name: a.display_name,
            role: a.role,
            disabled: a.disabled,
            created_at: a.created_at,
        }
    }
}

/// Runs one command against an open store at `clock`'s time; `base_url` is where widgets
/// load from.
pub fn execute(store: &Store, clock: &Clock, base_url: &str, req: Request) -> Result<Response> {
    execute_with(store, clock, base_url, req, &mut |_| {}, &mut |line| {
        tracing::info!("{line}");
    })
}

/// Like [`execute`]; `close` is called with a tenant's uuid just before a restore replaces
/// its database, so a running server can let go of it; `progress` hears about long work.
pub fn execute_with(
    store: &Store,
    clock: &Clock,
    base_url: &str,
    req: Request,
    close: &mut dyn FnMut(&str),
    progress: &mut dyn FnMut(&str),
) -> Result<Response> {
    match req {
        Request::BackupCreate {
            tenant,
            out,
            backup_key,
        } => {
            let key_path = backup::backup_key_path(store.data_dir(), backup_key.as_deref());
            let key = backup::backup_key(&key_path, true)?;
            let created =
                backup::create(store, &key, tenant.as_deref(), &out, clock.now(), progress)?;
            let name = created
                .file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy();
            for slug in &created.tenants {
                tenant_audit(store, slug, "backup.create", &name);
            }
            store.system(|c| {
                sstore::log_operator(
                    c,
                    "backup.create",
                    &created.file.display().to_string(),
                    "ok",
                )
            })?;
            Ok(Response::BackupCreated(created))
        }
        Request::BackupRestore {
            file,
            tenant,
            backup_key,
        } => {
            let key_path = backup::backup_key_path(store.data_dir(), backup_key.as_deref());
            let key = backup::backup_key(&key_path, false)?;
            let checked = backup::check(&file, &key, store.data_dir())?;
            let tenants = backup::restore(
                store,
                &key,
                &checked,
                tenant.as_deref(),
                close,
                &mut |line| {
                    tracing::info!("restore: {line}");
                },
            )?;
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            for slug in tenants.iter().map(|t| &t.slug) {
                tenant_audit(store, slug, "backup.restore", &name);
                // An older backup must not bring erased people back.
                let rec = store.tenant_record(slug)?;
                let again = crate::domain::privacy::replay(store, &rec.uuid)?;
                if !again.is_empty() {
                    progress(&format!(
                        "{slug}: erased {} items again from the erasure ledger",
                        again.total()
                    ));
                }
            }
            Ok(Response::BackupRestored { tenants })
        }
        Request::Ping => Ok(Response::Pong {
            version: env!("CARGO_PKG_VERSION").into(),
        }),
        Request::TenantCreate { slug, name } => {
            tenants::validate_slug(&slug)?;
            let name = tenants::clean_name("tenant name", name.as_deref().unwrap_or(&slug), 200)?;
            Ok(Response::Tenant(store.create_tenant(&slug, &name)?.into()))
        }
        Request::TenantList => Ok(Response::Tenants {
            tenants: store.list_tenants()?.into_iter().map(Into::into).collect(),
        }),
        Request::TenantShow { slug } => {
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
                    .map(|s| SiteInfo::new(s, base_url))
                    .collect(),
                db_bytes,
            }))
        }
        Request::TenantDelete { slug } => {
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
        Request::TenantRekey { slug } => {
            crate::store::rekey::rekey(store, &slug, close)?;
            tenant_audit(store, &slug, "key.change", "tenant key");
            Ok(Response::Report {
                value: serde_json::json!({ "tenant": slug, "rekeyed": true }),
                lines: vec![format!(
                    "{slug}: the database is now under a new key; the old one is destroyed"
                )],
                ok: true,
            })
        }
        Request::TenantExport {
            slug,
            out,
            passphrase,
        } => {
            // Audited first, so the export itself carries the record of it.
            tenant_audit(
                store,
                &slug,
                "tenant.export",
                if passphrase.is_some() {
                    "encrypted"
                } else {
                    "plain"
                },
            );
            let done = crate::store::tenant_export::export(
                store,
                &slug,
                &out,
                passphrase.as_deref(),
                progress,
            )?;
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
        Request::TenantImport { file, passphrase } => {
            let done =
                crate::store::tenant_export::import(store, &file, passphrase.as_deref(), progress)?;
            tenant_audit(
                store,
                &done.slug,
                "tenant.import",
                &file.file_name().unwrap_or_default().to_string_lossy(),
            );
            let rows: u64 = done.tables.iter().map(|t| t.1).sum();
            let lines = vec![
                format!("tenant {} imported (id {})", done.slug, done.uuid),
                format!(
                    "{} tables, {rows} rows, {} sites",
                    done.tables.len(),
                    done.sites
                ),
                "agents sign in with their old passwords; sessions did not move".into(),
            ];
            Ok(Response::Report {
                value: serde_json::to_value(&done).unwrap_or_default(),
                lines,
                ok: true,
            })
        }
        Request::AgentAdd {
            tenant,
            email,
            name,
            role,
            password,
        } => {
            let email = agents::normalize_email(&email)?;
            let name = tenants::clean_name("display name", &name, 100)?;
            let (password, generated) = password_or_generated(password)?;
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            let hash = crypto::hash_password(&password);
            let agent = db.with(|c| tstore::insert_agent(c, &email, &name, &role, &hash))?;
            operator_log(store, "agent.add", &tenant, agent.id);
            Ok(Response::Agent {
                agent: agent.into(),
                generated_password: generated.then_some(password),
            })
        }
        Request::AgentList { tenant } => {
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            Ok(Response::Agents {
                agents: db
                    .with(|c| tstore::list_agents(c))?
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            })
        }
        Request::AgentPasswd {
            tenant,
            email,
            password,
        } => {
            let email = agents::normalize_email(&email)?;
            let (password, generated) = password_or_generated(password)?;
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            let hash = crypto::hash_password(&password);
            let agent = db.with(|c| tstore::set_password(c, &email, &hash))?;
            operator_log(store, "agent.passwd", &tenant, agent.id);
            Ok(Response::Agent {
                agent: agent.into(),
                generated_password: generated.then_some(password),
            })
        }
        Request::AgentDisable { tenant, email } => {
            let email = agents::normalize_email(&email)?;
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            let agent = db.with(|c| tstore::disable_agent(c, &email))?;
            operator_log(store, "agent.disable", &tenant, agent.id);
            Ok(Response::Agent {
                agent: agent.into(),
                generated_password: None,
            })
        }
        Request::AgentSet {
            tenant,
            email,
            capacity,
            departments,
        } => {
            let email = agents::normalize_email(&email)?;
            if let Some(cap) = capacity
                && !(1..=50).contains(&cap)
            {
                return Err(Error::Invalid("capacity must be 1 to 50 chats".into()));
            }
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            let agent =
                db.with(|c| tstore::update_agent(c, &email, capacity, departments.as_deref()))?;
            operator_log(store, "agent.update", &tenant, agent.id);
            Ok(Response::Agent {
                agent: agent.into(),
                generated_password: None,
            })
        }
        Request::DepartmentAdd { tenant, name } => {
            let name = tenants::clean_name("department name", &name, 100)?;
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            let dep = db.with(|c| tstore::insert_department(c, &name))?;
            Ok(Response::Departments {
                departments: vec![dep],
            })
        }
        Request::Stats { tenant, from, to } => {
            use crate::store::{period::Period, stats};
            let now = clock.now();
            let p = Period::days(from.as_deref(), to.as_deref(), now)?;
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            let h = db.with(|c| stats::headline(c, p, now))?;
            Ok(Response::Stats(h))
        }
        Request::RetentionShow { tenant } => {
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            let r = db.with(|c| retention::get(c))?;
            Ok(retention_report(&tenant, &r))
        }
        Request::RetentionSet { tenant, changes } => {
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
            Ok(retention_report(&tenant, &r))
        }
        Request::RetentionPurge { tenant } => {
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            let p = db.with(|c| retention::purge(c, clock.now()))?;
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
        Request::Gdpr {
            tenant,
            action,
            by,
            value,
            new_name,
            new_email,
            out,
        } => {
            use crate::domain::privacy::{self, Actor};
            let by = crate::store::gdpr::By::parse(&by, &value)?;
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            let op = Actor::OPERATOR;
            let report = |value: serde_json::Value, lines: Vec<String>| Response::Report {
                value,
                lines,
                ok: true,
            };
            match action.as_str() {
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
                    crate::store::gdpr::write_tar(&files, &mut tar, clock.now())?;
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
                    let u =
                        privacy::rectify(&db, &by, new_name.as_deref(), new_email.as_deref(), &op)?;
                    let line = format!(
                        "updated {} chats and {} offline messages",
                        u.conversations, u.offline_messages
                    );
                    Ok(report(
                        serde_json::to_value(&u).unwrap_or_default(),
                        vec![line],
                    ))
                }
                "erase" => {
                    let p = privacy::erase(store, &db, &by, &op)?;
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
        Request::AuditVerify { tenant, head } => {
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            let (v, kept) = db.with(|c| {
                let v = crate::store::audit::verify(c)?;
                let kept = head
                    .as_deref()
                    .map(|h| crate::store::audit::contains(c, h.trim()))
                    .transpose()?;
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
        Request::AuditList {
            tenant,
            limit,
            action,
        } => {
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            let filter = crate::store::audit::Filter {
                limit: Some(limit.unwrap_or(50)),
                action,
                ..Default::default()
            };
            let rows = db.with(|c| crate::store::audit::list(c, &filter))?;
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
        Request::DepartmentList { tenant } => {
            let (_, db) = store.tenant_db_by_slug(&tenant)?;
            Ok(Response::Departments {
                departments: db.with(|c| tstore::list_departments(c))?,
            })
        }
        Request::SiteAdd {
            tenant,
            origins,
            position,
            color,
            privacy_url,
            lang,
            tracking,
            strip,
        } => {
            let look = sites::clean_look(
                position.as_deref(),
                color.as_deref(),
                privacy_url.as_deref(),
                lang.as_deref(),
            )?;
            let tracking = sites::clean_tracking(tracking.as_deref(), strip.as_deref())?;
            if origins.is_empty() {
                return Err(Error::Invalid("give at least one --origin".into()));
            }
            let origins = origins
                .iter()
                .map(|o| normalize_origin(o))
                .collect::<Result<Vec<_>>>()?;
            let rec = store.tenant_record(&tenant)?;
            let key = sites::new_site_key();
            let site = store
                .system(|c| sstore::insert_site(c, &rec.uuid, &key, &origins, &look, &tracking))?;
            tenant_audit(store, &tenant, "site.create", &key);
            Ok(Response::Site(SiteInfo::new(site, base_url)))
        }
        Request::SiteTracking {
            tenant,
            site_key,
            mode,
            strip,
        } => {
            let rec = store.tenant_record(&tenant)?;
            let site = store
                .system(|c| sstore::site_by_key(c, &site_key))?
                .filter(|s| s.tenant_uuid == rec.uuid)
                .ok_or_else(|| Error::NotFound(format!("site {site_key} of tenant {tenant}")))?;
            let tracking = sites::clean_tracking(
                Some(mode.as_deref().unwrap_or(&site.tracking.mode)),
                Some(strip.as_deref().unwrap_or(&site.tracking.strip)),
            )?;
            store.system(|c| sstore::set_site_tracking(c, &site_key, &tracking))?;
            tenant_audit(store, &tenant, "site.tracking", &site_key);
            let site = store
                .system(|c| sstore::site_by_key(c, &site_key))?
                .ok_or_else(|| Error::NotFound(format!("site {site_key}")))?;
            Ok(Response::Site(SiteInfo::new(site, base_url)))
        }
        Request::SiteList { tenant } => {
            let rec = store.tenant_record(&tenant)?;
            let list = store.system(|c| sstore::list_sites(c, &rec.uuid))?;
            Ok(Response::Sites {
                sites: list
                    .into_iter()
                    .map(|s| SiteInfo::new(s, base_url))
                    .collect(),
            })
        }
    }
}

/// Records an operator change of an agent by id (no email, no content), in the operator log
/// and in the tenant's own audit trail.
fn operator_log(store: &Store, action: &str, tenant: &str, agent_id: i64) {
    let object = format!("{tenant}/agent#{agent_id}");
    if let Err(e) = store.system(|c| sstore::log_operator(c, action, &object, "ok")) {
        tracing::error!(error = %e, "writing the operator audit failed");
    }
    tenant_audit(store, tenant, action, &format!("agent#{agent_id}"));
}

/// `  conversations     2` lines of a counts object.
fn count_lines(counts: &serde_json::Value) -> Vec<String> {
    counts
        .as_object()
        .map(|o| o.iter().map(|(k, n)| format!("  {k:<17} {n}")).collect())
        .unwrap_or_default()
}

fn retention_report(tenant: &str, r: &retention::Retention) -> Response {
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

/// Records a successful operator command in the tenant's audit trail (actor `operator`).
fn tenant_audit(store: &Store, tenant: &str, action: &str, object: &str) {
    let written = store.tenant_db_by_slug(tenant).and_then(|(_, db)| {
        db.with(|c| {
            astore::record(
                c,
                &astore::AuditEntry {
                    actor: "operator",
                    role: "operator",
                    action,
                    object,
                    result: "success",
                    ..Default::default()
                },
            )
        })
    });
    if let Err(e) = written {
        tracing::error!(error = %e, tenant, "writing the tenant audit failed");
    }
}

fn password_or_generated(password: Option<String>) -> Result<(String, bool)> {
    match password {
        Some(p) => {
            agents::check_password(&p)?;
            Ok((p, false))
        }
        None => Ok((crypto::generate_password(), true)),
    }
}

/// A command's failure as the CLI reports it, whether it happened here or in the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// Registered code, e.g. `not_found` (its string in JSON).
    pub code: Code,
    /// Human-readable message.
    pub message: String,
}

impl Failure {
    /// A failure with a registered code and a message for people.
    pub fn new(code: Code, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// The CLI's exit status for it, from the registry.
    pub fn exit_status(&self) -> u8 {
        self.code.spec().exit
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        if matches!(e, Error::Db(_) | Error::Internal(_)) {
            tracing::error!(error = %e, "admin command failed");
        }
        Failure::new(e.code(), e.to_string())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
