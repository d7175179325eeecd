//! Queries on `system.db`: tenants, sites and their allowed origins, the operator audit.

use super::{notices, rows, site_forms};
use crate::clock::now;
use crate::config::normalize_origin;
use crate::error::Result;
use crate::model::sites::{
    SiteLook, SiteTracking, SiteWords, check_site_key, clean_look, clean_tracking,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// A tenant as listed by the operator (never its key).
#[derive(Debug, Clone, Serialize)]
pub struct TenantRecord {
    /// Stable id and file name.
    pub uuid: String,
    /// Short name used in URLs and the CLI.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A site: the key a widget embeds and the origins allowed to use it.
#[derive(Debug, Clone, Serialize)]
pub struct SiteRecord {
    /// Public key embedded in the snippet.
    pub site_key: String,
    /// Owning tenant.
    pub tenant_uuid: String,
    /// Allowed origins, normalised.
    pub origins: Vec<String>,
    /// How the widget looks.
    #[serde(flatten)]
    pub look: SiteLook,
    /// Visitor monitoring.
    #[serde(flatten)]
    pub tracking: SiteTracking,
    /// The widget's own words and whether agents' names are shown.
    #[serde(flatten)]
    pub words: SiteWords,
    /// Unix seconds.
    pub created_at: i64,
}

fn split_params(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// Sets a site's tracking mode and stripped parameters (already checked by the caller).
pub fn set_site_tracking(c: &Connection, site_key: &str, t: &SiteTracking) -> Result<bool> {
    let n = c.execute(
        "UPDATE sites SET tracking = ?2, strip_params = ?3 WHERE site_key = ?1",
        params![site_key, t.mode, t.strip.join(",")],
    )?;
    if n == 1 {
        log_operator(c, "site.tracking", site_key, "ok")?;
    }
    Ok(n == 1)
}

const SITE_COLUMNS: &str = "site_key, tenant_uuid, created_at, position, color, privacy_url, lang, \
     tracking, strip_params, launcher_label_de, launcher_label_en, title_de, title_en, greeting_de, \
     greeting_en, offline_de, offline_en, show_agent_names";

fn site_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SiteRecord> {
    Ok(SiteRecord {
        site_key: r.get(0)?,
        tenant_uuid: r.get(1)?,
        created_at: r.get(2)?,
        look: SiteLook {
            position: r.get(3)?,
            color: r.get(4)?,
            privacy_url: r.get(5)?,
            lang: r.get(6)?,
        },
        tracking: SiteTracking {
            mode: r.get(7)?,
            strip: split_params(&r.get::<_, String>(8)?),
        },
        words: SiteWords {
            launcher_label_de: r.get(9)?,
            launcher_label_en: r.get(10)?,
            title_de: r.get(11)?,
            title_en: r.get(12)?,
            greeting_de: r.get(13)?,
            greeting_en: r.get(14)?,
            offline_de: r.get(15)?,
            offline_en: r.get(16)?,
            show_agent_names: r.get(17)?,
        },
        origins: Vec::new(),
    })
}

fn site_origins(c: &Connection, site_key: &str) -> Result<Vec<String>> {
    rows::all_cached(
        c,
        "SELECT origin FROM site_origins WHERE site_key = ?1 ORDER BY origin",
        [site_key],
        |r| r.get(0),
    )
}

fn tenant_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TenantRecord> {
    Ok(from_row!(r => TenantRecord { uuid, slug, name, created_at }))
}

/// Inserts a tenant row with its wrapped key.
pub fn insert_tenant(
    c: &Connection,
    uuid: &str,
    slug: &str,
    name: &str,
    wrapped_key: &[u8],
) -> Result<TenantRecord> {
    let at = now();
    c.execute(
        "INSERT INTO tenants (uuid, slug, name, wrapped_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![uuid, slug, name, wrapped_key, at],
    )
    .map_err(|e| rows::conflict(e, || format!("tenant {slug:?} exists already")))?;
    log_operator(c, "tenant.create", slug, "ok")?;
    Ok(TenantRecord {
        uuid: uuid.into(),
        slug: slug.into(),
        name: name.into(),
        created_at: at,
    })
}

/// Inserts a tenant restored from a backup, keeping its uuid and creation time.
pub fn insert_tenant_with_uuid(
    c: &Connection,
    uuid: &str,
    slug: &str,
    name: &str,
    wrapped_key: &[u8],
    created_at: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO tenants (uuid, slug, name, wrapped_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![uuid, slug, name, wrapped_key, created_at],
    )?;
    Ok(())
}

/// A site with all it owns in `system.db` (origins, look, tracking, privacy notices), as
/// backups and tenant exports carry it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SiteEntry {
    /// Public key.
    pub site_key: String,
    /// Allowed origins.
    pub origins: Vec<String>,
    /// Look.
    pub look: SiteLook,
    /// Visitor monitoring (archives written before it existed restore the default).
    #[serde(default)]
    pub tracking: SiteTracking,
    /// Its own privacy notices (archives written before they existed have none).
    #[serde(default)]
    pub notices: Vec<notices::Notice>,
    /// The widget's own words (archives written before they existed restore kontor's).
    #[serde(default)]
    pub words: SiteWords,
    /// The pre-chat form (archives written before it existed have none).
    #[serde(default)]
    pub form: crate::model::forms::Form,
}

impl SiteEntry {
    /// The site as if an admin had typed it: one read from an archive may have been crafted,
    /// and its origins end up in the widget frame's CSP (`frame-ancestors`), its key in HTML.
    pub fn checked(&self) -> Result<SiteEntry> {
        check_site_key(&self.site_key)?;
        let (look, tracking) = (&self.look, &self.tracking);
        Ok(SiteEntry {
            site_key: self.site_key.clone(),
            origins: self
                .origins
                .iter()
                .map(|o| normalize_origin(o))
                .collect::<Result<_>>()?,
            look: clean_look(
                Some(&look.position),
                Some(&look.color),
                Some(&look.privacy_url),
                Some(&look.lang),
            )?,
            tracking: clean_tracking(Some(&tracking.mode), Some(&tracking.strip))?,
            notices: self
                .notices
                .iter()
                .map(notices::Notice::checked)
                .collect::<Result<_>>()?,
            words: self.words.clone().clean()?,
            form: self.form.clone().checked()?,
        })
    }

    /// Every site of a tenant with its origins, look, tracking and notices.
    pub fn all_of(c: &Connection, tenant_uuid: &str) -> Result<Vec<SiteEntry>> {
        list_sites(c, tenant_uuid)?
            .into_iter()
            .map(|s| {
                Ok(SiteEntry {
                    notices: notices::list(c, &s.site_key)?,
                    form: site_forms::get(c, &s.site_key)?,
                    site_key: s.site_key,
                    origins: s.origins,
                    look: s.look,
                    tracking: s.tracking,
                    words: s.words,
                })
            })
            .collect()
    }
}

/// Puts a site from a backup back (its key, origins, look and tracking), replacing what is
/// there.
pub fn restore_site(c: &Connection, tenant_uuid: &str, s: &SiteEntry) -> Result<()> {
    let (look, t) = (&s.look, &s.tracking);
    c.execute(
        "INSERT INTO sites (site_key, tenant_uuid, created_at, position, color, privacy_url, lang,
                            tracking, strip_params)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (site_key) DO UPDATE SET position = excluded.position, color = excluded.color,
             privacy_url = excluded.privacy_url, lang = excluded.lang,
             tracking = excluded.tracking, strip_params = excluded.strip_params
         WHERE sites.tenant_uuid = excluded.tenant_uuid",
        params![
            s.site_key,
            tenant_uuid,
            now(),
            look.position,
            look.color,
            look.privacy_url,
            look.lang,
            t.mode,
            t.strip.join(","),
        ],
    )?;
    let w = &s.words;
    c.execute(
        "UPDATE sites SET launcher_label_de = ?3, launcher_label_en = ?4, title_de = ?5,
             title_en = ?6, greeting_de = ?7, greeting_en = ?8, offline_de = ?9, offline_en = ?10,
             show_agent_names = ?11
         WHERE site_key = ?1 AND tenant_uuid = ?2",
        params![
            s.site_key,
            tenant_uuid,
            w.launcher_label_de,
            w.launcher_label_en,
            w.title_de,
            w.title_en,
            w.greeting_de,
            w.greeting_en,
            w.offline_de,
            w.offline_en,
            w.show_agent_names,
        ],
    )?;
    for o in &s.origins {
        c.execute(
            "INSERT OR IGNORE INTO site_origins (site_key, origin)
             SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM sites WHERE site_key = ?1 AND tenant_uuid = ?3)",
            params![s.site_key, o, tenant_uuid],
        )?;
    }
    let owned: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM sites WHERE site_key = ?1 AND tenant_uuid = ?2)",
        params![s.site_key, tenant_uuid],
        |r| r.get(0),
    )?;
    if owned {
        site_forms::set(c, &s.site_key, &s.form, now())?;
    }
    for n in &s.notices {
        c.execute(
            "INSERT OR IGNORE INTO privacy_notices
                 (site_key, version, text_de, text_en, created_at, created_by)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6
             WHERE EXISTS (SELECT 1 FROM sites WHERE site_key = ?1 AND tenant_uuid = ?7)",
            params![
                s.site_key,
                n.version,
                n.text_de,
                n.text_en,
                n.created_at,
                n.created_by,
                tenant_uuid
            ],
        )?;
    }
    Ok(())
}

