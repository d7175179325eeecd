//! Business hours: when a tenant (or one department) takes chats. Weekly opening times in the
//! business's own time zone, closed days (holidays) and special days whose hours replace the
//! week's. Pure rules: checking what people typed, "is it open at this instant" and "when does
//! it open next". Wall-clock times are compared in the business's zone, so DST moves the
//! instants, not the opening times.

use crate::error::{Error, Result};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Opening intervals one day may have at most.
pub const MAX_INTERVALS: usize = 10;
/// Closed and special days a set may list at most (a few years of holidays).
pub const MAX_DATES: usize = 500;
/// Characters a closed day's label may have at most.
pub const MAX_LABEL: usize = 100;
/// The weekdays as they are written, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// How far ahead the next opening is looked for.
const HORIZON_DAYS: usize = 400;

/// Business hours as written and stored: what the API, the CLI and the database exchange.
/// Intervals are `"HH:MM-HH:MM"` (end `24:00` for midnight).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursInput {
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Weekday (`mon` … `sun`) to its intervals; a missing day is closed.
    #[serde(default)]
    pub week: BTreeMap<String, Vec<String>>,
    /// Days closed all day.
    #[serde(default)]
    pub closed: Vec<ClosedDay>,
    /// Days with other hours than their weekday's.
    #[serde(default)]
    pub special: Vec<SpecialDay>,
}

/// A day closed all day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosedDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// What it is, e.g. "Christmas" (optional).
    #[serde(default)]
    pub label: String,
}

/// A day whose hours replace its weekday's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Its intervals, `"HH:MM-HH:MM"`.
    pub hours: Vec<String>,
}

/// One opening interval in minutes after local midnight; `end` may be 1440 (24:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Interval {
    start: u16,
    end: u16,
}

/// Checked business hours, ready for the rules.
#[derive(Debug, Clone)]
pub struct Hours {
    tz: TimeZone,
    /// Monday first.
    week: [Vec<Interval>; 7],
    /// A closed day is an empty list.
    dates: BTreeMap<Date, Vec<Interval>>,
    input: HoursInput,
}

/// Whether it is open now, and if not, when it opens next (`None`: not within a year).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Open at the instant asked about.
    pub open: bool,
    /// The next opening, when closed.
    pub next_open: Option<Timestamp>,
}

impl Status {
    /// No hours set: always open.
    pub const ALWAYS: Status = Status {
        open: true,
        next_open: None,
    };
}

fn invalid(field: &str, what: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{field}: {what}"))
}

/// `HH:MM` as minutes; `24:00` only where `end` allows it.
fn minutes(field: &str, s: &str, end: bool) -> Result<u16> {
    let bad = || invalid(field, format!("\"{s}\" is not a time HH:MM"));
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) if end => Ok(1440),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

/// A day's intervals, sorted, refused when malformed, reversed, overlapping or too many.
fn intervals(field: &str, list: &[String]) -> Result<Vec<Interval>> {
    if list.len() > MAX_INTERVALS {
        return Err(invalid(
            field,
            format!("at most {MAX_INTERVALS} intervals a day"),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        let s = s.trim();
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| invalid(field, format!("\"{s}\" is not an interval HH:MM-HH:MM")))?;
        let (start, end) = (
            minutes(field, a.trim(), false)?,
            minutes(field, b.trim(), true)?,
        );
        if end <= start {
            return Err(invalid(field, format!("{s} ends before it starts")));
        }
        out.push(Interval { start, end });
    }
    out.sort();
    for w in out.windows(2) {
        if w[0].end > w[1].start {
            return Err(invalid(
                field,
                format!("{} and {} overlap", show(w[0]), show(w[1])),
            ));
        }
    }
    Ok(out)
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn show(i: Interval) -> String {
    format!("{}-{}", hhmm(i.start), hhmm(i.end))
}

fn date(field: &str, s: &str) -> Result<Date> {
    let ok = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    ok.then(|| s.parse::<Date>().ok())
        .flatten()
        .ok_or_else(|| invalid(field, format!("\"{s}\" is not a date YYYY-MM-DD")))
}

/// Checks an IANA time zone name (from the bundled database, so it does not depend on the host).
pub fn time_zone(name: &str) -> Result<TimeZone> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("time_zone", "is required (e.g. Europe/Berlin)"));
    }
    TimeZone::get(name).map_err(|_| invalid("time_zone", format!("unknown time zone \"{name}\"")))
}

