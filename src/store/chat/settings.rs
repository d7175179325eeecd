//! Tenant settings (a key-value table) and the chat settings kept in it.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A tenant setting, if set.
pub fn setting(c: &Connection, key: &str) -> Result<Option<String>> {
    Ok(
        c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

/// Sets a tenant setting.
pub fn set_setting(c: &Connection, key: &str, value: &str) -> Result<()> {
    c.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The tenant's chat settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSettings {
    /// Agents see what the visitor is typing before it is sent (the visitor is told).
    pub typing_preview: bool,
    /// The automatic message when an agent takes a chat, in German ("" for none).
    pub accept_message_de: String,
    /// The same in English.
    pub accept_message_en: String,
    /// Seconds a chat may wait before the agents who may take it are alerted again (0: never).
    pub queue_alert_secs: u32,
    /// Seconds a chat may wait before its visitor is offered to leave a message (0: never).
    pub offline_offer_secs: u32,
}

/// The default of [`ChatSettings::offline_offer_secs`].
pub const OFFLINE_OFFER_SECS: u32 = 300;

/// The default of [`ChatSettings::queue_alert_secs`].
pub const QUEUE_ALERT_SECS: u32 = 120;

/// A change of the chat settings: what is absent stays as it is.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSettingsChange {
    /// See [`ChatSettings`].
    pub typing_preview: Option<bool>,
    /// See [`ChatSettings`].
    pub accept_message_de: Option<String>,
    /// See [`ChatSettings`].
    pub accept_message_en: Option<String>,
    /// See [`ChatSettings`]: 0, or 30 to 3600.
    pub queue_alert_secs: Option<u32>,
    /// See [`ChatSettings`]: 0, or 30 to 3600.
    pub offline_offer_secs: Option<u32>,
}

/// Reads the chat settings (defaults when never set).
pub fn chat_settings(c: &Connection) -> Result<ChatSettings> {
    Ok(ChatSettings {
        typing_preview: setting(c, "typing_preview")?.as_deref() == Some("on"),
        accept_message_de: setting(c, "accept_message_de")?.unwrap_or_default(),
        accept_message_en: setting(c, "accept_message_en")?.unwrap_or_default(),
        queue_alert_secs: setting(c, "queue_alert_secs")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(QUEUE_ALERT_SECS),
        offline_offer_secs: setting(c, "offline_offer_secs")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(OFFLINE_OFFER_SECS),
    })
}

/// Stores a change (texts checked by the caller); returns the settings as they now are.
pub fn change_chat_settings(c: &Connection, ch: &ChatSettingsChange) -> Result<ChatSettings> {
    if let Some(on) = ch.typing_preview {
        set_setting(c, "typing_preview", if on { "on" } else { "off" })?;
    }
    if let Some(t) = &ch.accept_message_de {
        set_setting(c, "accept_message_de", t)?;
    }
    if let Some(t) = &ch.accept_message_en {
        set_setting(c, "accept_message_en", t)?;
    }
    if let Some(secs) = ch.queue_alert_secs {
        set_setting(c, "queue_alert_secs", &secs.to_string())?;
    }
    if let Some(secs) = ch.offline_offer_secs {
        set_setting(c, "offline_offer_secs", &secs.to_string())?;
    }
    chat_settings(c)
}

/// The waiting times the hub holds chats to: the tenant's, and departments' own.
pub fn waiting_times(c: &Connection) -> Result<crate::model::waiting::WaitingTimes> {
    use crate::model::waiting::{Own, Times, WaitingTimes};
    let s = chat_settings(c)?;
    let mut st = c.prepare(
        "SELECT id, queue_alert_secs, offline_offer_secs FROM departments
         WHERE queue_alert_secs IS NOT NULL OR offline_offer_secs IS NOT NULL",
    )?;
    let departments = st
        .query_map([], |r| {
            let own = Own {
                alert: r.get(1)?,
                offer: r.get(2)?,
            };
            Ok((r.get(0)?, own))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(WaitingTimes {
        tenant: Times {
            alert: s.queue_alert_secs,
            offer: s.offline_offer_secs,
        },
        departments,
    })
}
