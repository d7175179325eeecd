//! Statistics periods: whole UTC days, `from` and `to` included, as unix seconds.

use crate::error::{Error, Result};

/// A period in unix seconds: `start` included, `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First second.
    pub start: i64,
    /// First second after it.
    pub end: i64,
}

impl Period {
    /// The period `from`..=`to` (whole UTC days; default: the 30 days up to `now`'s day), checked.
    pub fn days(from: Option<&str>, to: Option<&str>, now: i64) -> Result<Period> {
        let day = |name: &str, v: &str| {
            day_start(v)
                .ok_or_else(|| Error::Invalid(format!("{name} {v:?}: give a date as YYYY-MM-DD")))
        };
        let to_start = match to {
            Some(v) => day("to", v)?,
            None => now.div_euclid(86_400) * 86_400,
        };
        let from_start = match from {
            Some(v) => day("from", v)?,
            None => to_start - 29 * 86_400,
        };
        if from_start > to_start {
            return Err(Error::Invalid(
                "the first day (from) is after the last (to)".into(),
            ));
        }
        if to_start - from_start > 3660 * 86_400 {
            return Err(Error::Invalid("at most ten years at a time".into()));
        }
        Ok(Period {
            start: from_start,
            end: to_start + 86_400,
        })
    }

    /// The period of the same length just before this one.
    pub fn previous(self) -> Period {
        Period {
            start: self.start - (self.end - self.start),
            end: self.start,
        }
    }

    /// Its first day, `YYYY-MM-DD`.
    pub fn first_day(self) -> String {
        day_of(self.start)
    }

    /// Its last day, `YYYY-MM-DD`.
    pub fn last_day(self) -> String {
        day_of(self.end - 1)
    }
}

/// Parses `YYYY-MM-DD` to the unix second of that day's start (UTC).
pub fn day_start(s: &str) -> Option<i64> {
    let mut parts = s.trim().splitn(3, '-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u8 = parts.next()?.parse().ok()?;
    let d: u8 = parts.next()?.parse().ok()?;
    let month = time::Month::try_from(m).ok()?;
    let date = time::Date::from_calendar_date(y, month, d).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// `YYYY-MM-DD` of the day a unix second falls in (UTC).
pub fn day_of(secs: i64) -> String {
    let d = time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_print() {
        assert_eq!(day_start("1970-01-02"), Some(86_400));
        assert_eq!(day_start("2026-02-30"), None);
        assert_eq!(day_start("2026-13-01"), None);
        assert_eq!(day_start("yesterday"), None);
        assert_eq!(day_of(86_400 * 2 - 1), "1970-01-02");
    }
}
