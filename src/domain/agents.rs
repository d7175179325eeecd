//! Agent emails, the password policy, and who may hand out which rights (the roles
//! themselves: `crate::model::rights`).

use crate::error::{Error, Result};
use crate::model::rights::Permissions;

/// Whether an agent holding `own` may hand out `granted`: give a role with these permissions
/// to anyone (themselves included), or create or change a role to have them. Only rights one
/// holds oneself can be handed out, so nobody with `agents.manage` makes themselves or anyone
/// else an admin, and nobody raises their own role (lowering it is fine). The operator's
/// command line is not bound by this.
pub fn may_grant(own: Permissions, granted: Permissions) -> Result<()> {
    within(
        own,
        granted,
        "you may hand out only permissions you hold yourself; you lack",
    )
}

/// Whether a holder of `own` may change or sign out an agent who holds `theirs`: only someone
/// whose rights it holds itself, so an agent manager cannot disable, rename, demote or sign
/// out an admin (or anyone above it) to take the team over.
pub fn may_manage(own: Permissions, theirs: Permissions) -> Result<()> {
    within(
        own,
        theirs,
        "you may change only agents whose permissions you hold yourself; they have",
    )
}

/// `Forbidden` naming what of `other` is beyond `own`, after `refusal`.
fn within(own: Permissions, other: Permissions, refusal: &str) -> Result<()> {
    let missing = other.beyond(own);
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Forbidden(format!(
        "{refusal} {}",
        missing.names().join(", ")
    )))
}

/// Lower-cases and checks an email address: one `@`, non-empty parts, a dot in the domain,
/// no spaces or control characters, at most 254 characters.
pub fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            // The unquoted address syntax: no spaces, colons, brackets or quotes, so an
            // address can never be mistaken for a URL scheme or markup.
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && local
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
                    && domain.contains('.')
                    && domain.split('.').all(|l| {
                        !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    })
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err(Error::Invalid(format!(
            "{raw:?} is not a valid email address"
        )))
    }
}

/// Passwords people commonly choose; refused outright (ASVS 6.2.x asks for such a check).
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "passwort",
    "passwort1",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyui",
    "qwertyuiop",
    "qwertz123",
    "iloveyou",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "welcome123",
    "letmein1",
    "admin123",
    "administrator",
    "abc12345",
    "11111111",
    "00000000",
    "87654321",
    "trustno1",
    "changeme",
    "hallo123",
    "master12",
    "superman",
    "computer",
    "internet",
    "geheim123",
    "sommer2024",
    "sommer2025",
    "winter2024",
    "winter2025",
    "kontor123",
];

/// ASVS-style policy: 8 to 128 characters (so 64 are accepted), not a common password.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < 8 {
        return Err(Error::Invalid(
            "password must have at least 8 characters".into(),
        ));
    }
    if n > 128 {
        return Err(Error::Invalid(
            "password must have at most 128 characters".into(),
        ));
    }
    if COMMON.contains(&password.to_lowercase().as_str()) {
        return Err(Error::Invalid(
            "this password is one of the most common ones; choose another".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@x.de",
            "a@b",
            "a@@b.de",
            "a b@c.de",
            "a\n@b.de",
            "a@.de",
            "javascript:alert(1)//@x.com",
            "\"a\"@b.de",
            "a@b_c.de",
            "<a>@b.de",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_rights_one_holds_are_handed_out() {
        let own = Permissions::parse("chat agents.manage").unwrap();
        may_grant(own, own).unwrap();
        may_grant(own, Permissions::parse("chat").unwrap()).unwrap();
        may_grant(own, Permissions::default()).unwrap();
        let e = may_grant(own, Permissions::all()).unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{e}");
        assert!(e.to_string().contains("gdpr.handle"), "{e}");
        may_grant(Permissions::all(), Permissions::all()).unwrap();
    }

    #[test]
    fn only_agents_with_rights_one_holds_are_managed() {
        let lead = Permissions::parse("chat agents.manage").unwrap();
        // (the other agent's rights, whether the lead may change them)
        let table = [
            (Permissions::parse("chat").unwrap(), true),
            (lead, true),
            (Permissions::default(), true),
            (Permissions::parse("chat stats.view").unwrap(), false),
            (Permissions::all(), false),
        ];
        for (theirs, allowed) in table {
            assert_eq!(
                may_manage(lead, theirs).is_ok(),
                allowed,
                "{}",
                theirs.to_text()
            );
        }
        may_manage(Permissions::all(), Permissions::all()).unwrap();
    }

    #[test]
    fn passwords() {
        check_password("long enough pass").unwrap();
        check_password(&"x".repeat(64)).unwrap();
        assert!(check_password("short").is_err());
        assert!(check_password("Password123").is_err());
        assert!(check_password(&"x".repeat(129)).is_err());
    }
}
