//! Durations in seconds as a mergeable histogram, for medians and percentiles over any number
//! of days. Buckets are one second wide up to 5 minutes, then 10 s up to 30 minutes, 1 minute
//! up to 4 hours, 15 minutes up to 2 days; longer durations share the last bucket. A bucket
//! stands for its middle, so a figure is exact up to 5 minutes and within half a bucket above.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// (first second, width) of each bucket range.
const RANGES: [(i64, i64); 4] = [(0, 1), (300, 10), (1_800, 60), (14_400, 900)];
const END: i64 = 172_800;

/// A histogram of durations.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Histogram(BTreeMap<u16, u64>);

fn bucket(secs: i64) -> u16 {
    let secs = secs.clamp(0, END);
    let mut first_bucket = 0;
    for (i, &(start, width)) in RANGES.iter().enumerate() {
        let next = RANGES.get(i + 1).map_or(END, |r| r.0);
        if secs < next {
            return (first_bucket + (secs - start) / width) as u16;
        }
        first_bucket += (next - start) / width;
    }
    first_bucket as u16
}

/// The value a bucket stands for.
fn value(b: u16) -> f64 {
    let mut b = b as i64;
    for (i, &(start, width)) in RANGES.iter().enumerate() {
        let next = RANGES.get(i + 1).map_or(END, |r| r.0);
        let count = (next - start) / width;
        if b < count {
            return if width == 1 {
                (start + b) as f64
            } else {
                (start + b * width) as f64 + width as f64 / 2.0
            };
        }
        b -= count;
    }
    END as f64
}

impl Histogram {
    /// Counts one duration.
    pub fn add(&mut self, secs: i64) {
        *self.0.entry(bucket(secs)).or_insert(0) += 1;
    }

    /// Takes in another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (b, n) in &other.0 {
            *self.0.entry(*b).or_insert(0) += n;
        }
    }

    /// How many durations it holds.
    pub fn count(&self) -> u64 {
        self.0.values().sum()
    }

    /// The value of the `rank`-th smallest duration (0-based).
    fn at(&self, rank: u64) -> f64 {
        let mut seen = 0;
        for (b, n) in &self.0 {
            seen += n;
            if rank < seen {
                return value(*b);
            }
        }
        0.0
    }

    /// The median (the mean of the two middle values for an even count); none when empty.
    pub fn median(&self) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        Some(if n % 2 == 1 {
            self.at(n / 2)
        } else {
            (self.at(n / 2 - 1) + self.at(n / 2)) / 2.0
        })
    }

    /// The 90th percentile by nearest rank; none when empty.
    pub fn p90(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.at((n * 9).div_ceil(10) - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(v: &[i64]) -> Histogram {
        let mut h = Histogram::default();
        v.iter().for_each(|s| h.add(*s));
        h
    }

    #[test]
    fn exact_up_to_five_minutes() {
        assert_eq!(of(&[]).median(), None);
        assert_eq!(of(&[0, 60, 120]).median(), Some(60.0));
        assert_eq!(of(&[30, 120]).median(), Some(75.0));
        assert_eq!(of(&[299, 1, 2]).median(), Some(2.0));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(of(&ten).p90(), Some(9.0));
        assert_eq!(of(&[7]).p90(), Some(7.0));
    }

    #[test]
    fn longer_durations_within_half_a_bucket() {
        for secs in [
            300, 301, 1_799, 1_800, 5_000, 14_399, 14_400, 100_000, 172_799,
        ] {
            let m = of(&[secs]).median().unwrap();
            let width = RANGES.iter().rev().find(|r| secs >= r.0).unwrap().1 as f64;
            assert!((m - secs as f64).abs() <= width / 2.0, "{secs} -> {m}");
        }
        assert_eq!(of(&[10_000_000]).median(), Some(END as f64));
        assert_eq!(of(&[-5]).median(), Some(0.0));
        let mut last = 0;
        for s in 0..END {
            let b = bucket(s);
            assert!(b == last || b == last + 1, "buckets are contiguous at {s}");
            last = b;
        }
    }

    #[test]
    fn merging_adds_counts() {
        let mut a = of(&[1, 2, 400]);
        a.merge(&of(&[2, 3]));
        assert_eq!(a, of(&[1, 2, 2, 3, 400]));
        assert_eq!(a.count(), 5);
    }
}
