//! Scheduled work. Statistics: every few minutes, each tenant's settled days are aggregated
//! (`store::aggregates`). Retention: once a day, expired data is purged (`store::retention`).
//! Backups: a daily archive at the configured time (UTC) and a weekly one on the
//! configured day, each verified after it is written, older ones rotated away. Archive names
//! carry the day or week, so a restart never repeats or skips one. Off-site: after each backup
//! (and at start) every `[[offsite]]` remote is brought up to date, a failed copy retried with
//! backoff (`store::backup::offsite`). The jobs read the server's
//! [`Clock`] (and wait on it), so tests drive days and weeks by moving it.

use crate::clock::{Clock, rfc3339};
use crate::config::{BackupConfig, OffsiteConfig};
use crate::crypto::Key;
use crate::domain::email::Mail;
use crate::error::{Error, Result};
use crate::store::{Store, backup, backup::offsite};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use time::OffsetDateTime;

/// What `/healthz` reports about backups.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Status {
    /// When the last scheduled backup was written and verified (RFC 3339).
    pub last_good: Option<String>,
    /// The last failure, if the latest attempt failed.
    pub last_error: Option<String>,
}

/// Shared between the scheduler and `/healthz`.
#[derive(Default)]
pub struct Tracker(Mutex<Status>);

impl Tracker {
    /// The current status.
    pub fn status(&self) -> Status {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, f: impl FnOnce(&mut Status)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

fn daily_name(now: OffsetDateTime) -> String {
    let d = now.date();
    format!(
        "kontor-daily-{}-{:02}-{:02}.tar",
        d.year(),
        d.month() as u8,
        d.day()
    )
}

fn weekly_name(now: OffsetDateTime) -> String {
    let (year, week, _) = now.date().to_iso_week_date();
    format!("kontor-weekly-{year}-W{week:02}.tar")
}

/// Takes whatever backup is due at `now`; returns the archives written. Call it every minute
/// or so; it does nothing when nothing is due.
pub fn tick(
    store: &Store,
    key: &Key,
    cfg: &BackupConfig,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<Vec<PathBuf>> {
    let (h, m) = cfg.daily_time()?;
    let due_today = (now.hour(), now.minute()) >= (h, m);
    let mut written = Vec::new();
    if !due_today {
        return Ok(written);
    }
    let daily = dir.join(daily_name(now));
    if !daily.exists() {
        written.push(take(store, key, dir, &daily, now.unix_timestamp())?);
        rotate(dir, "kontor-daily-", cfg.keep_daily)?;
    }
    let weekly = dir.join(weekly_name(now));
    if now.weekday() == cfg.weekday()? && !weekly.exists() {
        // The weekly archive is today's daily one, kept longer.
        fs::copy(&daily, &weekly).map_err(|e| Error::io("writing the weekly archive", e))?;
        verify(key, &weekly)?;
        written.push(weekly);
        rotate(dir, "kontor-weekly-", cfg.keep_weekly)?;
    }
    Ok(written)
}

/// Writes one archive, begun at `at`, under `dest`'s name and verifies it before it counts.
fn take(store: &Store, key: &Key, dir: &Path, dest: &Path, at: i64) -> Result<PathBuf> {
    let created = backup::create(store, key, None, dir, at, &mut |line| {
        tracing::info!("scheduled backup: {line}");
    })?;
    if let Err(e) = verify(key, &created.file) {
        let _ = fs::remove_file(&created.file);
        return Err(e);
    }
    fs::rename(&created.file, dest).map_err(|e| Error::io("naming the archive", e))?;
    Ok(dest.to_path_buf())
}

fn verify(key: &Key, file: &Path) -> Result<()> {
    let work = file.parent().unwrap_or(Path::new("."));
    backup::check(file, key, work).map(|_| ())
}

/// Keeps the `keep` newest archives whose names start with `prefix` (names sort by date).
fn rotate(dir: &Path, prefix: &str, keep: usize) -> Result<()> {
    let names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".tar"))
        .collect();
    for old in offsite::beyond_keep(&names, prefix, keep) {
        fs::remove_file(dir.join(&old)).map_err(|e| Error::io(format!("removing {old}"), e))?;
    }
    Ok(())
}

/// Lets shutdown wait for a job's step in progress (a backup being written and verified, a
/// purge) instead of cutting it off at exit, which would leave its working files behind.
#[derive(Debug, Clone, Default)]
pub struct Gate(std::sync::Arc<std::sync::Mutex<bool>>);

impl Gate {
    /// Runs one step of a job, unless the server is stopping (`None`).
    pub fn step<T>(&self, f: impl FnOnce() -> T) -> Option<T> {
        let closed = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if *closed { None } else { Some(f()) }
    }

