//! Opening an encrypted database: `PRAGMA key` first, then the cipher settings, a key check,
//! and the connection pragmas every kontor connection runs with.

use crate::crypto::Key;
use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// Cipher settings that are part of our file format; they must be identical on every open.
/// HMAC-SHA256 per page instead of SQLCipher's default SHA-512: hardware-accelerated here and
/// still a 256-bit MAC.
const CIPHER_SETTINGS: &str = "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;";

/// How an open should treat a missing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The file must exist.
    Existing,
    /// Create the file if it does not exist.
    Create,
}

/// Opens `path` with the raw `key`. A wrong key fails before anything is written: the check
/// reads the first page, and WAL/journal settings are applied only after it passed.
/// The write-ahead log and shared-memory files SQLite keeps next to `path`.
pub fn side_files(path: &Path) -> [std::path::PathBuf; 2] {
    ["-wal", "-shm"].map(|suffix| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        std::path::PathBuf::from(p)
    })
}

/// Copies the write-ahead log into the database and truncates it, so content deleted (or a
/// key overwritten) survives in neither.
pub fn checkpoint(c: &Connection) -> Result<()> {
    let busy: i64 = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy != 0 {
        // Another reader held the log; the next checkpoint or the close truncates it.
        tracing::warn!("the write-ahead log could not be truncated yet (a reader held it)");
    }
    Ok(())
}

pub fn open(path: &Path, key: &Key, mode: Mode) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if mode == Mode::Create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| match mode {
        Mode::Existing if !path.exists() => Error::NotFound(format!("database {}", path.display())),
        _ => Error::Db(e),
    })?;
    conn.execute_batch(&format!("PRAGMA key = {};", key.sqlcipher_literal()))?;
    conn.execute_batch(CIPHER_SETTINGS)?;
    // The first read decrypts page 1: this is where a wrong key or a tampered page shows.
    if let Err(e) = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        return Err(match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => Error::WrongKey {
                key: "(key)".into(),
                db: path.to_path_buf(),
            },
            _ => Error::Db(e),
        });
    }
    conn.busy_timeout(Duration::from_secs(5))?;
    // FULL: an acknowledged write survives power loss (see SECURITY.md, data safety).
    // secure_delete: deleted rows (keys, erased data) do not linger in free pages.
    // cache_size: 8 MiB of decrypted pages (SQLite's default is 2 MiB). Every page read from
    // the file costs an AES decryption and an HMAC check; the chat writer's index pages must
    // stay in memory under load. The cache fills only as far as a database is used.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA cache_size = -8192;
         PRAGMA journal_size_limit = 67108864;",
    )?;
    keep_log_file(&conn)?;
    Ok(conn)
}

/// Keeps the write-ahead log and shared-memory files when the last connection closes.
///
/// Why: SQLite deletes both at the last close, and a reopened tenant's first commit creates
/// them again. Kept, a reopen creates no files (measured, this saves little: a reopen's cost
/// was elsewhere, see `docs/BENCHMARKS.md`). The log is truncated to zero bytes at that close
/// instead (a `journal_size_limit` is set, above), so nothing written in it, erased content
/// included, outlives the close; restores and swaps remove both files with the database
/// (`remove_side_files`).
fn keep_log_file(conn: &Connection) -> Result<()> {
    let mut on: std::ffi::c_int = 1;
    conn.file_control(
        rusqlite::DEFAULT_NAME,
        rusqlite::FileControl::PersistWal(&mut on),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_is_encrypted_and_needs_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let key = Key::generate();
        {
            let c = open(&path, &key, Mode::Create).unwrap();
            c.execute_batch("CREATE TABLE t(x TEXT); INSERT INTO t VALUES ('secret text');")
                .unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_ne!(&bytes[..16], b"SQLite format 3\0");
        assert!(!bytes.windows(11).any(|w| w == b"secret text"));
        let err = open(&path, &Key::generate(), Mode::Existing).unwrap_err();
        assert!(matches!(err, Error::WrongKey { .. }), "{err:?}");
        let c = open(&path, &key, Mode::Existing).unwrap();
        let v: String = c.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(v, "secret text");
    }

    #[test]
    fn the_log_file_is_kept_empty_after_the_last_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let key = Key::generate();
        let [wal, _] = side_files(&path);
        {
            let c = open(&path, &key, Mode::Create).unwrap();
            c.execute_batch("CREATE TABLE t(x TEXT); INSERT INTO t VALUES ('erased text');")
                .unwrap();
            c.execute_batch("DELETE FROM t").unwrap();
            assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        }
        // Kept for the next open, and emptied: nothing of what it held outlives the close.
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
        let c = open(&path, &key, Mode::Existing).unwrap();
        c.execute_batch("INSERT INTO t VALUES ('again')").unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn missing_file_is_not_created_in_existing_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.db");
        assert!(open(&path, &Key::generate(), Mode::Existing).is_err());
        assert!(!path.exists());
    }
}
