//! Every column of the tenant schema and what an anonymised clone does with it. A column
//! missing here stops every clone (and fails the unit test below), so a migration cannot add
//! a place for personal data that clones would copy unseen: it must be classified first.
//! `docs/data-protection.md` ("Test copies") gives the same list in words.

use super::Treatment::{self, *};

/// Tables whose rows never move into a clone: sign-ins, their secrets and single-use links,
/// API tokens, webhooks (a test system must not call the business's receivers, nor hold
/// their secrets; queued deliveries carry chat text) and the look-up addresses with their
/// secrets (for the same reason).
pub const DROPPED: [&str; 10] = [
    "sessions",
    "api_tokens",
    "sign_in_challenges",
    "totp_pending",
    "agent_totp",
    "recovery_codes",
    "agent_links",
    "webhook_endpoints",
    "webhook_deliveries",
    "site_lookups",
];

/// Every other table with every column.
pub const TABLES: &[(&str, &[(&str, Treatment)])] = &[
    (
        "agent_departments",
        &[("agent_id", Keep), ("department_id", Keep)],
    ),
    (
        "agent_days",
        &[
            ("day", Keep),
            ("agent_id", Keep),
            ("signed_in", Keep),
            ("online", Keep),
            ("away", Keep),
            ("in_chat", Keep),
            ("messages", Keep),
        ],
    ),
    (
        "agent_presence",
        &[
            ("id", Keep),
            ("agent_id", Keep),
            ("status", Keep),
            ("since", Keep),
            ("until", Keep),
            ("ended", Keep),
        ],
    ),
    (
        "agents",
        &[
            ("id", Keep),
            ("email", Email),
            ("display_name", Name),
            ("role", Keep),
            ("password_hash", Password),
            ("disabled", Keep),
            ("created_at", Keep),
            ("capacity", Keep),
            ("role_id", Keep),
            ("lang", Keep),
            ("notify_sound", Keep),
            ("notify_desktop", Keep),
            ("relevance_alarm", Keep),
        ],
    ),
    (
        "audit_chain",
        &[
            ("id", Keep),
            ("start_prev", Rechained),
            ("head_id", Rechained),
            ("head_hash", Rechained),
        ],
    ),
    (
        "audit_log",
        &[
            ("id", Keep),
            ("at", Keep),
            ("actor", Actor),
            ("action", Keep),
            ("object", AuditObject),
            ("result", Keep),
            ("ip", Ip),
            ("request_id", Keep),
            ("role", Keep),
            ("hash", Rechained),
        ],
    ),
    (
        "blocks",
        &[
            ("id", Keep),
            ("visitor_key", Pseudonym),
            ("address", Ip),
            ("conversation_id", Keep),
            ("reason", Text),
            ("created_by", Keep),
            ("created_at", Keep),
            ("expires_at", Keep),
            ("lifted_at", Keep),
            ("lifted_by", Keep),
        ],
    ),
    (
        "business_hours",
        &[
            ("department_id", Keep),
            ("rules", Keep),
            ("updated_at", Keep),
        ],
    ),
    (
        "campaigns",
        &[
            ("id", Keep),
            ("name", Keep),
            ("channel", Keep),
            ("utm_source", Keep),
            ("utm_medium", Keep),
            ("utm_campaign", Keep),
            ("starts_on", Keep),
            ("ends_on", Keep),
            ("cost_cents", Keep),
            ("cost_per_visit_cents", Keep),
            ("created_at", Keep),
        ],
    ),
    (
        "canned_responses",
        &[
            ("id", Keep),
            ("agent_id", Keep),
            ("shortcut", Keep),
            ("body", Keep),
            ("created_at", Keep),
        ],
    ),
    (
        "conversation_fields",
        &[
            ("id", Keep),
            ("conversation_id", Keep),
            ("name", Keep),
            ("kind", Keep),
            ("label_de", Keep),
            ("label_en", Keep),
            ("value", FieldValue),
            ("option_de", Keep),
            ("option_en", Keep),
        ],
    ),
    (
        "conversations",
        &[
            ("id", Keep),
            ("site_key", SiteKey),
            ("status", Keep),
            ("visitor_token_hash", Random),
            ("visitor_name", Name),
            ("visitor_email", Email),
            ("lang", Keep),
            ("consent_at", Keep),
            ("consent_version", Keep),
            ("department_id", Keep),
            ("agent_id", Keep),
            ("created_at", Keep),
            ("accepted_at", Keep),
            ("closed_at", Keep),
            ("rating", Keep),
            ("rating_comment", Text),
            ("visitor_id", Keep),
            ("visit_id", Keep),
            ("transcript_to", Email),
        ],
    ),
    (
        "conversions",
        &[
            ("id", Keep),
            ("visit_id", Keep),
            ("goal_id", Keep),
            ("value_cents", Keep),
            ("at", Keep),
        ],
    ),
    (
        "departments",
        &[
            ("id", Keep),
            ("name", Keep),
            ("queue_alert_secs", Keep),
            ("offline_offer_secs", Keep),
        ],
    ),
    (
        "faq_chats",
        &[("day", Keep), ("site_key", SiteKey), ("chats", Keep)],
    ),
    (
        "faq_views",
        &[("day", Keep), ("faq_id", Keep), ("views", Keep)],
    ),
    (
        "faqs",
        &[
            ("id", Keep),
            ("site_key", SiteKey),
            ("position", Keep),
            ("question_de", Keep),
            ("answer_de", Keep),
            ("question_en", Keep),
            ("answer_en", Keep),
            ("updated_at", Keep),
        ],
    ),
    (
        "files",
        &[
            ("id", Keep),
            ("conversation_id", Keep),
            ("name", FileName),
            ("mime", Keep),
            ("size", Keep),
            ("data", FileData),
            ("created_at", Keep),
        ],
    ),
    (
        "goals",
        &[
            ("id", Keep),
            ("name", Keep),
            ("url_pattern", Keep),
            ("value_cents", Keep),
            ("created_at", Keep),
        ],
    ),
    (
        "invitations",
        &[
            ("id", Keep),
            ("visit_id", Keep),
            ("agent_id", Keep),
            ("rule_id", Keep),
            ("text", Text),
            ("created_at", Keep),
            ("state", Keep),
        ],
    ),
    (
        "invite_rules",
        &[
            ("id", Keep),
            ("site_key", SiteKey),
            ("name", Keep),
            ("enabled", Keep),
            ("conditions", Keep),
            ("text", Keep),
            ("delay_seconds", Keep),
            ("once_per_visit", Keep),
            ("created_at", Keep),
        ],
    ),
    ("log_identity", &[("id", Keep), ("epoch", Fresh)]),
    (
        "messages",
        &[
            ("conversation_id", Keep),
            ("seq", Keep),
            ("agent_id", Keep),
            ("body", MessageBody),
            ("client_id", Keep),
            ("file_id", Keep),
            ("created_at", Keep),
            ("author", Keep),
        ],
    ),
    (
        "notes",
        &[
            ("id", Keep),
            ("conversation_id", Keep),
            ("agent_id", Keep),
            ("body", Text),
            ("client_id", Keep),
            ("created_at", Keep),
        ],
    ),
    (
        "offline_messages",
        &[
            ("id", Keep),
            ("site_key", SiteKey),
            ("name", Name),
            ("email", Email),
            ("message", Text),
            ("consent_at", Keep),
            ("created_at", Keep),
            ("handled_at", Keep),
            ("consent_version", Keep),
            ("handled_by", Keep),
            ("reply", Text),
            ("lang", Keep),
            ("conversation_id", Keep),
        ],
    ),
    (
        "outbox",
        &[
            ("id", Keep),
            ("kind", Keep),
            ("recipient", Email),
            ("subject", Text),
            ("person", Email),
            ("about", Keep),
            ("envelope_from", Email),
            ("message", MailData),
            ("state", MailState),
            ("attempts", Keep),
            ("next_at", Keep),
            ("created_at", Keep),
            ("done_at", Keep),
            ("answer", Text),
        ],
    ),
    (
        "page_views",
        &[
            ("id", Keep),
            ("visit_id", Keep),
            ("page_id", Keep),
            ("at", Keep),
            ("seconds", Keep),
        ],
    ),
    ("pages", &[("id", Keep), ("url", PageUrl), ("title", Text)]),
    (
        "read_log",
        &[
            ("id", Keep),
            ("at", Keep),
            ("actor", Actor),
            ("role", Keep),
            ("what", Keep),
            ("object", AuditObject),
            ("ip", Ip),
            ("request_id", Keep),
        ],
    ),
    (
        "restricted_rows",
        &[("restriction_id", Keep), ("kind", Keep), ("row_id", Keep)],
    ),
    (
        "restrictions",
        &[
            ("id", Keep),
            ("subject", AuditObject),
            ("reason", Text),
            ("created_at", Keep),
            ("created_by", Actor),
            ("lifted_at", Keep),
            ("lifted_by", Actor),
        ],
    ),
    (
        "roles",
        &[
            ("id", Keep),
            ("name", Keep),
            ("permissions", Keep),
            ("builtin", Keep),
            ("created_at", Keep),
            ("two_factor", Keep),
        ],
    ),
    (
        "relevance_weights",
        &[
            ("site_key", SiteKey),
            ("pages", Keep),
            ("time", Keep),
            ("campaign", Keep),
            ("goal", Keep),
            ("visits", Keep),
            ("chats", Keep),
        ],
    ),
    ("settings", &[("key", Keep), ("value", SettingValue)]),
    (
        "site_logos",
        &[
            ("site_key", SiteKey),
            ("mime", Keep),
            ("data", Keep),
            ("updated_at", Keep),
        ],
    ),
    (
        "support_grants",
        &[
            ("id", Keep),
            ("created_at", Keep),
            ("created_by", Actor),
            ("expires_at", Keep),
            ("note", Text),
            ("revoked_at", Keep),
            ("revoked_by", Actor),
        ],
    ),
    (
        "stat_days",
        &[("day", Keep), ("version", Keep), ("data", Keep)],
    ),
    ("stat_state", &[("id", Keep), ("through", Keep)]),
    (
        "team_messages",
        &[
            ("id", Keep),
            ("room", Keep),
            ("seq", Keep),
            ("agent_id", Keep),
            ("body", Text),
            ("client_id", Keep),
            ("at", Keep),
        ],
    ),
    (
        "team_reads",
        &[("agent_id", Keep), ("room", Keep), ("seq", Keep)],
    ),
    ("team_rooms", &[("room", Keep), ("last_seq", Keep)]),
    (
        "visitors",
        &[
            ("id", Keep),
            ("site_key", SiteKey),
            ("mode", Keep),
            ("vid_hash", Pseudonym),
            ("first_seen", Keep),
            ("last_seen", Keep),
            ("visits", Keep),
        ],
    ),
    (
        "visits",
        &[
            ("id", Keep),
            ("visitor_id", Keep),
            ("site_key", SiteKey),
            ("started_at", Keep),
            ("last_seen", Keep),
            ("ip", Ip),
            ("browser", Keep),
            ("os", Keep),
            ("device", Keep),
            ("lang", Keep),
            ("screen", Keep),
            ("country", Keep),
            ("referrer", Referrer),
            ("referrer_kind", Keep),
            ("utm_source", Keep),
            ("utm_medium", Keep),
            ("utm_campaign", Keep),
            ("utm_term", Keep),
            ("utm_content", Keep),
            ("pages", Keep),
            ("campaign_id", Keep),
        ],
    ),
];

