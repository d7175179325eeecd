//! Storage: the data directory, the master key, `system.db` and the open tenant databases.
//!
//! Every function here is plain synchronous rusqlite; async code reaches it through
//! `web::block`/`spawn_blocking` only.

#[macro_use]
mod rows;

pub mod aggregates;
pub mod anonymize;
pub mod api_tokens;
pub mod archive;
pub mod audit;
pub mod backup;
pub mod blocks;
pub mod campaigns;
pub mod certificate;
pub mod chat;
pub mod connection;
pub mod faqs;
pub mod gdpr;
pub mod hours;
pub mod links;
pub mod lookups;
pub mod migrations;
pub mod notices;
mod open_tenants;
pub mod outbox;
pub mod period;
pub mod presence;
pub mod profile;
pub mod read_log;
pub mod rekey;
pub mod relevance;
pub mod restrictions;
pub mod retention;
pub mod roles;
pub mod site_forms;
pub mod site_logos;
pub mod site_rows;
pub mod snapshot;
pub mod stats;
pub mod support;
pub mod system;
pub mod team;
pub mod tenant;
pub mod tenant_clone;
pub mod tenant_export;
pub mod two_factor;
pub mod visits;
pub mod webhooks;
pub mod worktime;

use crate::crypto::Key;
use crate::error::{Error, Result};
use connection::Mode;
use rusqlite::Connection;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub use system::{SiteRecord, TenantRecord};

/// Purpose strings for keys derived from the master key.
const SYSTEM_DB_KEY: &str = "kontor system.db key v1";
const TENANT_WRAP_KEY: &str = "kontor tenant key wrapping v1";

/// Where the master key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `DATA_DIR/master.key`.
    File(PathBuf),
    /// `$CREDENTIALS_DIRECTORY/master.key` (systemd `LoadCredential=`).
    Credential(PathBuf),
}

impl KeySource {
    /// The key file's path.
    pub fn path(&self) -> &Path {
        match self {
            KeySource::File(p) | KeySource::Credential(p) => p,
        }
    }

    /// Finds the key: the systemd credential wins when present.
    pub fn locate(data_dir: &Path) -> KeySource {
        if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
            let p = Path::new(&dir).join("master.key");
            if p.exists() {
                return KeySource::Credential(p);
            }
        }
        KeySource::File(data_dir.join("master.key"))
    }
}

/// What `init` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InitReport {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Where the master key lives.
    pub master_key: PathBuf,
    /// Whether a new master key was generated.
    pub created_key: bool,
    /// Whether `system.db` was created now.
    pub created_system_db: bool,
}

/// The data directory, opened: the system database and a cache of open tenant databases.
pub struct Store {
    data_dir: PathBuf,
    key_source: KeySource,
    wrap_key: Key,
    system: Mutex<Connection>,
    tenants: Mutex<open_tenants::OpenTenants>,
    /// Tenants whose file is being replaced (key change, restore): not opened meanwhile.
    held: Mutex<std::collections::HashSet<String>>,
    /// Tenants drained for a move to another host (`tenant_moves` in `system.db`): not opened
    /// for anyone but the move's own export and the deletion that ends it.
    drained: Mutex<std::collections::HashSet<String>>,
}

/// While alive, the tenant's database cannot be opened (see [`Store::hold`]).
pub struct Hold<'a> {
    store: &'a Store,
    uuid: String,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        // Whoever opens it next gets the file as it is now.
        self.store.evict(&self.uuid);
        lock(&self.store.held).remove(&self.uuid);
    }
}

/// Idle read connections kept per open tenant (more are opened while many read at once).
const READERS: usize = 4;

/// One open tenant database: one connection that writes (the chat hub's, and short admin
/// changes), and read-only connections beside it.
pub struct TenantDb {
    /// The tenant's uuid (also its file name).
    pub uuid: String,
    conn: Mutex<Connection>,
    /// Where readers open from, and with which key (in memory only, as in the writer).
    path: PathBuf,
    key: Key,
    /// Idle readers.
    readers: Mutex<Vec<Connection>>,
}

