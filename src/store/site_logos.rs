//! A site's logo in the tenant's database (`site_logos`): the image the chat frame shows in
//! its header.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A stored logo: its sniffed type and bytes.
pub struct Logo {
    /// `image/png`, `image/jpeg`, `image/webp` or `image/gif`.
    pub mime: String,
    /// The image.
    pub data: Vec<u8>,
    /// Unix seconds of the upload (the frame adds it to the address, so a new logo is fetched).
    pub updated_at: i64,
}

/// Stores or replaces a site's logo (type already sniffed by the caller).
pub fn set(c: &Connection, site_key: &str, mime: &str, data: &[u8], at: i64) -> Result<()> {
    c.execute(
        "INSERT INTO site_logos (site_key, mime, data, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (site_key) DO UPDATE SET mime = excluded.mime, data = excluded.data,
             updated_at = excluded.updated_at",
        params![site_key, mime, data, at],
    )?;
    Ok(())
}

/// Removes a site's logo; false if it had none.
pub fn delete(c: &Connection, site_key: &str) -> Result<bool> {
    Ok(c.execute("DELETE FROM site_logos WHERE site_key = ?1", [site_key])? == 1)
}

/// A site's logo.
pub fn get(c: &Connection, site_key: &str) -> Result<Option<Logo>> {
    Ok(c.query_row(
        "SELECT mime, data, updated_at FROM site_logos WHERE site_key = ?1",
        [site_key],
        |r| {
            Ok(Logo {
                mime: r.get(0)?,
                data: r.get(1)?,
                updated_at: r.get(2)?,
            })
        },
    )
    .optional()?)
}

/// When a site's logo was uploaded, if it has one.
pub fn version(c: &Connection, site_key: &str) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT updated_at FROM site_logos WHERE site_key = ?1",
        [site_key],
        |r| r.get(0),
    )
    .optional()?)
}
