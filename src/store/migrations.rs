//! Numbered schema migrations, embedded in the binary and applied when a database is opened.
//!
//! A database's `user_version` is the number of migrations applied. Each migration runs in its
//! own transaction together with the version bump, so a crash leaves a whole step or none.

use crate::error::{Error, Result};
use rusqlite::Connection;

/// Migrations of `system.db`, in order. Append only; never edit a released one.
pub const SYSTEM: &[&str] = &[
    include_str!("migrations/system/001_initial.sql"),
    include_str!("migrations/system/002_site_settings.sql"),
    include_str!("migrations/system/003_site_tracking.sql"),
    include_str!("migrations/system/004_erasure_ledger.sql"),
    include_str!("migrations/system/005_deletion_certificates.sql"),
    include_str!("migrations/system/006_privacy_notices.sql"),
    include_str!("migrations/system/007_pending_key.sql"),
    include_str!("migrations/system/008_site_languages.sql"),
    include_str!("migrations/system/009_site_look.sql"),
    include_str!("migrations/shared/outbox.sql"),
    include_str!("migrations/system/011_prechat_form.sql"),
    include_str!("migrations/system/012_tenant_moves.sql"),
];

/// Migrations of every `tenants/<uuid>.db`, in order. Append only; never edit a released one.
pub const TENANT: &[&str] = &[
    include_str!("migrations/tenant/001_initial.sql"),
    include_str!("migrations/tenant/002_chat.sql"),
    include_str!("migrations/tenant/003_offline_ratings.sql"),
    include_str!("migrations/tenant/004_notes_canned_files_settings.sql"),
    include_str!("migrations/tenant/005_visitors.sql"),
    include_str!("migrations/tenant/006_client_ids_in_memory.sql"),
    include_str!("migrations/tenant/007_campaigns.sql"),
    include_str!("migrations/tenant/008_stat_days.sql"),
    include_str!("migrations/tenant/009_audit_chain.sql"),
    include_str!("migrations/tenant/010_roles.sql"),
    include_str!("migrations/tenant/011_offline_consent_version.sql"),
    include_str!("migrations/tenant/012_log_identity.sql"),
    include_str!("migrations/tenant/013_session_details.sql"),
    include_str!("migrations/tenant/014_two_factor.sql"),
    include_str!("migrations/tenant/015_agent_profile.sql"),
    include_str!("migrations/tenant/016_site_look.sql"),
    include_str!("migrations/tenant/017_invites.sql"),
    include_str!("migrations/shared/outbox.sql"),
    include_str!("migrations/tenant/019_mail_columns.sql"),
    include_str!("migrations/tenant/020_hours.sql"),
    include_str!("migrations/tenant/021_form_values.sql"),
    include_str!("migrations/tenant/022_blocks.sql"),
    include_str!("migrations/tenant/023_auto_messages.sql"),
    include_str!("migrations/tenant/024_offline_from_chat.sql"),
    include_str!("migrations/tenant/025_accepted_index.sql"),
    include_str!("migrations/tenant/026_department_waiting.sql"),
    include_str!("migrations/tenant/027_read_log.sql"),
    include_str!("migrations/tenant/028_restrictions.sql"),
    include_str!("migrations/tenant/029_support.sql"),
    include_str!("migrations/tenant/030_api_tokens.sql"),
    include_str!("migrations/tenant/031_webhooks.sql"),
    include_str!("migrations/tenant/032_faqs.sql"),
    include_str!("migrations/tenant/033_site_lookups.sql"),
    include_str!("migrations/tenant/034_relevance.sql"),
    include_str!("migrations/tenant/035_team_chat.sql"),
    include_str!("migrations/tenant/036_worktime.sql"),
    include_str!("migrations/tenant/037_messages_in_order.sql"),
];

/// The number of migrations applied to a database.
pub fn version(conn: &Connection) -> Result<usize> {
    Ok(conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?
        .max(0) as usize)
}