/// The tenant with this slug, if any.
pub fn tenant_by_slug(c: &Connection, slug: &str) -> Result<Option<TenantRecord>> {
    Ok(c.query_row(
        "SELECT uuid, slug, name, created_at FROM tenants WHERE slug = ?1",
        [slug],
        tenant_from_row,
    )
    .optional()?)
}

/// The tenant with this uuid, if any.
pub fn tenant_by_uuid(c: &Connection, uuid: &str) -> Result<Option<TenantRecord>> {
    Ok(c.query_row(
        "SELECT uuid, slug, name, created_at FROM tenants WHERE uuid = ?1",
        [uuid],
        tenant_from_row,
    )
    .optional()?)
}

/// Every tenant, ordered by slug.
pub fn list_tenants(c: &Connection) -> Result<Vec<TenantRecord>> {
    rows::all(
        c,
        "SELECT uuid, slug, name, created_at FROM tenants ORDER BY slug",
        [],
        tenant_from_row,
    )
}

/// The tenants drained for a move (`tenant_moves`).
pub fn drained_tenants(c: &Connection) -> Result<Vec<String>> {
    rows::all(c, "SELECT tenant_uuid FROM tenant_moves", [], |r| r.get(0))
}

/// Records a tenant as drained for a move (kept from an earlier drain if there is one).
pub fn set_drained(c: &Connection, uuid: &str, now: i64) -> Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO tenant_moves (tenant_uuid, since) VALUES (?1, ?2)",
        params![uuid, now],
    )?;
    log_operator(c, "tenant.drain", uuid, "ok")?;
    Ok(())
}

