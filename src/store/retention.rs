//! Retention: how long each kind of personal data is kept, per tenant, and the purge that
//! deletes what has expired. The database runs with `secure_delete`, so deleted rows are
//! overwritten in the file, and the purge ends with a WAL checkpoint that truncates the log,
//! so no old copy of a page stays behind. Statistics aggregates hold no personal data of
//! visitors and stay; raw visits and agents' presence are only purged once their days are
//! aggregated.

use super::chat::{set_setting, setting};
use crate::error::{Error, Result};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

/// Days each kind of data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Ended chats with their messages, notes and transcripts.
    pub chats_days: u32,
    /// Files sent in chats.
    pub files_days: u32,
    /// Offline messages.
    pub offline_days: u32,
    /// Raw visits and page views (with address, browser, referrer, goals).
    pub page_views_days: u32,
    /// Visitor records (the recognition of a returning consented visitor).
    pub visitors_days: u32,
    /// The audit trail.
    pub audit_days: u32,
    /// The read log (who read which chat, visitor, file or export).
    #[serde(default = "default_reads_days")]
    pub reads_days: u32,
    /// Agents' presence (when they were signed in, online, away): the raw data of the
    /// work-time statistics, whose daily figures stay.
    #[serde(default = "default_presence_days")]
    pub presence_days: u32,
}

fn default_reads_days() -> u32 {
    Retention::default().reads_days
}

fn default_presence_days() -> u32 {
    Retention::default().presence_days
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            chats_days: 365,
            files_days: 90,
            offline_days: 180,
            page_views_days: 90,
            visitors_days: 180,
            audit_days: 730,
            reads_days: 365,
            presence_days: 90,
        }
    }
}

/// The longest period we accept (ten years).
pub const MAX_DAYS: u32 = 3650;

impl Retention {
    fn fields(&mut self) -> [(&'static str, &mut u32); 8] {
        [
            ("chats_days", &mut self.chats_days),
            ("files_days", &mut self.files_days),
            ("offline_days", &mut self.offline_days),
            ("page_views_days", &mut self.page_views_days),
            ("visitors_days", &mut self.visitors_days),
            ("audit_days", &mut self.audit_days),
            ("reads_days", &mut self.reads_days),
            ("presence_days", &mut self.presence_days),
        ]
    }

    /// Checks every period is 1 to 3650 days.
    pub fn check(mut self) -> Result<Retention> {
        for (name, v) in self.fields() {
            if !(1..=MAX_DAYS).contains(v) {
                return Err(Error::Invalid(format!("{name}: 1 to {MAX_DAYS} days")));
            }
        }
        Ok(self)
    }
}

/// The tenant's periods (defaults where none was set).
pub fn get(c: &Connection) -> Result<Retention> {
    let mut r = Retention::default();
    for (name, v) in r.fields() {
        if let Some(s) = setting(c, &format!("retention.{name}"))?
            && let Ok(n) = s.parse()
        {
            *v = n;
        }
    }
    Ok(r)
}

/// Stores checked periods.
pub fn set(c: &Connection, r: Retention) -> Result<Retention> {
    let mut r = r.check()?;
    for (name, v) in r.fields() {
        set_setting(c, &format!("retention.{name}"), &v.to_string())?;
    }
    Ok(r)
}

/// What one purge deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    /// Ended chats.
    pub conversations: u64,
    /// Their messages.
    pub messages: u64,
    /// Files (with the chats, or on their own).
    pub files: u64,
    /// Offline messages.
    pub offline_messages: u64,
    /// Visits (with their page views, goals and invitations).
    pub visits: u64,
    /// Page views.
    pub page_views: u64,
    /// Visitor records.
    pub visitors: u64,
    /// Audit entries.
    pub audit_entries: u64,
    /// Read-log entries.
    #[serde(default)]
    pub reads: u64,
    /// Agents' presence rows (work time).
    #[serde(default)]
    pub presence: u64,
    /// Visitor blocks that ended (expired or lifted) longer ago than the visitor period.
    pub blocks: u64,
    /// Delivered and failed mails (they quote chats and offline messages, so they are kept
    /// no longer than the shorter of those two periods).
    pub mails: u64,
    /// Team chat messages (agents among themselves), kept as long as chats.
    #[serde(default)]
    pub team_messages: u64,
}

impl Purged {
    /// Whether nothing was deleted.
    pub fn is_empty(&self) -> bool {
        *self == Purged::default()
    }

