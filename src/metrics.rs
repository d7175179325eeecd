//! Prometheus metrics: one registry for the process, which every layer records into.
//!
//! This module is a leaf like `config` or `clock`: it imports nothing of the crate, so the
//! hub, the domain, the store and the web handlers may all count here without an arrow
//! pointing up. Counters and histograms are recorded where things happen (sockets, the hub's
//! commits); figures that already live elsewhere (backups, the mail outboxes, open tenants,
//! the process) are read when Prometheus scrapes and handed to [`render`] as a [`Snapshot`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::cell::Cell;
use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;

/// The `kind` label of open sockets.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SocketKind {
    /// `visitor` (the widget) or `agent` (the dashboard).
    pub kind: &'static str,
}

/// The `state` label of chats.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChatState {
    /// `waiting` or `open`.
    pub state: &'static str,
}

/// The `remote` label of off-site copies: the `[[offsite]]` entry's name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Remote {
    /// Its name in the configuration.
    pub remote: String,
}

/// Everything the process exports.
pub struct Metrics {
    registry: Registry,
    /// Open WebSockets by kind.
    pub sockets: Family<SocketKind, Gauge>,
    /// Chats that are waiting or open, over all tenants.
    pub chats: Family<ChatState, Gauge>,
    /// Chat messages committed (visitors' and agents').
    pub messages: Counter,
    /// Page views committed.
    pub page_views: Counter,
    /// Seconds one hub batch took from BEGIN to COMMIT.
    pub commit_seconds: Histogram,
    /// Commands in one hub batch (one transaction).
    pub batch_size: Histogram,
    /// Commands queued for the hubs and not yet taken.
    pub hub_queue: Gauge,
    scraped: Scraped,
}

/// Gauges set from a [`Snapshot`] at each scrape.
struct Scraped {
    tenants_open: Gauge,
    hubs_running: Gauge,
    outbox_queued: Gauge,
    outbox_failed: Gauge,
    outbox_oldest_age: Gauge,
    webhooks_queued: Gauge,
    webhooks_failed: Gauge,
    webhooks_oldest_age: Gauge,
    mail_enabled: Gauge,
    backup_enabled: Gauge,
    backup_age: Gauge,
    backup_ok: Gauge,
    offsite_age: Family<Remote, Gauge>,
    offsite_ok: Family<Remote, Gauge>,
    disk_free: Gauge,
    rss: Gauge,
    open_fds: Gauge,
    up_since: Gauge<f64, AtomicU64>,
}

/// Figures read at scrape time from where they already live.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Tenant databases open now.
    pub tenants_open: u64,
    /// Tenant chat hubs running now.
    pub hubs_running: u64,
    /// Whether mail is configured (the outbox figures are 0 when not).
    pub mail_enabled: bool,
    /// Mails waiting in the outboxes.
    pub outbox_queued: u64,
    /// Mails that failed for good.
    pub outbox_failed: u64,
    /// Age of the oldest waiting mail, seconds (0 when none waits).
    pub outbox_oldest_age_secs: i64,
    /// Webhook deliveries waiting.
    pub webhooks_queued: u64,
    /// Webhook deliveries given up.
    pub webhooks_failed: u64,
    /// Age of the oldest waiting webhook delivery, seconds (0 when none waits).
    pub webhooks_oldest_age_secs: i64,
    /// Whether scheduled backups run.
    pub backup_enabled: bool,
    /// Seconds since the last good scheduled backup; `None`: none yet.
    pub backup_age_secs: Option<i64>,
    /// Whether the latest scheduled backup attempt succeeded.
    pub backup_ok: bool,
    /// Each off-site remote: its name, seconds since its last good copy (`None`: none yet),
    /// and whether its latest attempt succeeded.
    pub offsite: Vec<(String, Option<i64>, bool)>,
    /// Free bytes on the data directory's file system.
    pub disk_free_bytes: Option<u64>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let sockets = Family::<SocketKind, Gauge>::default();
        registry.register(
            "kontor_open_sockets",
            "Open WebSockets by kind",
            sockets.clone(),
        );
        let chats = Family::<ChatState, Gauge>::default();
        registry.register("kontor_chats", "Chats waiting or open", chats.clone());
        let messages = Counter::default();
        registry.register("kontor_messages", "Chat messages stored", messages.clone());
        let page_views = Counter::default();
        registry.register("kontor_page_views", "Page views stored", page_views.clone());
        // 0.25 ms … 4 s: an fsync on a good disk to a stalled one.
        let commit_seconds = Histogram::new(exponential_buckets(0.00025, 2.0, 15));
        registry.register(
            "kontor_commit_duration_seconds",
            "Time of one hub batch transaction, BEGIN to COMMIT",
            commit_seconds.clone(),
        );
        // 1 … 512 (the hub's largest batch).
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register(
            "kontor_batch_size",
            "Commands in one hub batch",
            batch_size.clone(),
        );
        let hub_queue = Gauge::default();
        registry.register(
            "kontor_hub_queue_depth",
            "Commands queued for the hubs, not yet taken",
            hub_queue.clone(),
        );
        // Every series exists from the start, at 0, so rates and alerts see it before it moves.
        for kind in ["visitor", "agent"] {
            let _ = sockets.get_or_create(&SocketKind { kind });
        }
        for state in ["waiting", "open"] {
            let _ = chats.get_or_create(&ChatState { state });
        }
        let scraped = Scraped::register(&mut registry);
        Metrics {
            registry,
            sockets,
            chats,
            messages,
            page_views,
            commit_seconds,
            batch_size,
            hub_queue,
            scraped,
        }
    }
}