impl Hours {
    /// Checks hours as written; the message names the field at fault.
    pub fn parse(input: HoursInput) -> Result<Hours> {
        let tz = time_zone(&input.time_zone)?;
        let mut week: [Vec<Interval>; 7] = Default::default();
        for (day, list) in &input.week {
            let i = WEEKDAYS
                .iter()
                .position(|d| d == day)
                .ok_or_else(|| invalid("week", format!("unknown weekday \"{day}\"")))?;
            week[i] = intervals(&format!("week.{day}"), list)?;
        }
        if input.closed.len() + input.special.len() > MAX_DATES {
            return Err(invalid("closed", format!("at most {MAX_DATES} dates")));
        }
        let mut dates = BTreeMap::new();
        for (n, c) in input.closed.iter().enumerate() {
            let field = format!("closed[{n}]");
            let d = date(&field, c.date.trim())?;
            if c.label.chars().count() > MAX_LABEL || c.label.chars().any(char::is_control) {
                return Err(invalid(
                    &format!("{field}.label"),
                    format!("at most {MAX_LABEL} characters, on one line"),
                ));
            }
            if dates.insert(d, Vec::new()).is_some() {
                return Err(invalid(&field, format!("{d} is listed twice")));
            }
        }
        for (n, s) in input.special.iter().enumerate() {
            let field = format!("special[{n}]");
            let d = date(&field, s.date.trim())?;
            let list = intervals(&format!("{field}.hours"), &s.hours)?;
            if dates.insert(d, list).is_some() {
                return Err(invalid(&field, format!("{d} is listed twice")));
            }
        }
        let input = HoursInput {
            time_zone: tz.iana_name().unwrap_or(input.time_zone.trim()).to_string(),
            week: WEEKDAYS
                .iter()
                .zip(&week)
                .filter(|(_, l)| !l.is_empty())
                .map(|(d, l)| (d.to_string(), l.iter().map(|i| show(*i)).collect()))
                .collect(),
            closed: input
                .closed
                .iter()
                .map(|c| ClosedDay {
                    date: c.date.trim().to_string(),
                    label: c.label.trim().to_string(),
                })
                .collect(),
            special: input
                .special
                .iter()
                .filter_map(|s| {
                    let d = s.date.trim().parse::<Date>().ok()?;
                    Some(SpecialDay {
                        date: d.to_string(),
                        hours: dates[&d].iter().map(|i| show(*i)).collect(),
                    })
                })
                .collect(),
        };
        Ok(Hours {
            tz,
            week,
            dates,
            input,
        })
    }

    /// The hours as written, normalized (sorted intervals, zero-padded times).
    pub fn input(&self) -> &HoursInput {
        &self.input
    }

    /// The business's time zone.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// Its IANA name.
    pub fn tz_name(&self) -> &str {
        &self.input.time_zone
    }

    /// The intervals of one local date: a closed or special day's, else its weekday's.
    fn day(&self, d: Date) -> &[Interval] {
        match self.dates.get(&d) {
            Some(list) => list,
            None => &self.week[d.weekday().to_monday_zero_offset() as usize],
        }
    }

    /// Open at `at`: the local wall-clock time lies in one of that local date's intervals.
    pub fn is_open(&self, at: Timestamp) -> bool {
        let local = self.tz.to_datetime(at);
        let m = local.hour() as u16 * 60 + local.minute() as u16;
        self.day(local.date())
            .iter()
            .any(|i| i.start <= m && m < i.end)
    }