    /// `conversations=2 messages=9 …` for the audit trail and the log (counts only).
    pub fn summary(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or_default();
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, n)| format!("{k}={n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }
}

fn cutoff(now: i64, days: u32) -> i64 {
    now - i64::from(days) * 86_400
}

fn count(c: &Connection, sql: &str, at: i64) -> Result<u64> {
    Ok(c.query_row(sql, [at], |r| r.get::<_, i64>(0))?.max(0) as u64)
}

/// Deletes everything older than its period at `now`, in one transaction, then truncates the
/// write-ahead log. Raw visits of days the statistics job has not aggregated stay.
pub fn purge(c: &mut Connection, now: i64) -> Result<Purged> {
    let r = get(c)?;
    let mut p = Purged::default();
    let tx = c.transaction()?;
    {
        let chats = cutoff(now, r.chats_days);
        // Rows under a restriction of processing (Art. 18) stay until it is lifted.
        const OLD_CHATS: &str = "SELECT id FROM conversations WHERE status = 'closed'
                                 AND coalesce(closed_at, created_at) < ?1
                                 AND id NOT IN (SELECT row_id FROM restricted_rows
                                                WHERE kind = 'conversation')";
        p.messages = count(
            &tx,
            &format!("SELECT count(*) FROM messages WHERE conversation_id IN ({OLD_CHATS})"),
            chats,
        )?;
        p.files = count(
            &tx,
            &format!("SELECT count(*) FROM files WHERE conversation_id IN ({OLD_CHATS})"),
            chats,
        )?;
        p.conversations = tx.execute(
            &format!("DELETE FROM conversations WHERE id IN ({OLD_CHATS})"),
            [chats],
        )? as u64;
        p.files += tx.execute(
            "DELETE FROM files WHERE created_at < ?1
             AND conversation_id NOT IN (SELECT row_id FROM restricted_rows
                                         WHERE kind = 'conversation')",
            [cutoff(now, r.files_days)],
        )? as u64;
        p.offline_messages = tx.execute(
            "DELETE FROM offline_messages WHERE created_at < ?1
             AND id NOT IN (SELECT row_id FROM restricted_rows WHERE kind = 'offline')",
            [cutoff(now, r.offline_days)],
        )? as u64;
        p.team_messages = super::team::purge(&tx, chats)? as u64;
        p.blocks = crate::store::blocks::purge_ended(&tx, cutoff(now, r.visitors_days))? as u64;
        p.mails =
            crate::store::outbox::purge_done(&tx, cutoff(now, r.offline_days.min(r.chats_days)))?
                as u64;
        // Webhook deliveries carry chat text: they go with the mails.
        p.mails +=
            crate::store::webhooks::purge_done(&tx, cutoff(now, r.offline_days.min(r.chats_days)))?
                as u64;
        // Aggregates first: never delete raw events the statistics still need.
        let aggregated = super::aggregates::aggregated_through(&tx)?.unwrap_or(i64::MIN);
        let views = cutoff(now, r.page_views_days).min(aggregated);
        const OLD_VISITS: &str = "SELECT id FROM visits WHERE last_seen < ?1
                                  AND visitor_id NOT IN (SELECT row_id FROM restricted_rows
                                                         WHERE kind = 'visitor')";
        p.page_views = count(
            &tx,
            &format!("SELECT count(*) FROM page_views WHERE visit_id IN ({OLD_VISITS})"),
            views,
        )?;
        p.visits = tx.execute(
            &format!("DELETE FROM visits WHERE id IN ({OLD_VISITS})"),
            [views],
        )? as u64;
        p.visitors = tx.execute(
            "DELETE FROM visitors WHERE last_seen < ?1
             AND NOT EXISTS (SELECT 1 FROM visits WHERE visitor_id = visitors.id)
             AND id NOT IN (SELECT row_id FROM restricted_rows WHERE kind = 'visitor')",
            [cutoff(now, r.visitors_days)],
        )? as u64;
        // Like visits: only once the days they count in are aggregated.
        let presence = cutoff(now, r.presence_days).min(aggregated);
        p.presence = super::presence::purge_before(&tx, presence)?;
        p.audit_entries = super::audit::purge_before(&tx, cutoff(now, r.audit_days))?;
        p.reads = super::read_log::purge_before(&tx, cutoff(now, r.reads_days))?;
        if !p.is_empty() {
            super::audit::append(
                &tx,
                now,
                &super::audit::AuditEntry {
                    actor: "system",
                    role: "system",
                    action: "retention.purge",
                    object: &p.summary(),
                    result: "success",
                    ..Default::default()
                },
            )?;
        }
    }
    tx.commit()?;
    if !p.is_empty() {
        checkpoint(c)?;
    }
    Ok(p)
}

pub use super::connection::checkpoint;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_checked() {
        assert!(Retention::default().check().is_ok());
        let zero = Retention {
            files_days: 0,
            ..Retention::default()
        };
        assert!(zero.check().unwrap_err().to_string().contains("files_days"));
        let long = Retention {
            audit_days: 4000,
            ..Retention::default()
        };
        assert!(long.check().is_err());
        assert_eq!(
            Purged {
                visits: 2,
                ..Purged::default()
            }
            .summary(),
            "audit_entries=0 blocks=0 conversations=0 files=0 mails=0 messages=0 offline_messages=0 page_views=0 presence=0 reads=0 team_messages=0 visitors=0 visits=2"
        );
    }
}
