//! Sealing with the backup key: the manifest is encrypted and authenticated (AES-256-GCM),
//! and the whole archive file carries an HMAC in its last member, so a change anywhere is
//! refused.

use super::manifest::{FORMAT, MAC, Manifest};
use crate::crypto::{self, Key};
use crate::error::{Error, Result};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use std::fs;
use std::io::Write;
use std::path::Path;

fn manifest_key(backup: &Key) -> LessSafeKey {
    let k = backup.derive("kontor backup manifest v1");
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, k.expose()).expect("32-byte key"))
}

pub(super) fn seal(backup: &Key, manifest: &Manifest) -> Result<Vec<u8>> {
    let mut buf = serde_json::to_vec(manifest).map_err(|e| Error::Internal(e.to_string()))?;
    let nonce: [u8; NONCE_LEN] = crypto::random_array();
    manifest_key(backup)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(b"kontor backup manifest"),
            &mut buf,
        )
        .map_err(|_| Error::Internal("sealing the manifest failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

pub(super) fn unseal(backup: &Key, sealed: &[u8]) -> Result<Manifest> {
    let refuse = || {
        Error::Invalid(
            "the archive's manifest does not open with this backup key: wrong key, or the archive was altered".into(),
        )
    };
    if sealed.len() < NONCE_LEN {
        return Err(refuse());
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let mut buf = rest.to_vec();
    let plain = manifest_key(backup)
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| refuse())?,
            Aad::from(b"kontor backup manifest"),
            &mut buf,
        )
        .map_err(|_| refuse())?;
    let m: Manifest = serde_json::from_slice(plain).map_err(|_| refuse())?;
    if m.format != FORMAT {
        return Err(Error::Invalid(format!(
            "archive format {} is not supported (this kontor reads {FORMAT})",
            m.format
        )));
    }
    Ok(m)
}

fn archive_mac_key(backup: &Key) -> ring::hmac::Key {
    ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        backup.derive("kontor backup archive mac v1").expose(),
    )
}

/// Where the MAC member's 32 bytes are in an archive.
fn mac_offset(bytes: &[u8]) -> Option<usize> {
    let mut tar = tar::Archive::new(std::io::Cursor::new(bytes));
    let mut found = None;
    for entry in tar.entries().ok()? {
        let entry = entry.ok()?;
        if entry.path().ok()?.to_string_lossy() == MAC && entry.size() == 32 {
            found = Some(entry.raw_file_position() as usize);
        }
    }
    found.filter(|o| o + 32 <= bytes.len())
}

/// Writes the archive's MAC into its last member.
pub(super) fn seal_archive(file: &mut fs::File, path: &Path, backup: &Key) -> Result<()> {
    use std::io::{Seek, SeekFrom};
    file.flush()
        .map_err(|e| Error::io("writing the archive", e))?;
    let bytes = fs::read(path).map_err(|e| Error::io("reading the archive back", e))?;
    let offset =
        mac_offset(&bytes).ok_or_else(|| Error::Internal("archive has no MAC member".into()))?;
    let tag = ring::hmac::sign(&archive_mac_key(backup), &bytes);
    file.seek(SeekFrom::Start(offset as u64))
        .and_then(|_| file.write_all(tag.as_ref()))
        .map_err(|e| Error::io("sealing the archive", e))
}

/// Whether the archive's MAC matches its bytes (with the MAC itself taken as zero).
pub(super) fn archive_mac_ok(bytes: &[u8], backup: &Key) -> bool {
    let Some(offset) = mac_offset(bytes) else {
        return false;
    };
    let stored = bytes[offset..offset + 32].to_vec();
    let mut zeroed = bytes.to_vec();
    zeroed[offset..offset + 32].fill(0);
    ring::hmac::verify(&archive_mac_key(backup), &zeroed, &stored).is_ok()
}