    /// Waits for a step in progress to end; no step starts after this.
    pub fn close(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
    }
}

/// What the backup scheduler writes, where, and under which key.
pub struct Plan {
    /// `[backup]`.
    pub cfg: BackupConfig,
    /// The archive directory.
    pub dir: PathBuf,
    /// The backup key file.
    pub key_path: PathBuf,
    /// `[[offsite]]`: where every archive is copied to.
    pub offsite: Vec<OffsiteConfig>,
    /// The data directory (it keeps the off-site copies' status).
    pub data_dir: PathBuf,
}

/// Failed off-site attempts in a row before the operator is alerted (a passing network
/// glitch is retried without a mail).
const OFFSITE_ALERT_AFTER: u32 = 3;

/// Brings the remotes that are due up to date (`offsite::sync`): with `everyone` (an archive
/// was just written, or this is the first pass) all of them, else those whose retry time has
/// come. A failure is recorded with its next try (backing off), and alerted once it repeats.
fn offsite_pass(
    store: &std::sync::Weak<Store>,
    plan: &Plan,
    gate: &Gate,
    mail: Option<&Mail>,
    everyone: bool,
    now: i64,
) {
    let states = offsite::status::load(&plan.data_dir);
    for remote in &plan.offsite {
        let state = states.get(&remote.name).cloned().unwrap_or_default();
        if !everyone && state.next_try_at.is_none_or(|t| now < t) {
            continue;
        }
        let keep = (plan.cfg.keep_daily, plan.cfg.keep_weekly);
        let step = gate.step(|| {
            store.upgrade()?;
            Some(backup::backup_key(&plan.key_path, true).and_then(|key| {
                offsite::sync(remote, &key, &plan.dir, keep, &mut |line| {
                    tracing::info!("off-site copy: {line}");
                })
            }))
        });
        let Some(Some(result)) = step else { return };
        let recorded = match result {
            Ok(synced) => {
                for p in &synced.copied {
                    tracing::info!(remote = %remote.name, archive = %p.archive, bytes = p.bytes, "off-site copy made and read back");
                }
                for r in &synced.removed {
                    tracing::info!(remote = %remote.name, archive = %r, "off-site archive rotated away");
                }
                match synced.copied.first() {
                    Some(newest) => offsite::status::succeeded(
                        &plan.data_dir,
                        &remote.name,
                        Some(&newest.archive),
                        now,
                    ),
                    None => offsite::status::update(&plan.data_dir, &remote.name, |s| {
                        s.failures = 0;
                        s.last_error = None;
                        s.next_try_at = None;
                    }),
                }
            }
            Err(e) => {
                tracing::error!(remote = %remote.name, error = %e, "off-site copy failed");
                let s = offsite::status::failed(&plan.data_dir, &remote.name, &e.to_string(), now);
                if let Ok(s) = &s
                    && s.failures >= OFFSITE_ALERT_AFTER
                {
                    let detail = format!(
                        "{} ({}): {} attempts in a row failed; the last said: {e}",
                        remote.name,
                        remote.location(),
                        s.failures
                    );
                    alert(store, mail, "offsite", &detail, now);
                }
                s
            }
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, "recording the off-site copy's status failed");
        }
    }
}

/// The scheduler loop inside `serve`: checks once a minute until the store is gone or the
/// server stops. It holds the store only while it works, so shutdown can close every database.
/// A failed backup is an operator alert (by mail, when configured).
pub fn run(
    store: std::sync::Weak<Store>,
    plan: Plan,
    tracker: std::sync::Arc<Tracker>,
    clock: Clock,
    gate: Gate,
    mail: Option<std::sync::Arc<Mail>>,
) {
    let mut first = true;
    // Until the first run here, the newest scheduled archive on disk is the last good one.
    let newest = fs::read_dir(&plan.dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("kontor-daily-"))
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max();
    if let Some(t) = newest
        && let Ok(d) = t.duration_since(std::time::UNIX_EPOCH)
    {
        tracker.set(|s| s.last_good = Some(rfc3339(d.as_secs() as i64)));
    }
    loop {
        let now = clock.now_utc();
        let step = gate.step(|| {
            let store = store.upgrade()?;
            Some(
                backup::backup_key(&plan.key_path, true)
                    .and_then(|key| tick(&store, &key, &plan.cfg, &plan.dir, now)),
            )
        });
        let Some(Some(result)) = step else {
            return;
        };
        let wrote = matches!(&result, Ok(files) if !files.is_empty());
        match result {
            Ok(files) if !files.is_empty() => {
                for f in &files {
                    tracing::info!(file = %f.display(), "scheduled backup written and verified");
                }
                tracker.set(|s| {
                    s.last_good = Some(rfc3339(now.unix_timestamp()));
                    s.last_error = None;
                });
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "scheduled backup failed");
                tracker.set(|s| s.last_error = Some(e.to_string()));
                alert(
                    &store,
                    mail.as_deref(),
                    "backup",
                    &e.to_string(),
                    now.unix_timestamp(),
                );
            }
        }
        offsite_pass(
            &store,
            &plan,
            &gate,
            mail.as_deref(),
            wrote || first,
            now.unix_timestamp(),
        );
        first = false;
        clock.sleep(std::time::Duration::from_secs(60));
    }
}

