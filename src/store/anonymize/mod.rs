//! Anonymisation of a tenant's rows for a test copy (`kontor tenant clone --anonymize`): each
//! column is classified once ([`columns`]), and each row passes through [`Anonymizer::row`]
//! on its way into the clone. Personal values become consistent fakes ([`fakes`]); the
//! business's configuration, ids, times and counts stay, so the copy has the production
//! system's structure and volumes.

pub mod columns;
pub mod fakes;

use crate::error::{Error, Result};
use fakes::{Fakes, placeholder};
use regex::Regex;
use rusqlite::types::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

/// What a clone does with a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// Copied as it is: ids, times, counts, codes, and the business's own configuration.
    Keep,
    /// A person's name: a fake name.
    Name,
    /// One or more email addresses: fake addresses at a reserved domain.
    Email,
    /// Free text someone wrote: filler of the same length.
    Text,
    /// A (truncated) client address: a fake one of the same family.
    Ip,
    /// A site's public key: the clone's own key for that site.
    SiteKey,
    /// An uploaded file's name: `file-…` with its extension.
    FileName,
    /// An uploaded file: a placeholder of the same size and type.
    FileData,
    /// A mail as it was to be sent: a placeholder of the same size.
    MailData,
    /// A mail's delivery state: one still queued is marked failed, so a test system never
    /// sends it.
    MailState,
    /// A password hash: replaced by one nobody knows; the agent needs a reset link.
    Password,
    /// A hash standing for a visitor: replaced by a keyed one (still the same for the same
    /// visitor, unlinkable to the original).
    Pseudonym,
    /// The hash of a visitor's chat token: random, so the production widget's token opens
    /// nothing in the copy.
    Random,
    /// A page address: query and fragment replaced.
    PageUrl,
    /// A referring address: path replaced, origin kept.
    Referrer,
    /// Who did something in the audit trail: an agent's email, or what was typed at a failed
    /// sign-in, faked; kontor's own actors (`operator`, `system`, `visitor`) stay.
    Actor,
    /// What the audit trail names: ids stay; email addresses, site keys and data subjects'
    /// hashes are replaced.
    AuditObject,
    /// Audit hash chain: recomputed over the clone's entries.
    Rechained,
    /// A value that identifies this copy of the log: new.
    Fresh,
    /// A pre-chat form value, by the row's `kind`: addresses and numbers faked, free text
    /// replaced, a choice from the form's own options kept.
    FieldValue,
    /// A chat entry, by the row's `author`: what visitors and agents wrote is replaced;
    /// kontor's own entries (`system`, `auto`: codes and the site's greetings) stay.
    MessageBody,
    /// A setting, by the row's `key`: mail addresses faked, other settings kept.
    SettingValue,
}

/// kontor's own audit actors, which name no person.
const SERVICE_ACTORS: [&str; 4] = ["", "operator", "system", "visitor"];

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+").expect("valid pattern")
});
static SITE_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"site_[0-9a-f]{32}").expect("valid pattern"));
static SUBJECT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"subject#[0-9a-f]+").expect("valid pattern"));

/// How one table's rows are rewritten: a treatment per column, and where the columns that
/// decide row-dependent treatments are.
pub struct Plan {
    treatments: Vec<Treatment>,
    /// The column a treatment depends on, by treatment.
    context: HashMap<&'static str, usize>,
}

/// Rewrites rows for one clone: its fakes, its site keys, and the one password hash that
/// opens nothing.
pub struct Anonymizer {
    fakes: Fakes,
    sites: HashMap<String, String>,
    password: String,
}

fn text(v: &Value) -> Option<&str> {
    match v {
        Value::Text(s) => Some(s),
        _ => None,
    }
}

impl Anonymizer {
    /// For one clone: `sites` maps each source site key to the clone's; `password` is the
    /// hash every agent gets (of a secret nobody keeps).
    pub fn new(sites: HashMap<String, String>, password: String) -> Anonymizer {
        Anonymizer {
            fakes: Fakes::fresh(),
            sites,
            password,
        }
    }

