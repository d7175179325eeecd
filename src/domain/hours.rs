//! Business hours as the server uses them: reading and saving a scope's hours (the tenant's
//! default or a department's), whether the tenant is open now, and the sentence that tells a
//! visitor when it opens again.

use crate::error::{Error, Result};
use crate::i18n::{self, Lang};
use crate::model::hours::{self, Hours, HoursInput, Status};
use crate::store::hours as store;
use jiff::Timestamp;
use rusqlite::Connection;

/// The hours of a scope as written (`None`: none set, always open); unknown departments are
/// not found.
pub fn show(c: &Connection, department: i64) -> Result<Option<HoursInput>> {
    known(c, department)?;
    Ok(store::get(c, department)?.map(|h| h.input().clone()))
}

/// Checks and stores the hours of a scope (`None` removes them: always open); answers them
/// normalized.
pub fn save(
    c: &Connection,
    department: i64,
    input: Option<HoursInput>,
    at: i64,
) -> Result<Option<HoursInput>> {
    known(c, department)?;
    let hours = input.map(Hours::parse).transpose()?;
    store::set(c, department, hours.as_ref(), at)?;
    Ok(hours.map(|h| h.input().clone()))
}

fn known(c: &Connection, department: i64) -> Result<()> {
    if store::scope_exists(c, department)? {
        Ok(())
    } else {
        Err(Error::NotFound("department".into()))
    }
}

/// The tenant's default hours (what the widget follows) and its status at `now`.
pub fn tenant_status(c: &Connection, now: i64) -> Result<(Option<Hours>, Status)> {
    let h = store::get(c, store::TENANT_DEFAULT)?;
    let status = hours::status_at(h.as_ref(), now);
    Ok((h, status))
}

/// For a visitor while closed: "We are back on Monday at 09:00 (Europe/Berlin)." in their
/// language, the time in the business's zone (the zone is named, as the visitor may live
/// elsewhere).
pub fn back_text(lang: Lang, h: &Hours, next: Option<Timestamp>, now: i64) -> String {
    let Some(next) = next else {
        return i18n::t(lang, "widget.closed_now").to_string();
    };
    let local = h.tz().to_datetime(next);
    let today = Timestamp::from_second(now)
        .map(|t| h.tz().to_datetime(t).date())
        .unwrap_or(local.date());
    let days = (local.date() - today).get_days();
    let time = format!("{:02}:{:02}", local.hour(), local.minute());
    let weekday = hours::WEEKDAYS[local.date().weekday().to_monday_zero_offset() as usize];
    let day = i18n::t(lang, &format!("widget.day_{weekday}"));
    let key = match days {
        0 => "widget.closed_until_today",
        1 => "widget.closed_until_tomorrow",
        2..=6 => "widget.closed_until_day",
        _ => "widget.closed_until_date",
    };
    let date = i18n::t(lang, "widget.date")
        .replace("{year}", &local.year().to_string())
        .replace("{month}", &format!("{:02}", local.month()))
        .replace("{day}", &format!("{:02}", local.day()));
    i18n::t(lang, key)
        .replace("{weekday}", day)
        .replace("{date}", &date)
        .replace("{time}", &time)
        .replace("{zone}", h.tz_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> Hours {
        Hours::parse(HoursInput {
            time_zone: "Europe/Berlin".into(),
            week: [("mon".to_string(), vec!["09:00-17:00".to_string()])].into(),
            ..Default::default()
        })
        .unwrap()
    }

    fn secs(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_second()
    }

    #[test]
    fn the_next_opening_for_visitors() {
        let h = hours();
        // Saturday 2026-03-07 evening: back on Monday.
        let now = secs("2026-03-07T20:00:00Z");
        let next = h.next_open(Timestamp::from_second(now).unwrap());
        assert_eq!(
            back_text(Lang::En, &h, next, now),
            "We are back on Monday at 09:00 (Europe/Berlin)."
        );
        assert_eq!(
            back_text(Lang::De, &h, next, now),
            "Wir sind am Montag um 09:00 Uhr wieder da (Europe/Berlin)."
        );
        // Sunday: tomorrow; Monday early: today.
        let sunday = secs("2026-03-08T12:00:00Z");
        assert!(back_text(Lang::En, &h, next, sunday).contains("tomorrow at 09:00"));
        let monday = secs("2026-03-09T06:00:00Z");
        assert!(back_text(Lang::En, &h, next, monday).contains("today at 09:00"));
        // More than a week away: the date.
        let far = secs("2026-02-20T12:00:00Z");
        assert!(back_text(Lang::De, &h, next, far).contains("09.03.2026"));
        assert_eq!(
            back_text(Lang::En, &h, None, now),
            "We are closed at the moment."
        );
    }
}
