//! Visitor relevance, 0-10: how promising a live visitor looks, from a few defined signals of
//! what the visit itself shows, so a small team spends its attention on the right visitors.
//!
//! Each signal earns up to its weight (the site's, 0-10 each; defaults below, summing to 10):
//!
//! | signal | full weight when | part of it |
//! |---|---|---|
//! | `pages` | 5 or more pages in this visit | pages / 5 |
//! | `time` | 5 minutes or more on the site in this visit | seconds / 300 |
//! | `campaign` | the visit came through a campaign (`utm_*`) | all or nothing |
//! | `goal` | a goal was reached (or a goal page seen) in this visit | all or nothing |
//! | `returning` | the 4th visit or later (consented mode only) | (visits - 1) / 3 |
//! | `chats` | chatted before (consented mode only) | all or nothing |
//!
//! The score is the sum, rounded, at most 10. In anonymous mode a visitor is not recognised
//! across days and earlier chats are not linked, so `returning` and `chats` count nothing
//! there. Nothing of it is stored: it is computed from the live visit when shown.

use serde::{Deserialize, Serialize};

/// The signals in the order the dashboard names them.
pub const SIGNALS: [&str; 6] = ["pages", "time", "campaign", "goal", "returning", "chats"];

/// How much each signal may add, 0-10 each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    /// Pages in this visit.
    pub pages: u8,
    /// Time on the site in this visit.
    pub time: u8,
    /// Arrival through a campaign.
    pub campaign: u8,
    /// A goal reached in this visit.
    pub goal: u8,
    /// Visits so far (consented mode).
    pub returning: u8,
    /// Earlier chats (consented mode).
    pub chats: u8,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights {
            pages: 3,
            time: 2,
            campaign: 1,
            goal: 2,
            returning: 1,
            chats: 1,
        }
    }
}

impl Weights {
    /// Refuses a weight outside 0-10.
    pub fn validate(&self) -> crate::error::Result<()> {
        for (name, w) in self.each() {
            if w > 10 {
                return Err(crate::error::Error::Invalid(format!(
                    "relevance weight {name}: 0 to 10"
                )));
            }
        }
        Ok(())
    }

    fn each(&self) -> [(&'static str, u8); 6] {
        [
            ("pages", self.pages),
            ("time", self.time),
            ("campaign", self.campaign),
            ("goal", self.goal),
            ("returning", self.returning),
            ("chats", self.chats),
        ]
    }
}

/// What a live visit shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signals {
    /// Pages in this visit.
    pub pages: i64,
    /// Seconds from the visit's first page to now.
    pub seconds: i64,
    /// The visit came through a campaign.
    pub campaign: bool,
    /// Goals reached (or goal pages seen) in this visit.
    pub goals: i64,
    /// Consented mode: the visitor is recognised across visits.
    pub consented: bool,
    /// Visits so far, this one included.
    pub visits: i64,
    /// Chats before this visit's.
    pub earlier_chats: i64,
}

/// A visitor's score and the signals that count for it (those adding anything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relevance {
    /// 0-10.
    pub score: u8,
    /// The signals that add to it, largest first.
    pub why: Vec<&'static str>,
}

/// The score of `s` under `w`.
pub fn score(s: &Signals, w: &Weights) -> Relevance {
    let part = |n: i64, full: i64| (n.max(0) as f64 / full as f64).min(1.0);
    let all = |b: bool| if b { 1.0 } else { 0.0 };
    let parts = [
        ("pages", part(s.pages, 5) * f64::from(w.pages)),
        ("time", part(s.seconds, 300) * f64::from(w.time)),
        ("campaign", all(s.campaign) * f64::from(w.campaign)),
        ("goal", all(s.goals > 0) * f64::from(w.goal)),
        (
            "returning",
            all(s.consented) * part(s.visits - 1, 3) * f64::from(w.returning),
        ),
        (
            "chats",
            all(s.consented && s.earlier_chats > 0) * f64::from(w.chats),
        ),
    ];
    let sum: f64 = parts.iter().map(|(_, v)| v).sum();
    let mut why: Vec<(&'static str, f64)> = parts.into_iter().filter(|(_, v)| *v > 0.0).collect();
    why.sort_by(|a, b| b.1.total_cmp(&a.1));
    Relevance {
        score: sum.round().clamp(0.0, 10.0) as u8,
        why: why.into_iter().map(|(n, _)| n).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_visit_scores_nothing() {
        let r = score(&Signals::default(), &Weights::default());
        assert_eq!((r.score, r.why.len()), (0, 0));
    }

    #[test]
    fn a_hand_computed_visit() {
        // 3 pages (3/5 of 3 = 1.8), 150 s (1/2 of 2 = 1.0), through a campaign (1), no goal,
        // consented 3rd visit (2/3 of 1 = 0.67), no earlier chat: 4.47, so 4.
        let s = Signals {
            pages: 3,
            seconds: 150,
            campaign: true,
            goals: 0,
            consented: true,
            visits: 3,
            earlier_chats: 0,
        };
        let r = score(&s, &Weights::default());
        assert_eq!(r.score, 4);
        assert_eq!(r.why, ["pages", "time", "campaign", "returning"]);
    }

    #[test]
    fn anonymous_visits_count_no_history_and_scores_stop_at_ten() {
        let s = Signals {
            pages: 50,
            seconds: 5000,
            campaign: true,
            goals: 2,
            consented: false,
            visits: 9,
            earlier_chats: 3,
        };
        let r = score(&s, &Weights::default());
        assert_eq!(r.score, 8);
        assert!(!r.why.contains(&"returning") && !r.why.contains(&"chats"));
        let heavy = Weights {
            pages: 10,
            time: 10,
            ..Weights::default()
        };
        assert_eq!(score(&s, &heavy).score, 10);
    }

    #[test]
    fn weights_stay_within_their_range() {
        assert!(Weights::default().validate().is_ok());
        let w = Weights {
            goal: 11,
            ..Weights::default()
        };
        assert!(w.validate().unwrap_err().to_string().contains("goal"));
    }
}