impl Scraped {
    /// The gauges read at scrape time, registered.
    fn register(registry: &mut Registry) -> Scraped {
        let scraped = Scraped {
            tenants_open: Gauge::default(),
            hubs_running: Gauge::default(),
            outbox_queued: Gauge::default(),
            outbox_failed: Gauge::default(),
            outbox_oldest_age: Gauge::default(),
            webhooks_queued: Gauge::default(),
            webhooks_failed: Gauge::default(),
            webhooks_oldest_age: Gauge::default(),
            mail_enabled: Gauge::default(),
            backup_enabled: Gauge::default(),
            backup_age: Gauge::default(),
            backup_ok: Gauge::default(),
            offsite_age: Family::default(),
            offsite_ok: Family::default(),
            disk_free: Gauge::default(),
            rss: Gauge::default(),
            open_fds: Gauge::default(),
            up_since: Gauge::default(),
        };
        let s = &scraped;
        for (name, help, g) in [
            (
                "kontor_tenants_open",
                "Tenant databases open",
                &s.tenants_open,
            ),
            (
                "kontor_hubs_running",
                "Tenant chat hubs running",
                &s.hubs_running,
            ),
            (
                "kontor_mail_enabled",
                "1 when mail is configured",
                &s.mail_enabled,
            ),
            (
                "kontor_outbox_queued",
                "Mails waiting in the outboxes",
                &s.outbox_queued,
            ),
            (
                "kontor_outbox_failed",
                "Mails that failed for good",
                &s.outbox_failed,
            ),
            (
                "kontor_outbox_oldest_age_seconds",
                "Age of the oldest waiting mail (0: none waits)",
                &s.outbox_oldest_age,
            ),
            (
                "kontor_webhooks_queued",
                "Webhook deliveries waiting",
                &s.webhooks_queued,
            ),
            (
                "kontor_webhooks_failed",
                "Webhook deliveries given up",
                &s.webhooks_failed,
            ),
            (
                "kontor_webhooks_oldest_age_seconds",
                "Age of the oldest waiting webhook delivery (0: none waits)",
                &s.webhooks_oldest_age,
            ),
            (
                "kontor_backup_enabled",
                "1 when scheduled backups run",
                &s.backup_enabled,
            ),
            (
                "kontor_backup_last_success_age_seconds",
                "Seconds since the last good scheduled backup (-1: none yet)",
                &s.backup_age,
            ),
            (
                "kontor_backup_last_ok",
                "1 when the latest scheduled backup attempt succeeded",
                &s.backup_ok,
            ),
            (
                "kontor_data_dir_free_bytes",
                "Free bytes on the data directory's file system",
                &s.disk_free,
            ),
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                &s.rss,
            ),
            ("process_open_fds", "Open file descriptors", &s.open_fds),
        ] {
            registry.register(name, help, g.clone());
        }
        registry.register(
            "kontor_offsite_last_success_age_seconds",
            "Seconds since the last verified off-site copy, by remote (-1: none yet)",
            s.offsite_age.clone(),
        );
        registry.register(
            "kontor_offsite_last_ok",
            "1 when the latest off-site copy to the remote succeeded",
            s.offsite_ok.clone(),
        );
        registry.register(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, seconds",
            s.up_since.clone(),
        );
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        s.up_since.set(started);
        scraped
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

/// Counts an open socket of `kind` until the returned guard is dropped.
pub fn socket_opened(kind: &'static str) -> SocketGuard {
    get().sockets.get_or_create(&SocketKind { kind }).inc();
    SocketGuard(kind)
}

/// Holds one open socket in `kontor_open_sockets`.
pub struct SocketGuard(&'static str);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        get()
            .sockets
            .get_or_create(&SocketKind { kind: self.0 })
            .dec();
    }
}