    /// The instant a local opening time happens. A time the spring change skips (02:30 in
    /// Berlin) opens when the clocks jump, because from then on the wall clock is past it.
    fn instant(&self, dt: DateTime) -> Option<Timestamp> {
        let amb = self.tz.to_ambiguous_timestamp(dt);
        match amb.offset() {
            AmbiguousOffset::Gap { .. } => {
                let before = amb.earlier().ok()?;
                Some(self.tz.following(before).next()?.timestamp())
            }
            // The first of a repeated hour (autumn): the wall clock reaches it then.
            _ => amb.earlier().ok(),
        }
    }

    /// The first opening after `at` (not within [`HORIZON_DAYS`]: `None`).
    pub fn next_open(&self, at: Timestamp) -> Option<Timestamp> {
        let mut d = self.tz.to_datetime(at).date();
        for _ in 0..HORIZON_DAYS {
            for i in self.day(d) {
                let start = d.at((i.start / 60) as i8, (i.start % 60) as i8, 0, 0);
                match self.instant(start) {
                    Some(t) if t > at => return Some(t),
                    _ => {}
                }
            }
            d = d.tomorrow().ok()?;
        }
        None
    }

    /// Open or not at `at`, and when closed, the next opening.
    pub fn status(&self, at: Timestamp) -> Status {
        let open = self.is_open(at);
        Status {
            open,
            next_open: if open { None } else { self.next_open(at) },
        }
    }
}

/// The status for a Unix time: `None` hours are always open.
pub fn status_at(hours: Option<&Hours>, unix: i64) -> Status {
    match (hours, Timestamp::from_second(unix)) {
        (Some(h), Ok(t)) => h.status(t),
        _ => Status::ALWAYS,
    }
}

