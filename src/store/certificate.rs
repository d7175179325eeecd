//! Deleting a tenant at contract end, with a certificate: the tenant, when, how many rows of
//! each table and how many bytes were destroyed, and that its key was destroyed with it.
//! The certificate is printed, kept in `system.db` and written to `DATA_DIR/certificates/`.

use super::{Store, system};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The certificate's format name.
pub const FORMAT: &str = "kontor-deletion-certificate/1";

/// What was destroyed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Certificate {
    /// [`FORMAT`].
    pub format: String,
    /// The tenant's id.
    pub tenant_uuid: String,
    /// Its slug.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was deleted (RFC 3339).
    pub deleted_at: String,
    /// Rows per table in its database just before.
    pub rows: Vec<(String, u64)>,
    /// Bytes of its database files.
    pub database_bytes: u64,
    /// Its sites (public keys), removed with it.
    pub sites: Vec<String>,
    /// The tenant key is gone: its wrapped copy was overwritten and deleted, and no
    /// database file remains.
    pub key_destroyed: bool,
    /// What was done, in words.
    pub measures: Vec<String>,
}

impl Certificate {
    /// The certificate as text for people.
    pub fn text(&self) -> String {
        let mut t = format!(
            "tenant:     {} ({}), id {}\ncreated:    {}\ndeleted:    {}\nsites:      {}\n\
             destroyed:  {} bytes of encrypted database\n",
            self.slug,
            self.name,
            self.tenant_uuid,
            self.created_at,
            self.deleted_at,
            if self.sites.is_empty() {
                "-".to_string()
            } else {
                self.sites.join(" ")
            },
            self.database_bytes,
        );
        for (table, n) in self.rows.iter().filter(|(_, n)| *n > 0) {
            let rows = if *n == 1 { "row" } else { "rows" };
            t.push_str(&format!("  {table:<22} {n} {rows}\n"));
        }
        t.push_str(&format!(
            "key destroyed: {}\n",
            if self.key_destroyed { "yes" } else { "NO" }
        ));
        for m in &self.measures {
            t.push_str(&format!("- {m}\n"));
        }
        t
    }
}

fn file_bytes(path: &std::path::Path) -> u64 {
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    size(path)
        + super::connection::side_files(path)
            .iter()
            .map(|p| size(p))
            .sum::<u64>()
}

/// Deletes the tenant `slug` and returns its certificate (also stored and written to a file).
pub fn delete_with_certificate(store: &Store, slug: &str) -> Result<Certificate> {
    let rec = store.tenant_record(slug)?;
    let path = store.tenant_path(&rec.uuid);
    // A tenant moved to another host is drained here: deleting it ends the move.
    let db = if store.is_drained(&rec.uuid) {
        store.drained_db(&rec.uuid)?
    } else {
        store.tenant_db(&rec.uuid)?
    };
    let rows = db.with(|c| {
        let mut out = Vec::new();
        for (table, _) in super::snapshot::table_checksums(c)? {
            let n: i64 = c.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                r.get(0)
            })?;
            out.push((table, n.max(0) as u64));
        }
        Ok(out)
    })?;
    let database_bytes = file_bytes(&path);
    let sites: Vec<String> = store
        .system(|c| system::list_sites(c, &rec.uuid))?
        .into_iter()
        .map(|s| s.site_key)
        .collect();
    drop(db);
    store.delete_tenant(slug)?;
    let key_gone = store
        .system(|c| system::wrapped_key(c, &rec.uuid))?
        .is_none();
    let key_destroyed = key_gone && file_bytes(&path) == 0;
    let cert = Certificate {
        format: FORMAT.into(),
        tenant_uuid: rec.uuid.clone(),
        slug: rec.slug.clone(),
        name: rec.name.clone(),
        created_at: crate::clock::rfc3339(rec.created_at),
        deleted_at: crate::clock::rfc3339(crate::clock::now()),
        rows,
        database_bytes,
        sites,
        key_destroyed,
        measures: vec![
            "the tenant's wrapped database key was overwritten with zeros and deleted from \
             system.db, whose write-ahead log was then truncated: without the key the data \
             cannot be decrypted"
                .into(),
            "the tenant's database file and its log were deleted".into(),
            "its sites were removed, so their widgets and tracking stop at once".into(),
            "encrypted backups taken earlier still hold the tenant until their rotation \
             removes them (see [backup] keep_daily and keep_weekly)"
                .into(),
        ],
    };
    let body = serde_json::to_string_pretty(&cert)
        .map_err(|e| Error::Internal(format!("certificate: {e}")))?;
    store.system(|c| {
        c.execute(
            "INSERT INTO deletion_certificates (tenant_uuid, slug, at, body) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![cert.tenant_uuid, cert.slug, crate::clock::now(), body],
        )?;
        Ok(())
    })?;
    let dir = store.data_dir().join("certificates");
    super::create_private_dir(&dir)?;
    let file = dir.join(format!("{}-{}.json", cert.slug, cert.tenant_uuid));
    std::fs::write(&file, body.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", file.display()), e))?;
    Ok(cert)
}