/// The treatment of `table.column`, if it is classified.
pub fn treatment(table: &str, column: &str) -> Option<Treatment> {
    TABLES
        .iter()
        .find(|(t, _)| *t == table)
        .and_then(|(_, cols)| cols.iter().find(|(c, _)| *c == column))
        .map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Key;
    use crate::store::connection::{self, Mode};
    use crate::store::{migrations, snapshot};

    /// The tenant schema as the migrations build it: every table with its columns and their
    /// declared types.
    fn schema() -> Vec<(String, Vec<(String, String)>)> {
        let dir = tempfile::tempdir().unwrap();
        let mut c =
            connection::open(&dir.path().join("t.db"), &Key::generate(), Mode::Create).unwrap();
        migrations::apply(&mut c, migrations::TENANT).unwrap();
        snapshot::tables(&c)
            .unwrap()
            .into_iter()
            .map(|t| {
                let mut st = c
                    .prepare("SELECT name, type FROM pragma_table_info(?1)")
                    .unwrap();
                let cols = st
                    .query_map([&t], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<rusqlite::Result<Vec<(String, String)>>>()
                    .unwrap();
                (t, cols)
            })
            .collect()
    }

    #[test]
    fn every_column_of_the_tenant_schema_is_classified_for_clones() {
        let schema = schema();
        let unknown: Vec<String> = schema
            .iter()
            .filter(|(t, _)| !DROPPED.contains(&t.as_str()))
            .flat_map(|(t, cols)| {
                cols.iter()
                    .filter(|(c, _)| treatment(t, c).is_none())
                    .map(move |(c, ty)| format!("{t}.{c} ({ty})"))
            })
            .collect();
        assert!(
            unknown.is_empty(),
            "columns a clone does not know what to do with; classify them in \
             src/store/anonymize/columns.rs (personal data must be faked or dropped): {}",
            unknown.join(", ")
        );
        // Nothing classified that the schema does not have: a renamed column would otherwise
        // leave a stale entry behind while its new name copies unseen.
        let exists = |table: &str, col: Option<&str>| {
            schema.iter().any(|(t, cols)| {
                t == table && col.is_none_or(|col| cols.iter().any(|(c, _)| c == col))
            })
        };
        for (table, cols) in TABLES {
            for (col, _) in *cols {
                assert!(
                    exists(table, Some(col)),
                    "{table}.{col} is not in the schema"
                );
            }
        }
        for t in DROPPED {
            assert!(exists(t, None), "dropped table {t} is not in the schema");
        }
    }

    #[test]
    fn text_and_blob_columns_left_as_they_are_are_the_businesss_configuration() {
        // The columns that keep their values although they hold text: each must be the
        // business's configuration, a code, or an id, never something a person typed about
        // themselves. This list changes only with a deliberate review.
        let mut kept: Vec<String> = Vec::new();
        for (t, cols) in schema() {
            if DROPPED.contains(&t.as_str()) {
                continue;
            }
            for (c, ty) in cols {
                let texty = ty == "TEXT" || ty == "BLOB" || ty.is_empty();
                if texty && treatment(&t, &c) == Some(Keep) {
                    kept.push(format!("{t}.{c}"));
                }
            }
        }
        let reviewed = [
            "agents.role",
            "agents.lang",
            "agent_presence.status",
            "audit_log.action",
            "audit_log.result",
            "audit_log.request_id",
            "audit_log.role",
            "read_log.role",
            "read_log.what",
            "read_log.request_id",
            "restricted_rows.kind",
            "business_hours.rules",
            "campaigns.name",
            "campaigns.channel",
            "campaigns.utm_source",
            "campaigns.utm_medium",
            "campaigns.utm_campaign",
            "canned_responses.shortcut",
            "canned_responses.body",
            "conversation_fields.name",
            "conversation_fields.kind",
            "conversation_fields.label_de",
            "conversation_fields.label_en",
            "conversation_fields.option_de",
            "conversation_fields.option_en",
            "conversations.status",
            "conversations.lang",
            "conversations.consent_version",
            "departments.name",
            "faqs.question_de",
            "faqs.answer_de",
            "faqs.question_en",
            "faqs.answer_en",
            "files.mime",
            "goals.name",
            "goals.url_pattern",
            "invitations.state",
            "invite_rules.name",
            "invite_rules.conditions",
            "invite_rules.text",
            "messages.client_id",
            "messages.author",
            "notes.client_id",
            "offline_messages.consent_version",
            "offline_messages.lang",
            "outbox.kind",
            "outbox.about",
            "roles.name",
            "roles.permissions",
            "settings.key",
            "site_logos.mime",
            "site_logos.data",
            "stat_days.data",
            // Room names hold agent and department ids; client ids are the dashboard's random ones.
            "team_messages.room",
            "team_messages.client_id",
            "team_reads.room",
            "team_rooms.room",
            "visitors.mode",
            "visits.browser",
            "visits.os",
            "visits.device",
            "visits.lang",
            "visits.screen",
            "visits.country",
            "visits.referrer_kind",
            "visits.utm_source",
            "visits.utm_medium",
            "visits.utm_campaign",
            "visits.utm_term",
            "visits.utm_content",
        ];
        kept.sort();
        let mut reviewed: Vec<String> = reviewed.iter().map(|s| s.to_string()).collect();
        reviewed.sort();
        assert_eq!(kept, reviewed);
    }
}