    /// The plan for `table` with these columns (as the source has them). A column that is
    /// not classified stops the clone: copying it could leak what it holds.
    pub fn plan(&self, table: &str, columns: &[String]) -> Result<Plan> {
        let mut treatments = Vec::with_capacity(columns.len());
        for c in columns {
            treatments.push(columns::treatment(table, c).ok_or_else(|| {
                Error::Internal(format!(
                    "column {table}.{c} is not classified for anonymised copies; nothing was \
                     created"
                ))
            })?);
        }
        let mut context = HashMap::new();
        for (name, needs) in [
            ("kind", Treatment::FieldValue),
            ("author", Treatment::MessageBody),
            ("key", Treatment::SettingValue),
            ("mime", Treatment::FileData),
        ] {
            if treatments.contains(&needs) {
                let at = columns.iter().position(|c| c == name).ok_or_else(|| {
                    Error::Internal(format!("table {table} lacks the column {name}"))
                })?;
                context.insert(name, at);
            }
        }
        Ok(Plan {
            treatments,
            context,
        })
    }

    /// Rewrites one row in place.
    pub fn row(&self, plan: &Plan, row: &mut [Value]) {
        let ctx = |name: &str| {
            plan.context
                .get(name)
                .and_then(|i| row.get(*i))
                .and_then(text)
                .map(str::to_string)
                .unwrap_or_default()
        };
        let (kind, author, key, mime) = (ctx("kind"), ctx("author"), ctx("key"), ctx("mime"));
        for (value, t) in row.iter_mut().zip(&plan.treatments) {
            let new = match (t, &*value) {
                // The audit chain is recomputed over the clone's entries after the copy.
                (Treatment::Keep | Treatment::Rechained, _) | (_, Value::Null) => continue,
                (Treatment::FileData, Value::Blob(b)) => Value::Blob(placeholder(b.len(), &mime)),
                (Treatment::MailData, Value::Blob(b)) => Value::Blob(placeholder(b.len(), "")),
                (Treatment::Pseudonym, Value::Blob(b)) => Value::Blob(self.fakes.pseudonym(b)),
                (Treatment::Random, Value::Blob(b)) => Value::Blob(random(b.len())),
                (t, Value::Text(s)) => Value::Text(self.text(*t, s, &kind, &author, &key)),
                // A value of an unexpected type in a personal column: nothing of it stays.
                (_, Value::Blob(b)) => Value::Blob(placeholder(b.len(), "")),
                (_, Value::Integer(i)) => {
                    Value::Integer(self.fakes.digits(&i.to_string()).parse().unwrap_or(0))
                }
                (_, Value::Real(_)) => Value::Real(0.0),
            };
            *value = new;
        }
    }

    fn text(&self, t: Treatment, s: &str, kind: &str, author: &str, key: &str) -> String {
        let f = &self.fakes;
        match t {
            Treatment::Name => f.name(s),
            Treatment::Email => f.email(s),
            Treatment::Ip => f.ip(s),
            Treatment::SiteKey => self.site_key(s),
            Treatment::FileName => f.file_name(s),
            Treatment::Password => self.password.clone(),
            Treatment::PageUrl => f.page_url(s),
            Treatment::Referrer => f.referrer(s),
            Treatment::Actor => self.actor(s),
            Treatment::AuditObject => self.audit_object(s),
            Treatment::Fresh => crate::crypto::hex(&crate::crypto::random_array::<16>()),
            Treatment::MailState if s == "queued" => "failed".into(),
            Treatment::FieldValue => match kind {
                "email" => f.email(s),
                "phone" | "number" => f.digits(s),
                "select" | "checkbox" => s.to_string(),
                _ => f.text(s),
            },
            Treatment::MessageBody => match author {
                "system" | "auto" => s.to_string(),
                _ => f.text(s),
            },
            Treatment::SettingValue => match key {
                "mail_inbox" | "mail_alerts" => f.email(s),
                // Any other setting is configuration; an address in one is still faked.
                _ => self.emails_in(s),
            },
            Treatment::Keep | Treatment::MailState | Treatment::Rechained => s.to_string(),
            Treatment::Text
            | Treatment::FileData
            | Treatment::MailData
            | Treatment::Pseudonym
            | Treatment::Random => f.text(s),
        }
    }

    /// The clone's key for a source site key; a key of a site that no longer exists gets a
    /// fake one, the same each time.
    pub fn site_key(&self, s: &str) -> String {
        match self.sites.get(s) {
            Some(k) => k.clone(),
            None if s.is_empty() => String::new(),
            None => format!("site_{}", self.fakes.hex("site", s, 32)),
        }
    }

    /// An audit actor (also: who wrote a site's privacy notice).
    pub fn actor(&self, s: &str) -> String {
        if SERVICE_ACTORS.contains(&s) {
            s.to_string()
        } else if s.contains('@') {
            self.fakes.email(s)
        } else {
            self.fakes.name(s)
        }
    }