impl TenantDb {
    /// Runs `f` with the tenant's writing connection (one at a time).
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        f(&mut lock(&self.conn))
    }

    /// Gives back the memory of a tenant that has gone quiet: the writer's page cache and the
    /// idle readers (a reader reopens in about 0.3 ms, the cache refills from the file as
    /// pages are read). On a host with a thousand tenants open for their visits but with
    /// nothing to do, the caches were most of what each cost.
    pub fn release_memory(&self) {
        lock(&self.readers).clear();
        if let Err(e) = lock(&self.conn).release_memory() {
            tracing::warn!(tenant = %self.uuid, error = %e, "releasing a quiet tenant's cache failed");
        }
    }

    /// Runs `f` on a read-only connection beside the writer. Under WAL a long read (a year
    /// of statistics, a history search, an export) sees one consistent state and neither
    /// waits for the chat writer nor holds it up; a write through it fails.
    pub fn read<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let idle = lock(&self.readers).pop();
        let mut conn = match idle {
            Some(c) => c,
            None => {
                let c = connection::open(&self.path, &self.key, Mode::Existing)?;
                c.pragma_update(None, "query_only", true)?;
                c
            }
        };
        let out = f(&mut conn);
        let mut idle = lock(&self.readers);
        if idle.len() < READERS {
            idle.push(conn);
        }
        out
    }
}

/// Locks a mutex, recovering the guard if a panic poisoned it: SQLite state is transactional,
/// so a panicking holder cannot leave a half-applied change behind.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn system_db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("system.db")
}

fn tenants_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("tenants")
}

fn create_private_dir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(format!("setting mode 0700 on {}", path.display()), e))
}

fn read_key(source: &KeySource) -> Result<Key> {
    let path = source.path();
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::MissingKey(path.to_path_buf()));
        }
        Err(e) => {
            return Err(Error::io(
                format!("reading master key {}", path.display()),
                e,
            ));
        }
    };
    Key::from_slice(&bytes).ok_or_else(|| {
        Error::Invalid(format!(
            "master key {} must hold exactly 32 bytes, it holds {}",
            path.display(),
            bytes.len()
        ))
    })
}

impl Store {
    /// Creates the data directory (0700), the master key (0600) and `system.db` where missing.
    /// Never replaces an existing key, and refuses to make a new key for existing data.
    pub fn init(data_dir: &Path) -> Result<InitReport> {
        create_private_dir(data_dir)?;
        create_private_dir(&tenants_dir(data_dir))?;
        let source = KeySource::locate(data_dir);
        let db_path = system_db_path(data_dir);
        let db_exists = db_path.exists();
        let mut created_key = false;
        if !source.path().exists() {
            if db_exists || source != KeySource::File(data_dir.join("master.key")) {
                return Err(Error::MissingKey(source.path().to_path_buf()));
            }
            write_new_key(source.path(), "master key")?;
            created_key = true;
        }
        let key = read_key(&source)?;
        open_system(data_dir, &key, &source, Mode::Create)?;
        Ok(InitReport {
            data_dir: data_dir.to_path_buf(),
            master_key: source.path().to_path_buf(),
            created_key,
            created_system_db: !db_exists,
        })
    }