/// Ends a tenant's drain; whether there was one.
pub fn clear_drained(c: &Connection, uuid: &str) -> Result<bool> {
    let n = c.execute("DELETE FROM tenant_moves WHERE tenant_uuid = ?1", [uuid])?;
    if n > 0 {
        log_operator(c, "tenant.undrain", uuid, "ok")?;
    }
    Ok(n > 0)
}

/// The wrapped key of a tenant, if the tenant exists.
pub fn wrapped_key(c: &Connection, uuid: &str) -> Result<Option<Vec<u8>>> {
    Ok(c.query_row(
        "SELECT wrapped_key FROM tenants WHERE uuid = ?1",
        [uuid],
        |r| r.get(0),
    )
    .optional()?)
}

/// Removes a tenant's row, wrapped key and sites in one transaction.
pub fn delete_tenant(c: &mut Connection, uuid: &str) -> Result<()> {
    let tx = c.transaction()?;
    let slug: String = tx.query_row("SELECT slug FROM tenants WHERE uuid = ?1", [uuid], |r| {
        r.get(0)
    })?;
    // Overwrite the key in place before the delete, so even a page image taken mid-way holds
    // no usable key material.
    tx.execute(
        "UPDATE tenants SET wrapped_key = zeroblob(length(wrapped_key)) WHERE uuid = ?1",
        [uuid],
    )?;
    tx.execute("DELETE FROM tenants WHERE uuid = ?1", [uuid])?;
    log_operator(&tx, "tenant.delete", &slug, "ok")?;
    tx.commit()?;
    Ok(())
}

/// Adds a site with its origins for a tenant.
pub fn insert_site(
    c: &mut Connection,
    tenant_uuid: &str,
    site_key: &str,
    origins: &[String],
    look: &SiteLook,
    tracking: &SiteTracking,
) -> Result<SiteRecord> {
    let at = now();
    let tx = c.transaction()?;
    tx.execute(
        "INSERT INTO sites (site_key, tenant_uuid, created_at, position, color, privacy_url, lang,
                            tracking, strip_params)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            site_key,
            tenant_uuid,
            at,
            look.position,
            look.color,
            look.privacy_url,
            look.lang,
            tracking.mode,
            tracking.strip.join(","),
        ],
    )?;
    for o in origins {
        tx.execute(
            "INSERT OR IGNORE INTO site_origins (site_key, origin) VALUES (?1, ?2)",
            params![site_key, o],
        )?;
    }
    log_operator(&tx, "site.create", site_key, "ok")?;
    tx.commit()?;
    Ok(SiteRecord {
        site_key: site_key.into(),
        tenant_uuid: tenant_uuid.into(),
        origins: origins.to_vec(),
        look: look.clone(),
        tracking: tracking.clone(),
        words: SiteWords::default(),
        created_at: at,
    })
}

