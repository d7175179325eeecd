//! Data-subject requests (GDPR Art. 15, 16, 17, 20): find everything that belongs to a person,
//! export it, rectify their name and email, erase it. A person is found by email, name,
//! visitor id or chat id, then once more through what that found: the emails given in their
//! chats and the visitor records their chats came from.
//!
//! Each erasure is recorded in the erasure ledger (in `system.db`, which restores never
//! replace): salted hashes of every identifier erased, the time, who, and how many items of
//! each kind; never content. After a restore the ledger is replayed, so an older backup never
//! brings erased data back. The ledger travels in every backup archive and tenant export
//! ([`Carried`]) and is merged into the ledger of the server that restores or imports it.

mod erase;
mod export;
mod ledger;
mod subject;

pub use erase::{Updated, erase, identifier_hash, rectify, replay};
pub use export::{ArchiveFile, export, find, write_tar};
pub use ledger::{Carried, LedgerEntry, Protocol, carried, ledger, merge, record, well_formed};
pub(crate) use subject::list as id_list;
pub use subject::{By, Counts, Subject, counts, resolve};

#[cfg(test)]
mod tests {
    use super::export::safe_name;
    use super::*;

    #[test]
    fn requests_are_checked_and_normalised() {
        assert_eq!(
            By::parse("email", " Erika@Example.ORG ").unwrap(),
            By::Email("erika@example.org".into())
        );
        assert_eq!(By::parse("chat", "#42").unwrap(), By::Chat(42));
        assert!(By::parse("chat", "1 OR 1=1").is_err());
        assert!(By::parse("visitor", "-3").is_err());
        assert!(By::parse("email", "no-at-sign").is_err());
        assert!(By::parse("name", "").is_err());
        assert!(By::parse("phone", "1").is_err());
        assert_ne!(
            identifier_hash("t1", "email", "a@b"),
            identifier_hash("t2", "email", "a@b"),
            "salted per tenant"
        );
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
    }
}
