//! An agent's own profile: the name visitors see, the dashboard's language, whether a newly
//! waiting chat chimes and raises a desktop notification, and their password.

use crate::crypto;
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::model::tenants::clean_name;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// The longest display name (as for names an admin gives).
const NAME_MAX: usize = 100;

/// What `GET /api/me` shows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Profile {
    /// Login, lower-case (not changed here).
    pub email: String,
    /// The name visitors see.
    pub display_name: String,
    /// The dashboard's language (`en`, `de`); `None` follows the browser.
    pub lang: Option<String>,
    /// A newly waiting chat chimes.
    pub notify_sound: bool,
    /// A newly waiting chat raises a desktop notification (if the browser allows).
    pub notify_desktop: bool,
    /// A live visitor at or above this relevance raises an alarm (0: none).
    pub relevance_alarm: u8,
}

/// A change of one's own profile; fields left out stay as they are.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileChange {
    /// The name visitors see.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `en` or `de`; an empty string goes back to following the browser.
    #[serde(default)]
    pub lang: Option<String>,
    /// Chime for a newly waiting chat.
    #[serde(default)]
    pub notify_sound: Option<bool>,
    /// Desktop notification for a newly waiting chat.
    #[serde(default)]
    pub notify_desktop: Option<bool>,
    /// Relevance alarm threshold, 1-10; 0 turns the alarm off.
    #[serde(default)]
    pub relevance_alarm: Option<u8>,
}

impl ProfileChange {
    /// Whether the change names the display name (the hub must hear of it).
    pub fn renames(&self) -> bool {
        self.display_name.is_some()
    }
}

/// The agent's profile, if the agent exists.
pub fn profile(c: &Connection, agent: i64) -> Result<Option<Profile>> {
    Ok(c.query_row(
        "SELECT email, display_name, lang, notify_sound, notify_desktop,
                coalesce(relevance_alarm, 0) FROM agents WHERE id = ?1",
        [agent],
        |r| {
            Ok(Profile {
                email: r.get(0)?,
                display_name: r.get(1)?,
                lang: r.get(2)?,
                notify_sound: r.get::<_, i64>(3)? != 0,
                notify_desktop: r.get::<_, i64>(4)? != 0,
                relevance_alarm: r.get::<_, i64>(5)?.clamp(0, 10) as u8,
            })
        },
    )
    .optional()?)
}

/// The dashboard language the agent chose, if any.
pub fn lang(c: &Connection, agent: i64) -> Result<Option<Lang>> {
    let code: Option<Option<String>> = c
        .query_row("SELECT lang FROM agents WHERE id = ?1", [agent], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(code.flatten().and_then(|c| Lang::parse_dashboard(&c)))
}

/// Applies a change of the agent's own profile: every field is checked first, so a bad one
/// changes nothing.
pub fn change(c: &mut Connection, agent: i64, change: &ProfileChange) -> Result<Profile> {
    let name = change
        .display_name
        .as_deref()
        .map(|n| clean_name("display name", n, NAME_MAX))
        .transpose()?;
    let lang = match change.lang.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(code) => match Lang::parse_dashboard(code) {
            Some(l) if l.code() == code => Some(Some(l.code())),
            _ => {
                return Err(Error::Invalid(format!(
                    "lang must be one of {}",
                    Lang::DASHBOARD.map(|l| l.code()).join(", ")
                )));
            }
        },
    };
    if change.relevance_alarm.is_some_and(|n| n > 10) {
        return Err(Error::Invalid(
            "relevance_alarm: 1 to 10, or 0 for no alarm".into(),
        ));
    }
    let tx = c.transaction()?;
    if profile(&tx, agent)?.is_none() {
        return Err(Error::NotFound("agent".into()));
    }
    if let Some(name) = name {
        tx.execute(
            "UPDATE agents SET display_name = ?2 WHERE id = ?1",
            params![agent, name],
        )?;
    }
    if let Some(lang) = lang {
        tx.execute(
            "UPDATE agents SET lang = ?2 WHERE id = ?1",
            params![agent, lang],
        )?;
    }
    if let Some(on) = change.notify_sound {
        tx.execute(
            "UPDATE agents SET notify_sound = ?2 WHERE id = ?1",
            params![agent, i64::from(on)],
        )?;
    }
    if let Some(on) = change.notify_desktop {
        tx.execute(
            "UPDATE agents SET notify_desktop = ?2 WHERE id = ?1",
            params![agent, i64::from(on)],
        )?;
    }
    if let Some(n) = change.relevance_alarm {
        crate::store::relevance::set_alarm(&tx, agent, (n > 0).then_some(n))?;
    }
    let p = profile(&tx, agent)?.ok_or_else(|| Error::NotFound("agent".into()))?;
    tx.commit()?;
    Ok(p)
}