    /// Opens an initialised data directory. A missing or wrong key is an error naming the
    /// file, and nothing on disk changes in that case.
    pub fn open(data_dir: &Path) -> Result<Store> {
        let db_path = system_db_path(data_dir);
        let source = KeySource::locate(data_dir);
        if !db_path.exists() {
            return Err(Error::NotInitialized(data_dir.to_path_buf()));
        }
        let key = read_key(&source)?;
        let conn = open_system(data_dir, &key, &source, Mode::Existing)?;
        let drained = system::drained_tenants(&conn)?.into_iter().collect();
        Ok(Store {
            data_dir: data_dir.to_path_buf(),
            key_source: source,
            wrap_key: key.derive(TENANT_WRAP_KEY),
            system: Mutex::new(conn),
            tenants: Mutex::new(Default::default()),
            held: Mutex::new(Default::default()),
            drained: Mutex::new(drained),
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where the master key was read from.
    pub fn key_source(&self) -> &KeySource {
        &self.key_source
    }

    /// Runs `f` with the system database connection.
    pub fn system<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        f(&mut lock(&self.system))
    }

    /// The path of a tenant's database file.
    pub fn tenant_path(&self, uuid: &str) -> PathBuf {
        tenants_dir(&self.data_dir).join(format!("{uuid}.db"))
    }

    /// Creates a tenant: a new random key, its database file, then its row with the wrapped key.
    pub fn create_tenant(&self, slug: &str, name: &str) -> Result<TenantRecord> {
        if self.system(|c| system::tenant_by_slug(c, slug))?.is_some() {
            return Err(Error::Conflict(format!("tenant {slug:?} exists already")));
        }
        let uuid = uuid::Uuid::new_v4().to_string();
        let key = Key::generate();
        let path = self.tenant_path(&uuid);
        create_private_dir(&tenants_dir(&self.data_dir))?;
        {
            let mut conn = connection::open(&path, &key, Mode::Create)?;
            migrations::apply(&mut conn, migrations::TENANT)?;
        }
        let wrapped = self.wrap_key.wrap(&key, &uuid);
        let inserted = self.system(|c| system::insert_tenant(c, &uuid, slug, name, &wrapped));
        match inserted {
            Ok(rec) => Ok(rec),
            Err(e) => {
                // Without its row the file can never be opened again; do not leave it behind.
                remove_db_files(&path);
                Err(e)
            }
        }
    }

    /// Creates a tenant from elsewhere (an import): its uuid, slug, name and creation time
    /// as given, the schema at `version`, filled by `fill`, then brought up to date. On any
    /// failure nothing remains.
    pub fn create_tenant_with(
        &self,
        uuid: &str,
        slug: &str,
        name: &str,
        created_at: i64,
        version: usize,
        fill: impl FnOnce(&mut Connection) -> Result<()>,
    ) -> Result<TenantRecord> {
        if self.system(|c| system::tenant_by_slug(c, slug))?.is_some() {
            return Err(Error::Conflict(format!(
                "tenant {slug:?} exists already here; delete it first or import elsewhere"
            )));
        }
        if self.system(|c| system::tenant_by_uuid(c, uuid))?.is_some() {
            return Err(Error::Conflict(format!(
                "a tenant with id {uuid} exists already here"
            )));
        }
        let key = Key::generate();
        let path = self.tenant_path(uuid);
        create_private_dir(&tenants_dir(&self.data_dir))?;
        let built = (|| {
            let mut conn = connection::open(&path, &key, Mode::Create)?;
            migrations::apply(&mut conn, &migrations::TENANT[..version])?;
            fill(&mut conn)?;
            migrations::apply(&mut conn, migrations::TENANT)?;
            audit::seal(&conn)?;
            let wrapped = self.wrap_key.wrap(&key, uuid);
            self.system(|c| {
                system::insert_tenant_with_uuid(c, uuid, slug, name, &wrapped, created_at)
            })
        })();
        if let Err(e) = built {
            remove_db_files(&path);
            return Err(e);
        }
        self.tenant_record(slug)
    }

    /// Looks a tenant up by slug.
    pub fn tenant_record(&self, slug: &str) -> Result<TenantRecord> {
        self.system(|c| system::tenant_by_slug(c, slug))?
            .ok_or_else(|| Error::NotFound(format!("tenant {slug:?}")))
    }

    /// Every tenant, by slug.
    pub fn list_tenants(&self) -> Result<Vec<TenantRecord>> {
        self.system(|c| system::list_tenants(c))
    }

    /// Every tenant served here, by slug: all but those drained for a move away, whose
    /// database nobody here may open (jobs, backups and checks go over these).
    pub fn served_tenants(&self) -> Result<Vec<TenantRecord>> {
        let drained = lock(&self.drained).clone();
        Ok(self
            .list_tenants()?
            .into_iter()
            .filter(|t| !drained.contains(&t.uuid))
            .collect())
    }

    /// Opens (or returns the cached) database of the tenant with this uuid.
    pub fn tenant_db(&self, uuid: &str) -> Result<Arc<TenantDb>> {
        if lock(&self.held).contains(uuid) {
            return Err(Error::Conflict(
                "this tenant's database is being replaced; try again in a few seconds".into(),
            ));
        }
        if lock(&self.drained).contains(uuid) {
            return Err(Error::Moving(uuid.to_string()));
        }
        if let Some(db) = lock(&self.tenants).get(uuid) {
            return Ok(db);
        }
        let db = self.open_tenant(uuid)?;
        let mut cache = lock(&self.tenants);
        // Drained while this opened it: `drain` no longer waits for this copy, so it must not
        // be used (the cache lock orders this check against the drain's).
        if lock(&self.drained).contains(uuid) {
            return Err(Error::Moving(uuid.to_string()));
        }
        // Two callers may race to open; keep whichever got in first.
        Ok(cache.insert(uuid, db))
    }

    /// Whether the tenant is drained for a move (see [`Store::drain`]).
    pub fn is_drained(&self, uuid: &str) -> bool {
        lock(&self.drained).contains(uuid)
    }

    /// Drains a tenant for a move to another host: recorded in `system.db` (a restart keeps
    /// it drained), then nobody opens its database any more, `close` stops its live hub
    /// (its sockets close and reconnect elsewhere), and this waits (up to 15 s) until every
    /// user of the open database has let go, so no write lands after the export that
    /// follows. Draining a drained tenant again just waits again.
    pub fn drain(&self, uuid: &str, close: &mut dyn FnMut(&str)) -> Result<()> {
        self.system(|c| system::set_drained(c, uuid, crate::clock::now()))?;
        let open = {
            // Under the cache lock: an open racing with this either lands in the cache
            // first (and is waited for below) or sees the drain and lets go.
            let mut cache = lock(&self.tenants);
            lock(&self.drained).insert(uuid.to_string());
            cache.remove(uuid).map(|db| Arc::downgrade(&db))
        };
        close(uuid);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while open.as_ref().is_some_and(|w| w.strong_count() > 0) {
            if std::time::Instant::now() > deadline {
                return Err(Error::Conflict(
                    "the tenant is drained, but something still uses its database; run the \
                     command again in a moment"
                        .into(),
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(())
    }

    /// Ends a drain: the tenant is served here again. Whether it was drained.
    pub fn undrain(&self, uuid: &str) -> Result<bool> {
        let was = self.system(|c| system::clear_drained(c, uuid))?;
        lock(&self.drained).remove(uuid);
        Ok(was)
    }

    /// The database of a drained tenant, for the move's export and the deletion that ends
    /// the move: opened apart from the cache (which serves nobody else while drained).
    pub fn drained_db(&self, uuid: &str) -> Result<Arc<TenantDb>> {
        if !self.is_drained(uuid) {
            return Err(Error::Conflict("the tenant is not drained".into()));
        }
        self.open_tenant(uuid)
    }

    /// Opens the tenant's database file (no cache, no drain check).
    fn open_tenant(&self, uuid: &str) -> Result<Arc<TenantDb>> {
        let wrapped = self
            .system(|c| system::wrapped_key(c, uuid))?
            .ok_or_else(|| Error::NotFound("tenant".into()))?;
        let key = self
            .wrap_key
            .unwrap_key(&wrapped, uuid)
            .ok_or_else(|| Error::WrongKey {
                key: self.key_source.path().to_path_buf(),
                db: self.tenant_path(uuid),
            })?;
        let path = self.tenant_path(uuid);
        let opened = match connection::open(&path, &key, Mode::Existing) {
            // A key change stopped half-way with the file already under the new key.
            Err(Error::WrongKey { .. }) => match self.system(|c| rekey::pending(c, uuid))? {
                Some(pending) => {
                    let new = self.wrap_key.unwrap_key(&pending, uuid);
                    match new.map(|k| (connection::open(&path, &k, Mode::Existing), k)) {
                        Some((Ok(conn), k)) => {
                            rekey::promote(self, uuid)?;
                            tracing::info!(tenant = uuid, "finished an interrupted key change");
                            Ok((conn, k))
                        }
                        Some((Err(e), _)) => Err(e),
                        None => Err(Error::WrongKey {
                            key: "(pending)".into(),
                            db: path.clone(),
                        }),
                    }
                }
                None => Err(Error::WrongKey {
                    key: "(key)".into(),
                    db: path.clone(),
                }),
            },
            Ok(conn) => Ok((conn, key)),
            Err(e) => Err(e),
        };
        let (mut conn, key) = opened.map_err(|e| match e {
            Error::WrongKey { .. } => Error::WrongKey {
                key: self.key_source.path().to_path_buf(),
                db: path.clone(),
            },
            other => other,
        })?;
        migrate(&mut conn, migrations::TENANT, &self.data_dir, uuid, &key)?;
        // Entries written before the audit chain existed join it now.
        audit::seal(&conn)?;
        Ok(Arc::new(TenantDb {
            uuid: uuid.to_string(),
            conn: Mutex::new(conn),
            path,
            key,
            readers: Mutex::new(Vec::new()),
        }))
    }

    /// Opens a tenant's database by slug.
    pub fn tenant_db_by_slug(&self, slug: &str) -> Result<(TenantRecord, Arc<TenantDb>)> {
        let rec = self.tenant_record(slug)?;
        let db = self.tenant_db(&rec.uuid)?;
        Ok((rec, db))
    }

    /// Deletes a tenant: first its wrapped key and rows (crypto-shredding, flushed out of the
    /// WAL), then its database file.
    pub fn delete_tenant(&self, slug: &str) -> Result<TenantRecord> {
        let rec = self.tenant_record(slug)?;
        self.system(|c| {
            system::delete_tenant(c, &rec.uuid)?;
            // The old page with the wrapped key must not survive in the WAL file either.
            connection::checkpoint(c)
        })?;
        if let Some(db) = lock(&self.tenants).remove(&rec.uuid) {
            drop(db);
        }
        // Its move row went with it (ON DELETE CASCADE).
        lock(&self.drained).remove(&rec.uuid);
        remove_db_files(&self.tenant_path(&rec.uuid));
        Ok(rec)
    }

    /// A tenant's unwrapped key (for re-keying a restored database).
    pub fn tenant_key(&self, uuid: &str) -> Result<Key> {
        let wrapped = self
            .system(|c| system::wrapped_key(c, uuid))?
            .ok_or_else(|| Error::NotFound("tenant".into()))?;
        self.wrap_key
            .unwrap_key(&wrapped, uuid)
            .ok_or_else(|| Error::WrongKey {
                key: self.key_source.path().to_path_buf(),
                db: self.tenant_path(uuid),
            })
    }

    /// Wraps a tenant key with the master key, bound to the tenant's uuid.
    pub fn wrap(&self, key: &Key, uuid: &str) -> Vec<u8> {
        self.wrap_key.wrap(key, uuid)
    }

    /// Takes a tenant's database out of use before its file is replaced: nobody may open it
    /// until the returned hold is dropped, `close` stops its live hub, and this waits (up to
    /// 15 s) until every user of the open database has let go, so no write can land in the
    /// file being replaced.
    pub fn hold(&self, uuid: &str, close: &mut dyn FnMut(&str)) -> Result<Hold<'_>> {
        if !lock(&self.held).insert(uuid.to_string()) {
            return Err(Error::Conflict(
                "this tenant's database is already being replaced".into(),
            ));
        }
        let hold = Hold {
            store: self,
            uuid: uuid.to_string(),
        };
        close(uuid);
        let open = lock(&self.tenants)
            .remove(uuid)
            .map(|db| Arc::downgrade(&db));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while open.as_ref().is_some_and(|w| w.strong_count() > 0) {
            if std::time::Instant::now() > deadline {
                return Err(Error::Conflict(
                    "this tenant is still busy; try again in a moment".into(),
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(hold)
    }

    /// Forgets a cached tenant database (it closes when the last user drops it).
    pub fn evict(&self, uuid: &str) {
        lock(&self.tenants).remove(uuid);
    }

    /// How many tenant databases are open (cached) now.
    pub fn open_tenants(&self) -> usize {
        lock(&self.tenants).len()
    }

    /// Closes every cached tenant database (checkpointing their WAL on the last close).
    pub fn close_tenants(&self) {
        lock(&self.tenants).clear();
    }

    /// Keeps at most `max` tenant databases open that nobody uses (0: no bound); those in
    /// use (a running hub, a request) stay open whatever the bound.
    pub fn set_max_open_tenants(&self, max: usize) {
        lock(&self.tenants).set_max(max);
    }

    /// Closes the tenant databases nobody has used for `idle` and nobody holds; how many.
    pub fn close_idle_tenants(&self, idle: std::time::Duration) -> usize {
        lock(&self.tenants).close_idle(idle)
    }
}

/// Applies pending migrations; when an existing database is about to change its schema, a
/// copy (same key, so it can be put back as it is) goes to `DATA_DIR/backups/pre-migration/`
/// first.
fn migrate(
    conn: &mut Connection,
    steps: &[&str],
    data_dir: &Path,
    name: &str,
    key: &Key,
) -> Result<()> {
    let current = migrations::version(conn)?;
    if current > 0 && current < steps.len() {
        let dir = data_dir.join("backups").join("pre-migration");
        create_private_dir(&dir)?;
        let dest = dir.join(format!("{name}-v{current}-{}.db", crate::clock::now()));
        snapshot::export(conn, &dest, key)?;
        tracing::info!(database = name, from = current, to = steps.len(), copy = %dest.display(), "migrating; copy taken first");
    }
    migrations::apply(conn, steps)
}

/// Opens `system.db` under the key derived from the master key and brings its schema up to
/// date. A wrong key names the master key's file.
fn open_system(data_dir: &Path, key: &Key, source: &KeySource, mode: Mode) -> Result<Connection> {
    let db_path = system_db_path(data_dir);
    let system_key = key.derive(SYSTEM_DB_KEY);
    let mut conn = connection::open(&db_path, &system_key, mode).map_err(|e| match e {
        Error::WrongKey { .. } => Error::WrongKey {
            key: source.path().to_path_buf(),
            db: db_path.clone(),
        },
        other => other,
    })?;
    migrate(
        &mut conn,
        migrations::SYSTEM,
        data_dir,
        "system",
        &system_key,
    )?;
    Ok(conn)
}

/// Generates a key and writes it to a new file (owner-only, never replacing one); `what`
/// names it in errors ("master key", "backup key").
///
/// The key is written and synced under a temporary name in the same directory, then linked
/// to its name: the file appears whole or not at all. Writing the named file directly left
/// an empty key behind when the process was killed between creating and writing it, and
/// every later use of the key failed.
pub(crate) fn write_new_key(path: &Path, what: &str) -> Result<Key> {
    let key = Key::generate();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let failed = |e| Error::io(format!("writing {what} {}", path.display()), e);
    let tmp = tempfile::Builder::new()
        .prefix(".key-")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(failed)?;
    tmp.as_file()
        .write_all(key.expose())
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(failed)?;
    // A link, unlike a rename, never replaces a key that is there already.
    fs::hard_link(tmp.path(), path)
        .map_err(|e| Error::io(format!("creating {what} {}", path.display()), e))?;
    drop(tmp);
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(key)
}

fn remove_db_files(path: &Path) {
    let _ = fs::remove_file(path);
    remove_side_files(path);
}

/// Removes the `-wal`/`-shm` files an open left next to a database file.
pub(crate) fn remove_side_files(path: &Path) {
    for p in connection::side_files(path) {
        let _ = fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    fn tenant() -> (tempfile::TempDir, Arc<TenantDb>) {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        Store::init(&data).unwrap();
        let store = Store::open(&data).unwrap();
        let t = store.create_tenant("acme", "Acme").unwrap();
        let db = store.tenant_db(&t.uuid).unwrap();
        (dir, db)
    }

    #[test]
    fn a_quiet_tenant_gives_back_its_readers_and_still_reads_and_writes() {
        let (_dir, db) = tenant();
        let count = |c: &mut Connection| -> Result<i64> {
            Ok(c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?)
        };
        let tables = db.read(count).unwrap();
        assert_eq!(lock(&db.readers).len(), 1);
        db.release_memory();
        assert!(lock(&db.readers).is_empty());
        assert_eq!(db.read(count).unwrap(), tables);
        db.with(|c| Ok(c.execute_batch("CREATE TABLE after_release(x)")?))
            .unwrap();
        assert_eq!(db.with(count).unwrap(), tables + 1);
    }

    #[test]
    fn a_new_key_appears_whole_never_replaces_one_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.key");
        let key = write_new_key(&path, "backup key").unwrap();
        assert_eq!(fs::read(&path).unwrap(), key.expose().to_vec());
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(write_new_key(&path, "backup key").is_err());
        assert_eq!(fs::read(&path).unwrap(), key.expose().to_vec());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("backup.key")]);
    }

    #[test]
    fn a_read_does_not_wait_for_the_writer_and_sees_only_committed_data() {
        let (_dir, db) = tenant();
        db.with(|c| {
            c.execute_batch("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1);")?;
            Ok(())
        })
        .unwrap();
        let (holding_tx, holding) = mpsc::channel();
        let (done_tx, done) = mpsc::channel::<i64>();
        let writer = {
            let db = db.clone();
            std::thread::spawn(move || {
                db.with(|c| {
                    // The writer is inside a transaction with an uncommitted row when the
                    // reader runs.
                    let tx = c.transaction()?;
                    tx.execute("INSERT INTO t VALUES (2)", [])?;
                    holding_tx.send(()).unwrap();
                    let seen = done.recv_timeout(Duration::from_secs(10));
                    tx.commit()?;
                    Ok(seen.is_ok())
                })
                .unwrap()
            })
        };
        holding.recv().unwrap();
        let sum: i64 = db
            .read(|c| Ok(c.query_row("SELECT sum(x) FROM t", [], |r| r.get(0))?))
            .unwrap();
        done_tx.send(sum).unwrap();
        assert!(
            writer.join().unwrap(),
            "the read finished while the writer held its lock"
        );
        assert_eq!(sum, 1, "the reader sees committed rows only");
        let after: i64 = db
            .read(|c| Ok(c.query_row("SELECT sum(x) FROM t", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(after, 3);
    }

    #[test]
    fn a_drain_waits_for_users_refuses_new_ones_survives_a_reopen_and_can_be_ended() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        Store::init(&data).unwrap();
        let store = Arc::new(Store::open(&data).unwrap());
        let t = store.create_tenant("acme", "Acme").unwrap();
        let user = store.tenant_db(&t.uuid).unwrap();
        let (tx, rx) = mpsc::channel();
        let drainer = {
            let (store, uuid) = (store.clone(), t.uuid.clone());
            std::thread::spawn(move || {
                let mut closed = Vec::new();
                let r = store.drain(&uuid, &mut |u| closed.push(u.to_string()));
                tx.send(()).unwrap();
                (r, closed)
            })
        };
        // The drain waits while someone still holds the database.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        assert!(matches!(store.tenant_db(&t.uuid), Err(Error::Moving(_))));
        drop(user);
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let (r, closed) = drainer.join().unwrap();
        r.unwrap();
        assert_eq!(
            closed,
            vec![t.uuid.clone()],
            "the live hub was told to stop"
        );
        assert_eq!(store.served_tenants().unwrap().len(), 0);
        // The move's own export still reads it; a new process sees the drain too.
        store.drained_db(&t.uuid).unwrap();
        drop(store);
        let store = Store::open(&data).unwrap();
        assert!(store.is_drained(&t.uuid));
        assert!(matches!(store.tenant_db(&t.uuid), Err(Error::Moving(_))));
        assert!(store.undrain(&t.uuid).unwrap());
        assert!(!store.undrain(&t.uuid).unwrap());
        store.tenant_db(&t.uuid).unwrap();
        assert!(store.drained_db(&t.uuid).is_err());
    }

    #[test]
    fn a_reader_cannot_write() {
        let (_dir, db) = tenant();
        let r = db.read(|c| Ok(c.execute("CREATE TABLE u(x)", [])?));
        assert!(r.is_err());
    }
}