/// The week written on one line, as the CLI takes it:
/// `mon-fri 09:00-12:00,13:00-17:00; sat 10:00-14:00` (days: a name, a range or a list
/// `mon,wed`; several parts for one day add up).
pub fn parse_week(spec: &str) -> Result<BTreeMap<String, Vec<String>>> {
    let mut week: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (days, times) = part
            .split_once(char::is_whitespace)
            .ok_or_else(|| invalid("week", format!("\"{part}\" needs days and times")))?;
        let mut chosen = BTreeSet::new();
        for d in days.split(',') {
            let idx = |name: &str| {
                WEEKDAYS
                    .iter()
                    .position(|w| *w == name)
                    .ok_or_else(|| invalid("week", format!("unknown weekday \"{name}\"")))
            };
            match d.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (idx(a)?, idx(b)?);
                    if b < a {
                        return Err(invalid("week", format!("\"{d}\" runs backwards")));
                    }
                    chosen.extend(a..=b);
                }
                None => {
                    chosen.insert(idx(d)?);
                }
            }
        }
        for i in chosen {
            let list = week.entry(WEEKDAYS[i].to_string()).or_default();
            list.extend(
                times
                    .split([',', ' '])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from),
            );
        }
    }
    Ok(week)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin(week: &[(&str, &[&str])]) -> HoursInput {
        HoursInput {
            time_zone: "Europe/Berlin".into(),
            week: week
                .iter()
                .map(|(d, l)| (d.to_string(), l.iter().map(|s| s.to_string()).collect()))
                .collect(),
            ..Default::default()
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn every_day(list: &[&str]) -> HoursInput {
        let days: Vec<(&str, &[&str])> = WEEKDAYS.iter().map(|d| (*d, list)).collect();
        berlin(&days)
    }

    #[test]
    fn weekly_hours_with_a_lunch_break() {
        let h = Hours::parse(berlin(&[("mon", &["13:00-17:00", "09:00-12:00"])])).unwrap();
        // Monday 2026-03-02, Berlin is UTC+1 in winter.
        assert!(!h.is_open(at("2026-03-02T07:59:59Z")));
        assert!(h.is_open(at("2026-03-02T08:00:00Z")));
        assert!(!h.is_open(at("2026-03-02T11:00:00Z")), "lunch");
        assert_eq!(
            h.next_open(at("2026-03-02T11:00:00Z")),
            Some(at("2026-03-02T12:00:00Z"))
        );
        // After Monday's close: the next Monday.
        assert_eq!(
            h.next_open(at("2026-03-02T16:00:00Z")),
            Some(at("2026-03-09T08:00:00Z"))
        );
        assert_eq!(h.input().week["mon"], vec!["09:00-12:00", "13:00-17:00"]);
    }

    #[test]
    fn spring_and_autumn_dst_change_in_berlin() {
        let h = Hours::parse(every_day(&["09:00-17:00"])).unwrap();
        // Saturday 2026-03-28 is UTC+1, Sunday 2026-03-29 from 03:00 UTC+2.
        assert_eq!(
            h.next_open(at("2026-03-28T17:00:00Z")),
            Some(at("2026-03-29T07:00:00Z")),
            "09:00 summer time"
        );
        assert!(h.is_open(at("2026-03-29T07:00:00Z")));
        assert!(!h.is_open(at("2026-03-29T15:00:00Z")), "17:00 CEST");
        // Autumn: Sunday 2026-10-25 back to UTC+1.
        assert_eq!(
            h.next_open(at("2026-10-24T20:00:00Z")),
            Some(at("2026-10-25T08:00:00Z"))
        );
        assert!(h.is_open(at("2026-10-25T15:59:00Z")));
        assert!(!h.is_open(at("2026-10-25T16:00:00Z")));
    }

    #[test]
    fn openings_inside_the_changed_hour() {
        let h = Hours::parse(every_day(&["02:30-04:00"])).unwrap();
        // 02:30 does not exist on 2026-03-29: it opens when the clocks jump to 03:00 CEST.
        assert_eq!(
            h.next_open(at("2026-03-28T23:00:00Z")),
            Some(at("2026-03-29T01:00:00Z"))
        );
        assert!(h.is_open(at("2026-03-29T01:00:00Z")));
        // 02:30 happens twice on 2026-10-25: it opens at the first.
        assert_eq!(
            h.next_open(at("2026-10-24T22:00:00Z")),
            Some(at("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn holidays_and_special_days_replace_the_week() {
        let mut input = every_day(&["09:00-17:00"]);
        input.closed.push(ClosedDay {
            date: "2026-12-25".into(),
            label: "Christmas".into(),
        });
        input.closed.push(ClosedDay {
            date: "2026-12-26".into(),
            label: String::new(),
        });
        input.special.push(SpecialDay {
            date: "2026-12-24".into(),
            hours: vec!["10:00-12:00".into()],
        });
        let h = Hours::parse(input).unwrap();
        assert!(!h.is_open(at("2026-12-24T08:30:00Z")), "09:30: special day");
        assert!(h.is_open(at("2026-12-24T09:00:00Z")));
        assert!(!h.is_open(at("2026-12-25T10:00:00Z")), "Christmas");
        assert_eq!(
            h.next_open(at("2026-12-24T11:00:00Z")),
            Some(at("2026-12-27T08:00:00Z")),
            "after two closed days"
        );
    }

    #[test]
    fn intervals_ending_at_midnight() {
        let h = Hours::parse(berlin(&[
            ("fri", &["20:00-24:00"]),
            ("sat", &["00:00-02:00"]),
        ]))
        .unwrap();
        // Friday 2026-01-09 23:59 local and Saturday 00:30 local.
        assert!(h.is_open(at("2026-01-09T22:59:00Z")));
        assert!(h.is_open(at("2026-01-09T23:30:00Z")));
        assert!(!h.is_open(at("2026-01-10T01:00:00Z")));
        assert_eq!(
            h.next_open(at("2026-01-10T01:00:00Z")),
            Some(at("2026-01-16T19:00:00Z"))
        );
    }

    #[test]
    fn no_intervals_is_closed_for_good() {
        let h = Hours::parse(berlin(&[])).unwrap();
        assert_eq!(
            h.status(at("2026-01-01T00:00:00Z")),
            Status {
                open: false,
                next_open: None
            }
        );
        assert_eq!(status_at(None, 0), Status::ALWAYS);
    }

    #[test]
    fn bad_input_names_the_field() {
        let cases: Vec<(HoursInput, &str)> = vec![
            (
                berlin(&[("mon", &["09:00-12:00", "11:00-13:00"])]),
                "week.mon: 09:00-12:00 and 11:00-13:00 overlap",
            ),
            (
                berlin(&[("mon", &["17:00-09:00"])]),
                "week.mon: 17:00-09:00 ends before it starts",
            ),
            (
                berlin(&[("tue", &["9:00-12:00"])]),
                "week.tue: \"9:00\" is not a time HH:MM",
            ),
            (berlin(&[("tue", &["09:60-12:00"])]), "is not a time"),
            (berlin(&[("tue", &["24:00-24:00"])]), "is not a time"),
            (berlin(&[("tue", &["0900"])]), "not an interval"),
            (
                berlin(&[("funday", &["09:00-12:00"])]),
                "week: unknown weekday \"funday\"",
            ),
            (
                HoursInput {
                    time_zone: "Mars/Olympus".into(),
                    ..Default::default()
                },
                "time_zone: unknown time zone",
            ),
            (
                HoursInput {
                    time_zone: "".into(),
                    ..Default::default()
                },
                "time_zone: is required",
            ),
        ];
        for (input, msg) in cases {
            let e = Hours::parse(input.clone()).unwrap_err().to_string();
            assert!(e.contains(msg), "{input:?}: {e}");
        }
        let many: Vec<String> = (0..11)
            .map(|h| format!("{:02}:00-{:02}:30", h, h))
            .collect();
        let mut input = berlin(&[]);
        input.week.insert("wed".into(), many);
        assert!(
            Hours::parse(input)
                .unwrap_err()
                .to_string()
                .contains("at most 10")
        );
        let mut input = berlin(&[]);
        input.closed.push(ClosedDay {
            date: "2026-12-24".into(),
            label: String::new(),
        });
        input.special.push(SpecialDay {
            date: "2026-12-24".into(),
            hours: vec!["09:00-12:00".into()],
        });
        assert_eq!(
            Hours::parse(input.clone()).unwrap_err().to_string(),
            "special[0]: 2026-12-24 is listed twice"
        );
        input.special[0].date = "24.12.2026".into();
        assert!(
            Hours::parse(input)
                .unwrap_err()
                .to_string()
                .starts_with("special[0]: \"24.12.2026\" is not a date")
        );
    }

    #[test]
    fn the_cli_week_line() {
        let w = parse_week("mon-fri 09:00-12:00,13:00-17:00; sat 10:00-14:00; mon 18:00-19:00")
            .unwrap();
        assert_eq!(w.len(), 6);
        assert_eq!(w["mon"], vec!["09:00-12:00", "13:00-17:00", "18:00-19:00"]);
        assert_eq!(w["fri"], vec!["09:00-12:00", "13:00-17:00"]);
        assert_eq!(w["sat"], vec!["10:00-14:00"]);
        assert!(
            parse_week("mon,wed 09:00-10:00")
                .unwrap()
                .contains_key("wed")
        );
        assert!(
            parse_week("xyz 09:00-10:00")
                .unwrap_err()
                .to_string()
                .contains("unknown weekday")
        );
        assert!(parse_week("fri-mon 09:00-10:00").is_err());
        assert!(parse_week("mon").is_err());
    }
}