/// Brings `conn` up to the latest schema in `steps`; refuses a database from a newer kontor.
pub fn apply(conn: &mut Connection, steps: &[&str]) -> Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if current > steps.len() {
        return Err(Error::Conflict(format!(
            "database schema version {current} is newer than this kontor knows ({}); upgrade kontor",
            steps.len()
        )));
    }
    for (i, sql) in steps.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(c: &Connection) -> i64 {
        c.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn both_schemas_apply_and_reapply_cleanly() {
        for steps in [SYSTEM, TENANT] {
            let mut c = Connection::open_in_memory().unwrap();
            apply(&mut c, steps).unwrap();
            assert_eq!(version(&c), steps.len() as i64);
            apply(&mut c, steps).unwrap();
            assert_eq!(version(&c), steps.len() as i64);
        }
    }

    #[test]
    fn site_languages_widen_and_keep_what_was_set() {
        let mut c = Connection::open_in_memory().unwrap();
        apply(&mut c, &SYSTEM[..7]).unwrap();
        c.execute_batch(
            "INSERT INTO tenants (uuid, slug, name, wrapped_key, created_at) VALUES ('t', 'acme', 'Acme', x'00', 0);
             INSERT INTO sites (site_key, tenant_uuid, created_at, lang) VALUES ('s1', 't', 0, 'de');",
        )
        .unwrap();
        assert!(
            c.execute("UPDATE sites SET lang = 'pl'", []).is_err(),
            "the old check"
        );
        apply(&mut c, SYSTEM).unwrap();
        let lang: String = c
            .query_row("SELECT lang FROM sites", [], |r| r.get(0))
            .unwrap();
        assert_eq!(lang, "de");
        c.execute("UPDATE sites SET lang = 'pl'", []).unwrap();
        assert!(c.execute("UPDATE sites SET lang = 'pt'", []).is_err());
    }

    #[test]
    fn messages_keep_every_row_and_constraint_when_they_move_to_write_order() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        apply(&mut c, &TENANT[..36]).unwrap();
        c.execute_batch(
            "INSERT INTO conversations (id, site_key, status, visitor_token_hash, consent_at,
                                        consent_version, created_at)
                 VALUES (1, 's', 'open', x'01', 0, '1', 0), (2, 's', 'open', x'02', 0, '1', 0);
             INSERT INTO messages (conversation_id, seq, author, agent_id, body, client_id, created_at)
                 VALUES (2, 1, 'visitor', NULL, 'zwei', 'c-2', 5), (1, 1, 'visitor', NULL, 'eins', 'c-1', 7),
                        (1, 2, 'agent', 3, 'drei', NULL, 9), (1, 3, 'auto', NULL, 'vier', NULL, 9);",
        )
        .unwrap();
        // Every column of every row, as one line each.
        let all = |c: &Connection| -> Vec<String> {
            c.prepare(
                "SELECT conversation_id || '/' || seq || '/' || author || '/' ||
                        ifnull(agent_id, '-') || '/' || body || '/' || ifnull(client_id, '-') ||
                        '/' || ifnull(file_id, '-') || '/' || created_at
                 FROM messages ORDER BY conversation_id, seq",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
        };
        let before = all(&c);
        apply(&mut c, TENANT).unwrap();
        assert_eq!(all(&c), before);
        // Stored in the order they were written.
        let bodies: Vec<String> = c
            .prepare("SELECT body FROM messages ORDER BY rowid")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(bodies, ["zwei", "eins", "drei", "vier"]);
        let insert = |conv: i64, seq: i64, author: &str| {
            c.execute(
                "INSERT INTO messages (conversation_id, seq, author, body, created_at)
                 VALUES (?1, ?2, ?3, 'x', 10)",
                rusqlite::params![conv, seq, author],
            )
        };
        assert!(insert(1, 3, "visitor").is_err(), "a seq is stored once");
        assert!(insert(1, 4, "someone").is_err(), "the author check");
        assert!(
            insert(9, 1, "visitor").is_err(),
            "the conversation must exist"
        );
        insert(1, 4, "visitor").unwrap();
        c.execute("DELETE FROM conversations WHERE id = 1", [])
            .unwrap();
        let left: i64 = c
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1, "a conversation's messages go with it");
    }

    #[test]
    fn newer_schema_is_refused() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", 999).unwrap();
        assert!(apply(&mut c, TENANT).is_err());
    }
}
