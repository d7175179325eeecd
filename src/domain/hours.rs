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

/// The hours that hold for chats of `department`: its own when it has them, else the
/// tenant's default (also for chats without a department).
fn effective(c: &Connection, department: Option<i64>) -> Result<Option<Hours>> {
    if let Some(own) = department.map(|d| store::get(c, d)).transpose()?.flatten() {
        return Ok(Some(own));
    }
    store::get(c, store::TENANT_DEFAULT)
}

/// Whether a chat for `department` (or for none) may start at `now`.
pub fn open_for(c: &Connection, department: Option<i64>, now: i64) -> Result<bool> {
    Ok(hours::status_at(effective(c, department)?.as_ref(), now).open)
}

/// What a site's widget follows at `now`, with the hours its "back at" sentence is told in.
/// Without a department choice (`offered` empty) that is the tenant's default; with one, the
/// site is open while any offered department is (each by its own hours or the default), and
/// closed it opens again with the earliest of them.
pub fn site_status(c: &Connection, offered: &[i64], now: i64) -> Result<(Option<Hours>, Status)> {
    if offered.is_empty() {
        let h = effective(c, None)?;
        let status = hours::status_at(h.as_ref(), now);
        return Ok((h, status));
    }
    let mut first: Option<(Option<Hours>, Status)> = None;
    for d in offered {
        let h = effective(c, Some(*d))?;
        let status = hours::status_at(h.as_ref(), now);
        if status.open {
            return Ok((h, status));
        }
        let earlier = match (&first, status.next_open) {
            (None, _) => true,
            (Some((_, f)), Some(next)) => f.next_open.is_none_or(|fnext| next < fnext),
            (Some(_), None) => false,
        };
        if earlier {
            first = Some((h, status));
        }
    }
    Ok(first.unwrap_or((None, Status::ALWAYS)))
}

/// Of the `offered` departments, those whose hours are open at `now`.
pub fn open_by_hours(c: &Connection, offered: &[i64], now: i64) -> Result<Vec<i64>> {
    let mut open = Vec::new();
    for d in offered {
        if open_for(c, Some(*d), now)? {
            open.push(*d);
        }
    }
    Ok(open)
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
