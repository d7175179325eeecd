//! Recording reads without slowing anyone down: handlers hand their read events to one writer
//! thread, which stores them per tenant in one transaction about once a second (or when many
//! have gathered). A read is never refused for its log; at shutdown what is gathered is
//! written before the server exits. A crash may lose the last second of reads (see
//! `docs/data-protection.md`, "Read logging").

use crate::model::queue_bound::QueueBound;
use crate::store::Store;
use crate::store::read_log::{ReadEvent, insert_all};
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a read waits at most before it is written.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Written at once when this many are waiting.
const FLUSH_AT: usize = 500;
/// Reads waiting at most; beyond, new ones are dropped and counted in the log.
const QUEUE: usize = 20_000;

/// The writer's handle.
pub struct ReadLog {
    tx: Mutex<Option<Sender<(String, ReadEvent)>>>,
    /// Reads sent and not yet taken by the writer.
    queued: Arc<QueueBound>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl ReadLog {
    /// Starts the writer thread.
    pub fn start(store: Arc<Store>) -> Arc<ReadLog> {
        let (tx, rx) = std::sync::mpsc::channel();
        let queued = Arc::new(QueueBound::default());
        let taken = queued.clone();
        let thread = std::thread::Builder::new()
            .name("read-log".into())
            .spawn(move || run(&store, rx, &taken))
            .expect("spawning the read-log thread");
        Arc::new(ReadLog {
            tx: Mutex::new(Some(tx)),
            queued,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Records a read of a tenant's data (never blocks).
    pub fn record(&self, tenant_uuid: &str, event: ReadEvent) {
        let guard = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let Some(tx) = guard.as_ref() else { return };
        if !self.queued.enqueue(QUEUE) {
            tracing::error!(tenant = %tenant_uuid, "read log queue full: a read went unrecorded");
            return;
        }
        if tx.send((tenant_uuid.to_string(), event)).is_err() {
            self.queued.dequeued(1);
        }
    }

    /// Writes what is gathered and stops the thread (at shutdown).
    pub fn stop(&self) {
        drop(self.tx.lock().unwrap_or_else(|e| e.into_inner()).take());
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

fn run(store: &Store, rx: Receiver<(String, ReadEvent)>, queued: &QueueBound) {
    let mut gathered: BTreeMap<String, Vec<ReadEvent>> = BTreeMap::new();
    let (mut count, mut due) = (0usize, Instant::now() + FLUSH_EVERY);
    loop {
        let wait = due.saturating_duration_since(Instant::now());
        let stopped = match rx.recv_timeout(wait) {
            Ok((tenant, ev)) => {
                queued.dequeued(1);
                gathered.entry(tenant).or_default().push(ev);
                count += 1;
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        if stopped || count >= FLUSH_AT || Instant::now() >= due {
            write(store, std::mem::take(&mut gathered));
            (count, due) = (0, Instant::now() + FLUSH_EVERY);
        }
        if stopped {
            return;
        }
    }
}

/// One transaction per tenant; a tenant that cannot be written (deleted meanwhile) is logged.
fn write(store: &Store, gathered: BTreeMap<String, Vec<ReadEvent>>) {
    for (tenant, events) in gathered {
        let result = store.tenant_db(&tenant).and_then(|db| {
            db.with(|c| {
                let tx = c.transaction()?;
                insert_all(&tx, &events)?;
                tx.commit()?;
                Ok(())
            })
        });
        if let Err(e) = result {
            tracing::error!(tenant = %tenant, reads = events.len(), error = %e, "read log not written");
        }
    }
}
