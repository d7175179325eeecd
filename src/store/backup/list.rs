//! `backup list`: the archives in a directory with what their manifests say.

use super::manifest::read_manifest;
use super::seal::unseal;
use crate::crypto::Key;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// An archive as `backup list` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Listed {
    /// The file.
    pub file: PathBuf,
    /// Bytes.
    pub bytes: u64,
    /// Unix seconds, from the manifest (None when it does not open with the key).
    pub created_at: Option<i64>,
    /// Tenant slugs.
    pub tenants: Vec<String>,
}

/// The archives in a directory, newest first.
pub fn list(dir: &Path, backup: &Key) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("tar") {
            continue;
        }
        let bytes = e.metadata().map(|m| m.len()).unwrap_or(0);
        let manifest = read_manifest(&path).and_then(|s| unseal(backup, &s)).ok();
        out.push(Listed {
            file: path,
            bytes,
            created_at: manifest.as_ref().map(|m| m.created_at),
            tenants: manifest
                .map(|m| m.tenants.into_iter().map(|t| t.slug).collect())
                .unwrap_or_default(),
        });
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.file.cmp(&a.file)));
    Ok(out)
}