/// Changes the agent's own password: the current one must match ([`Error::InvalidInput`]
/// otherwise, so it counts against the sign-in throttle). The caller has checked the new one
/// against the password policy (`domain::agents::check_password`) before: storage knows no
/// rules. Every other session of the agent ends; the one in `keep` stays.
pub fn change_password(
    c: &mut Connection,
    agent: i64,
    current: &str,
    new: &str,
    keep: &[u8],
) -> Result<usize> {
    let hash: Option<String> = c
        .query_row(
            "SELECT password_hash FROM agents WHERE id = ?1",
            [agent],
            |r| r.get(0),
        )
        .optional()?;
    let Some(hash) = hash else {
        return Err(Error::NotFound("agent".into()));
    };
    if !crypto::verify_password(current, &hash) {
        return Err(Error::Invalid("the current password is wrong".into()));
    }
    let new_hash = crypto::hash_password(new);
    let tx = c.transaction()?;
    tx.execute(
        "UPDATE agents SET password_hash = ?2 WHERE id = ?1",
        params![agent, new_hash],
    )?;
    let ended = tx.execute(
        "DELETE FROM sessions WHERE agent_id = ?1 AND token_hash IS NOT ?2",
        params![agent, keep],
    )?;
    tx.commit()?;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::migrations;

    fn db() -> (Connection, i64) {
        let mut c = Connection::open_in_memory().unwrap();
        migrations::apply(&mut c, migrations::TENANT).unwrap();
        let a = crate::store::tenant::insert_agent(
            &c,
            "ann@acme.example",
            "Ann",
            "admin",
            &crypto::hash_password("correct horse battery"),
        )
        .unwrap();
        (c, a.id)
    }

    #[test]
    fn a_bad_field_changes_nothing() {
        let (mut c, id) = db();
        let before = profile(&c, id).unwrap().unwrap();
        assert_eq!(before.lang, None);
        assert!(before.notify_sound && before.notify_desktop);
        let bad = ProfileChange {
            display_name: Some("Annabel".into()),
            lang: Some("fr".into()),
            notify_sound: Some(false),
            ..Default::default()
        };
        assert!(change(&mut c, id, &bad).is_err());
        let bad = ProfileChange {
            display_name: Some("Ann\u{202e}".into()),
            ..Default::default()
        };
        assert!(change(&mut c, id, &bad).is_err());
        assert_eq!(profile(&c, id).unwrap().unwrap(), before);
        let good = ProfileChange {
            lang: Some("de".into()),
            notify_desktop: Some(false),
            ..Default::default()
        };
        let after = change(&mut c, id, &good).unwrap();
        assert_eq!(after.lang.as_deref(), Some("de"));
        assert!(after.notify_sound && !after.notify_desktop);
        assert_eq!(lang(&c, id).unwrap(), Some(Lang::De));
    }

    #[test]
    fn the_password_needs_the_current_one() {
        let (mut c, id) = db();
        let keep = [1u8; 32];
        let wrong = change_password(&mut c, id, "nope", "a-new-pass-phrase", &keep);
        assert!(matches!(wrong, Err(Error::Invalid(m)) if m.contains("current password")));
        assert_eq!(
            change_password(
                &mut c,
                id,
                "correct horse battery",
                "a-new-pass-phrase",
                &keep
            )
            .unwrap(),
            0
        );
        let hash: String = c
            .query_row(
                "SELECT password_hash FROM agents WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert!(crypto::verify_password("a-new-pass-phrase", &hash));
    }
}