/// Replaces a site's origins, look, tracking and words (all checked by the caller), in one
/// transaction. False when the tenant has no such site.
pub fn update_site(
    c: &mut Connection,
    tenant_uuid: &str,
    site_key: &str,
    origins: &[String],
    look: &SiteLook,
    tracking: &SiteTracking,
    words: &SiteWords,
) -> Result<bool> {
    let tx = c.transaction()?;
    let n = tx.execute(
        "UPDATE sites SET position = ?3, color = ?4, privacy_url = ?5, lang = ?6, tracking = ?7,
             strip_params = ?8, launcher_label_de = ?9, launcher_label_en = ?10, title_de = ?11,
             title_en = ?12, greeting_de = ?13, greeting_en = ?14, offline_de = ?15,
             offline_en = ?16, show_agent_names = ?17
         WHERE site_key = ?1 AND tenant_uuid = ?2",
        params![
            site_key,
            tenant_uuid,
            look.position,
            look.color,
            look.privacy_url,
            look.lang,
            tracking.mode,
            tracking.strip.join(","),
            words.launcher_label_de,
            words.launcher_label_en,
            words.title_de,
            words.title_en,
            words.greeting_de,
            words.greeting_en,
            words.offline_de,
            words.offline_en,
            words.show_agent_names,
        ],
    )?;
    if n != 1 {
        return Ok(false);
    }
    tx.execute("DELETE FROM site_origins WHERE site_key = ?1", [site_key])?;
    for o in origins {
        tx.execute(
            "INSERT OR IGNORE INTO site_origins (site_key, origin) VALUES (?1, ?2)",
            params![site_key, o],
        )?;
    }
    log_operator(&tx, "site.update", site_key, "ok")?;
    tx.commit()?;
    Ok(true)
}

/// Removes a tenant's site with its origins and privacy notices. The tenant's chats,
/// visits and statistics stay in its own database. False when the tenant has no such site.
pub fn delete_site(c: &mut Connection, tenant_uuid: &str, site_key: &str) -> Result<bool> {
    let tx = c.transaction()?;
    tx.execute(
        "DELETE FROM site_origins WHERE site_key = ?1
           AND EXISTS (SELECT 1 FROM sites WHERE site_key = ?1 AND tenant_uuid = ?2)",
        params![site_key, tenant_uuid],
    )?;
    let n = tx.execute(
        "DELETE FROM sites WHERE site_key = ?1 AND tenant_uuid = ?2",
        params![site_key, tenant_uuid],
    )?;
    if n == 1 {
        log_operator(&tx, "site.remove", site_key, "ok")?;
    }
    tx.commit()?;
    Ok(n == 1)
}

/// A tenant's sites with their origins.
pub fn list_sites(c: &Connection, tenant_uuid: &str) -> Result<Vec<SiteRecord>> {
    let sites: Vec<SiteRecord> = rows::all(
        c,
        &format!(
            "SELECT {SITE_COLUMNS} FROM sites WHERE tenant_uuid = ?1 ORDER BY created_at, site_key"
        ),
        [tenant_uuid],
        site_from_row,
    )?;
    sites
        .into_iter()
        .map(|mut s| {
            s.origins = site_origins(c, &s.site_key)?;
            Ok(s)
        })
        .collect()
}

/// A site by its public key, with its origins.
pub fn site_by_key(c: &Connection, site_key: &str) -> Result<Option<SiteRecord>> {
    let site = c
        .prepare_cached(&format!(
            "SELECT {SITE_COLUMNS} FROM sites WHERE site_key = ?1"
        ))?
        .query_row([site_key], site_from_row)
        .optional()?;
    let Some(mut site) = site else {
        return Ok(None);
    };
    site.origins = site_origins(c, site_key)?;
    Ok(Some(site))
}

/// Records an operator action (no tenant content, ever).
pub fn log_operator(c: &Connection, action: &str, object: &str, result: &str) -> Result<()> {
    c.execute(
        "INSERT INTO operator_audit (at, action, object, result) VALUES (?1, ?2, ?3, ?4)",
        params![now(), action, object, result],
    )?;
    Ok(())
}