/// Moves the waiting and open chat gauges by one hub's change since it last reported.
pub fn chats_changed(waiting: i64, open: i64) {
    let m = get();
    if waiting != 0 {
        m.chats
            .get_or_create(&ChatState { state: "waiting" })
            .inc_by(waiting);
    }
    if open != 0 {
        m.chats
            .get_or_create(&ChatState { state: "open" })
            .inc_by(open);
    }
}

thread_local! {
    /// Rows written in the running transaction on this thread: messages, page views.
    static STAGED: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// A message row was written in this thread's running transaction; it counts once
/// [`commit_staged`] says the transaction committed.
pub fn stage_message() {
    STAGED.with(|s| s.set((s.get().0 + 1, s.get().1)));
}

/// A page view row was written in this thread's running transaction.
pub fn stage_page_view() {
    STAGED.with(|s| s.set((s.get().0, s.get().1 + 1)));
}

/// The running transaction ended: its staged rows count if it committed.
pub fn commit_staged(committed: bool) {
    let (messages, views) = STAGED.with(|s| s.replace((0, 0)));
    if committed {
        get().messages.inc_by(messages);
        get().page_views.inc_by(views);
    }
}

/// The text exposition of every metric, with the scrape-time figures of `s` and the process's.
pub fn render(s: &Snapshot) -> String {
    let m = get();
    let g = &m.scraped;
    g.tenants_open.set(clamp(s.tenants_open));
    g.hubs_running.set(clamp(s.hubs_running));
    g.mail_enabled.set(s.mail_enabled as i64);
    g.outbox_queued.set(clamp(s.outbox_queued));
    g.outbox_failed.set(clamp(s.outbox_failed));
    g.outbox_oldest_age.set(s.outbox_oldest_age_secs.max(0));
    g.webhooks_queued.set(clamp(s.webhooks_queued));
    g.webhooks_failed.set(clamp(s.webhooks_failed));
    g.webhooks_oldest_age.set(s.webhooks_oldest_age_secs.max(0));
    g.backup_enabled.set(s.backup_enabled as i64);
    g.backup_age.set(s.backup_age_secs.map_or(-1, |a| a.max(0)));
    g.backup_ok.set(s.backup_ok as i64);
    for (name, age, ok) in &s.offsite {
        let remote = Remote {
            remote: name.clone(),
        };
        g.offsite_age
            .get_or_create(&remote)
            .set(age.map_or(-1, |a| a.max(0)));
        g.offsite_ok.get_or_create(&remote).set(*ok as i64);
    }
    g.disk_free.set(s.disk_free_bytes.map_or(-1, clamp));
    let p = process();
    g.rss.set(clamp(p.rss_bytes));
    g.open_fds.set(clamp(p.open_fds));
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &m.registry);
    out
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// What /proc says about this process.
#[derive(Debug, Default, Clone, Copy)]
pub struct Process {
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
}

/// Resident memory (from `/proc/self/statm`) and open descriptors (entries of
/// `/proc/self/fd`); zeros where /proc is not mounted.
pub fn process() -> Process {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    let open_fds = std::fs::read_dir("/proc/self/fd")
        // The directory handle read_dir holds is one of them.
        .map(|d| (d.count() as u64).saturating_sub(1))
        .unwrap_or(0);
    Process {
        rss_bytes: pages * rustix::param::page_size() as u64,
        open_fds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_rows_count_only_after_commit() {
        let before = get().messages.get();
        stage_message();
        stage_message();
        commit_staged(false);
        assert_eq!(get().messages.get(), before);
        stage_message();
        stage_page_view();
        commit_staged(true);
        assert!(get().messages.get() > before);
    }

    #[test]
    fn render_has_every_family_and_process_figures() {
        let _open = socket_opened("visitor");
        let text = render(&Snapshot {
            backup_age_secs: Some(42),
            ..Default::default()
        });
        for name in [
            "kontor_open_sockets{kind=\"visitor\"}",
            "kontor_messages_total",
            "kontor_page_views_total",
            "kontor_commit_duration_seconds_bucket",
            "kontor_batch_size_bucket",
            "kontor_hub_queue_depth",
            "kontor_outbox_oldest_age_seconds",
            "kontor_backup_last_success_age_seconds 42",
            "kontor_tenants_open",
            "kontor_hubs_running",
            "process_resident_memory_bytes",
            "process_open_fds",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
        let p = process();
        assert!(p.rss_bytes > 0 && p.open_fds > 0, "{p:?}");
    }
}
