//! Blocked visitors: who a block catches and for how long. A block names the visitor's
//! anonymous daily key (their browser, today) and, when the agent chose so, their truncated
//! address (which also catches them on later days and in other browsers behind it).

use crate::error::{Error, Result};

/// How long a block lasts: the choices the dashboard offers.
pub const PERIODS: [(&str, i64); 3] = [("1h", 3600), ("1d", 86_400), ("30d", 30 * 86_400)];

/// Seconds for a period name (`1h`, `1d`, `30d`).
pub fn period_secs(name: &str) -> Result<i64> {
    PERIODS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .ok_or_else(|| Error::Invalid(format!("period {name:?} must be 1h, 1d or 30d")))
}

/// At most this many characters of reason.
pub const REASON_MAX: usize = 500;

/// A block in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Id.
    pub id: i64,
    /// The visitor's anonymous daily key, if known.
    pub visitor_key: Option<[u8; 16]>,
    /// The truncated address, if blocked too.
    pub address: Option<String>,
    /// Unix seconds when it ends.
    pub expires_at: i64,
}

/// The block that catches a visitor with this key and address at `now`, if any.
pub fn catching<'a>(
    blocks: &'a [Block],
    key: Option<&[u8; 16]>,
    address: Option<&str>,
    now: i64,
) -> Option<&'a Block> {
    blocks.iter().find(|b| {
        b.expires_at > now
            && ((b.visitor_key.is_some() && b.visitor_key.as_ref() == key)
                || (b.address.is_some() && b.address.as_deref() == address))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(key: Option<u8>, address: Option<&str>, expires_at: i64) -> Block {
        Block {
            id: 1,
            visitor_key: key.map(|k| [k; 16]),
            address: address.map(String::from),
            expires_at,
        }
    }

    #[test]
    fn a_block_catches_its_key_or_its_address_until_it_ends() {
        let blocks = [
            block(Some(1), None, 100),
            block(None, Some("203.0.113.0"), 50),
        ];
        assert!(catching(&blocks, Some(&[1; 16]), Some("198.51.100.0"), 99).is_some());
        assert!(
            catching(&blocks, Some(&[1; 16]), None, 100).is_none(),
            "ended"
        );
        assert!(catching(&blocks, Some(&[2; 16]), Some("203.0.113.0"), 49).is_some());
        assert!(catching(&blocks, Some(&[2; 16]), Some("203.0.113.0"), 50).is_none());
        // Neither side known: nothing matches by absence.
        assert!(catching(&blocks, None, None, 0).is_none());
        assert!(catching(&[block(None, Some("x"), 10)], None, None, 0).is_none());
    }

    #[test]
    fn periods_are_the_three_offered() {
        assert_eq!(period_secs("1h").unwrap(), 3600);
        assert_eq!(period_secs("30d").unwrap(), 2_592_000);
        assert!(period_secs("1y").is_err());
        assert!(period_secs("").is_err());
    }
}