    fn emails_in(&self, s: &str) -> String {
        EMAIL
            .replace_all(s, |c: &regex::Captures| self.fakes.email(&c[0]))
            .into_owned()
    }

    fn audit_object(&self, s: &str) -> String {
        let s = self.emails_in(s);
        let s = SITE_KEY.replace_all(&s, |c: &regex::Captures| self.site_key(&c[0]));
        SUBJECT
            .replace_all(&s, |c: &regex::Captures| {
                let n = c[0].len() - "subject#".len();
                format!("subject#{}", self.fakes.hex("subject", &c[0], n))
            })
            .into_owned()
    }
}

fn random(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let block = crate::crypto::random_array::<32>();
        out.extend_from_slice(&block[..(n - out.len()).min(32)]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anonymizer() -> Anonymizer {
        Anonymizer::new(
            HashMap::from([(format!("site_{}", "a".repeat(32)), "site_new".into())]),
            "unusable".into(),
        )
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_unclassified_column_stops_the_clone() {
        let a = anonymizer();
        assert!(
            a.plan("agents", &cols(&["id", "email", "shoe_size"]))
                .is_err()
        );
        assert!(a.plan("secrets", &cols(&["id"])).is_err());
    }

    #[test]
    fn row_dependent_columns_follow_their_row() {
        let a = anonymizer();
        let plan = a
            .plan("conversation_fields", &cols(&["kind", "label_en", "value"]))
            .unwrap();
        let row = |kind: &str, value: &str| {
            let mut r = vec![
                Value::Text(kind.into()),
                Value::Text("Label".into()),
                Value::Text(value.into()),
            ];
            a.row(&plan, &mut r);
            match &r[2] {
                Value::Text(s) => s.clone(),
                v => panic!("{v:?}"),
            }
        };
        assert_eq!(row("select", "billing"), "billing");
        assert!(row("email", "vera@example.org").ends_with("@example.invalid"));
        assert_ne!(row("phone", "+49 170 1234567"), "+49 170 1234567");
        assert_ne!(row("text", "AB-1234"), "AB-1234");

        let plan = a
            .plan("messages", &cols(&["author", "body", "client_id"]))
            .unwrap();
        let mut r = vec![
            Value::Text("system".into()),
            Value::Text("closed".into()),
            Value::Null,
        ];
        a.row(&plan, &mut r);
        assert_eq!(r[1], Value::Text("closed".into()));
        let mut r = vec![
            Value::Text("visitor".into()),
            Value::Text("my address is Hauptstraße 5".into()),
            Value::Text("c1".into()),
        ];
        a.row(&plan, &mut r);
        assert_ne!(r[1], Value::Text("my address is Hauptstraße 5".into()));
        assert_eq!(r[2], Value::Text("c1".into()));
    }

    #[test]
    fn audit_entries_keep_ids_and_lose_people() {
        let a = anonymizer();
        let key = format!("site_{}", "a".repeat(32));
        assert_eq!(a.actor("operator"), "operator");
        assert!(a.actor("Ann@Acme.example").ends_with("@example.invalid"));
        assert_eq!(a.actor("Ann@acme.example"), a.actor("ann@acme.example"));
        assert_ne!(a.actor("Erika Mustermann"), "Erika Mustermann");
        assert_eq!(a.audit_object("agent#3"), "agent#3");
        assert_eq!(a.audit_object(&format!("{key}/v2")), "site_new/v2");
        let o = a.audit_object("email:subject#0123456789ab");
        assert!(o.starts_with("email:subject#") && o.len() == 26 && !o.contains("0123456789ab"));
        assert!(
            !a.audit_object("reply to erika@example.org")
                .contains("erika")
        );
    }

    #[test]
    fn queued_mail_is_never_sent_from_a_copy() {
        let a = anonymizer();
        let plan = a
            .plan("outbox", &cols(&["recipient", "message", "state"]))
            .unwrap();
        let mail = b"Subject: Hallo Erika\r\n\r\nsecret".to_vec();
        let mut r = vec![
            Value::Text("erika@example.org".into()),
            Value::Blob(mail.clone()),
            Value::Text("queued".into()),
        ];
        a.row(&plan, &mut r);
        assert_eq!(r[2], Value::Text("failed".into()));
        match &r[1] {
            Value::Blob(b) => {
                assert_eq!(b.len(), mail.len());
                assert!(!b.windows(5).any(|w| w == b"Erika"));
            }
            v => panic!("{v:?}"),
        }
    }
}
