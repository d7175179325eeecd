//! Set-up links: an invited agent or one whose password an admin reset chooses a password on
//! `/setup/{link}`. The link is `TENANT_UUID.TOKEN` (a random 256-bit token; only its hash is
//! stored), works once and expires after [`LINK_SECS`].

use crate::crypto;
use crate::error::{Error, Result};
use crate::store::links::{self, Purpose};
use rusqlite::Connection;

/// How long a set-up link works: 72 hours.
pub const LINK_SECS: i64 = 72 * 3600;

/// The lowest zxcvbn score accepted (3: about 10^10 guesses or more).
pub const MIN_SCORE: u8 = 3;

/// Creates a link for `agent_id` on the tenant `uuid` (earlier unused ones die) and gives its
/// path, `/setup/UUID.TOKEN`.
pub fn issue(
    c: &Connection,
    uuid: &str,
    agent_id: i64,
    purpose: Purpose,
    now: i64,
) -> Result<String> {
    let token = crypto::random_token();
    links::issue(
        c,
        &crypto::token_hash(&token),
        agent_id,
        purpose,
        now,
        now + LINK_SECS,
    )?;
    Ok(format!("/setup/{uuid}.{token}"))
}

/// A reset link for `agent_id`: an invitation again while the agent never set a password (so
/// using it still enables them), otherwise a password reset.
pub fn issue_reset(c: &Connection, uuid: &str, agent_id: i64, now: i64) -> Result<String> {
    let purpose = if links::invited(c, agent_id)? {
        Purpose::Invite
    } else {
        Purpose::Reset
    };
    issue(c, uuid, agent_id, purpose, now)
}

/// Why zxcvbn finds a password too easy to guess: the i18n key of its warning (or of a general
/// hint when it gives none). `None` when the password is strong enough.
pub fn weakness(password: &str, user_inputs: &[&str]) -> Option<&'static str> {
    let entropy = zxcvbn::zxcvbn(password, user_inputs);
    if entropy.score() as u8 >= MIN_SCORE {
        return None;
    }
    use zxcvbn::feedback::Warning as W;
    let key = match entropy.feedback().and_then(|f| f.warning()) {
        Some(W::StraightRowsOfKeysAreEasyToGuess) => "setup.warn.rows",
        Some(W::ShortKeyboardPatternsAreEasyToGuess) => "setup.warn.keyboard",
        Some(W::RepeatsLikeAaaAreEasyToGuess) => "setup.warn.repeats",
        Some(W::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess) => "setup.warn.repeats_abc",
        Some(W::ThisIsATop10Password | W::ThisIsATop100Password | W::ThisIsACommonPassword) => {
            "setup.warn.common"
        }
        Some(W::ThisIsSimilarToACommonlyUsedPassword) => "setup.warn.similar",
        Some(W::SequencesLikeAbcAreEasyToGuess) => "setup.warn.sequence",
        Some(W::RecentYearsAreEasyToGuess) => "setup.warn.years",
        Some(W::AWordByItselfIsEasyToGuess) => "setup.warn.word",
        Some(W::DatesAreOftenEasyToGuess) => "setup.warn.dates",
        Some(W::NamesAndSurnamesByThemselvesAreEasyToGuess) => "setup.warn.names",
        Some(W::CommonNamesAndSurnamesAreEasyToGuess) => "setup.warn.common_names",
        _ => "setup.warn.weak",
    };
    Some(key)
}

/// Splits `UUID.TOKEN`; `NotFound` for anything else.
pub fn split(link: &str) -> Result<(&str, &str)> {
    link.split_once('.')
        .filter(|(u, t)| {
            !u.is_empty()
                && u.len() <= 64
                && t.len() == 64
                && t.bytes().all(|b| b.is_ascii_hexdigit())
                && u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .ok_or_else(|| Error::NotFound("set-up link".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_strong() {
        assert_eq!(weakness("password", &[]), Some("setup.warn.common"));
        assert!(weakness("qwertyuiop", &[]).is_some());
        assert!(weakness("ann@example.com", &["ann@example.com"]).is_some());
        assert_eq!(weakness("correct horse battery staple", &[]), None);
    }

    #[test]
    fn links_split() {
        let t = "a".repeat(64);
        assert!(split(&format!("abc-1.{t}")).is_ok());
        for bad in ["", "abc", &format!(".{t}"), "abc.def", &format!("a/b.{t}")] {
            assert!(split(bad).is_err(), "{bad:?}");
        }
    }
}