/// How often the statistics job looks for newly settled days.
const AGGREGATE_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs `step` on every tenant's database, again while it answers `Ok(true)`. The store is
/// held only for one step, so shutdown is never kept waiting; a failure is logged and ends
/// that tenant's turn.
fn each_tenant(
    store: &std::sync::Weak<Store>,
    what: &str,
    mut step: impl FnMut(&crate::store::system::TenantRecord, &crate::store::TenantDb) -> Result<bool>,
) {
    let tenants = match store.upgrade().map(|s| s.served_tenants()) {
        None => return,
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            tracing::error!(error = %e, "{what}: listing tenants failed");
            return;
        }
    };
    for t in tenants {
        loop {
            let Some(store) = store.upgrade() else {
                return;
            };
            match store.tenant_db(&t.uuid).and_then(|db| step(&t, &db)) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    tracing::error!(tenant = %t.slug, error = %e, "{what} failed");
                    break;
                }
            }
        }
    }
}

/// Aggregates every tenant's settled days, one day per step; returns the days done.
pub fn aggregate_all(store: &std::sync::Weak<Store>, now: i64) -> usize {
    let mut done = 0;
    each_tenant(store, "statistics aggregation", |_, db| {
        let day = db.with(|c| crate::store::aggregates::refresh_one(c, now))?;
        done += usize::from(day.is_some());
        Ok(day.is_some())
    });
    done
}

/// Purges every tenant's expired data (`store::retention`); returns how many tenants had some.
pub fn purge_all(store: &std::sync::Weak<Store>, now: i64) -> usize {
    let mut purged = 0;
    each_tenant(store, "retention purge", |t, db| {
        let p = db.with(|c| crate::store::retention::purge(c, now))?;
        if !p.is_empty() {
            purged += 1;
            tracing::info!(tenant = %t.slug, deleted = %p.summary(), "retention purge");
        }
        Ok(false)
    });
    purged
}

/// Queues an operator alert (at most one a day for the same problem; nothing without email or
/// an operator address).
fn alert(store: &std::sync::Weak<Store>, mail: Option<&Mail>, what: &str, detail: &str, now: i64) {
    let (Some(mail), Some(store)) = (mail, store.upgrade()) else {
        return;
    };
    match store.system(|c| crate::domain::email::events::operator_alert(c, mail, what, detail, now))
    {
        Ok(true) => mail.wake(crate::domain::email::Box::System),
        Ok(false) => {}
        Err(e) => tracing::error!(error = %e, "queueing the operator alert failed"),
    }
}

/// The daily checks whose failure the operator hears of by mail: every tenant's integrity,
/// and the free space on the data directory's disk.
fn daily_checks(store: &std::sync::Weak<Store>, mail: Option<&Mail>, now: i64) {
    let Some(s) = store.upgrade() else { return };
    let mut damaged = Vec::new();
    if let Ok(tenants) = s.served_tenants() {
        for t in tenants {
            let c = crate::doctor::tenant_check(&s, &t.uuid, &t.slug);
            if !c.ok {
                tracing::error!(tenant = %t.slug, detail = %c.detail, "integrity check failed");
                damaged.push(format!("{}: {}", c.what, c.detail));
            }
        }
    }
    let disk = crate::doctor::disk_check(s.data_dir());
    drop(s);
    if !damaged.is_empty() {
        alert(store, mail, "integrity", &damaged.join("\n"), now);
    }
    if !disk.ok {
        tracing::warn!(detail = %disk.detail, "disk almost full");
        alert(store, mail, "disk", &disk.detail, now);
    }
}

/// The maintenance job inside `serve`: statistics at start and every few minutes, the
/// retention purge and the daily checks at start and then once a day, until the store is gone.
pub fn maintain(
    store: std::sync::Weak<Store>,
    clock: Clock,
    gate: Gate,
    mail: Option<std::sync::Arc<Mail>>,
) {
    let mut purged_day = None;
    while store.strong_count() > 0 {
        let stepped = gate.step(|| {
            let now = clock.now();
            let days = aggregate_all(&store, now);
            if days > 0 {
                tracing::info!(days, "statistics aggregated");
            }
            let today = now.div_euclid(86_400);
            if purged_day != Some(today) {
                purge_all(&store, now);
                daily_checks(&store, mail.as_deref(), now);
                purged_day = Some(today);
            }
        });
        if stepped.is_none() {
            return;
        }
        clock.sleep(AGGREGATE_EVERY);
    }
}
