//! Fakes for personal values, derived from an HMAC of the original under a key drawn for one
//! clone and never stored: the same original gives the same fake everywhere in that clone (a
//! person keeps one fake name and address across chats, offline messages and the audit
//! trail), nobody can go back from a fake to the original, and two clones share nothing.

use crate::crypto;
use ring::hmac;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// First names fakes are made of (ASCII, so fake addresses need no encoding).
const FIRST: [&str; 40] = [
    "Alma", "Bruno", "Carla", "Dario", "Edda", "Fiete", "Greta", "Hanno", "Ilse", "Jonte", "Kira",
    "Lasse", "Mira", "Nils", "Oda", "Piet", "Quirin", "Rosa", "Sven", "Tilda", "Ulf", "Vroni",
    "Wanda", "Xaver", "Yara", "Zeno", "Amos", "Bea", "Cosmo", "Dora", "Emil", "Frida", "Gero",
    "Hedda", "Ivo", "Juna", "Kuno", "Lotte", "Malte", "Nele",
];

/// Family names fakes are made of.
const LAST: [&str; 40] = [
    "Ahlers",
    "Brinkmann",
    "Claasen",
    "Dierks",
    "Eggers",
    "Fokken",
    "Gerdes",
    "Harms",
    "Iwers",
    "Janssen",
    "Kruse",
    "Lammers",
    "Meents",
    "Nannen",
    "Oltmanns",
    "Petersen",
    "Quast",
    "Rieken",
    "Siebels",
    "Tammen",
    "Ubben",
    "Vosteen",
    "Wübben",
    "Xylander",
    "Ysker",
    "Zimmer",
    "Albers",
    "Bruns",
    "Cordes",
    "Dreyer",
    "Ehlers",
    "Frerichs",
    "Gronewold",
    "Hinrichs",
    "Ihnen",
    "Jürgens",
    "Kramer",
    "Lüken",
    "Mammen",
    "Nordhoff",
];

/// Words fake texts are made of: filler that cannot be mistaken for anyone's words.
const WORDS: [&str; 48] = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
    "commodo",
    "consequat",
    "duis",
    "aute",
    "irure",
    "in",
    "velit",
    "esse",
    "cillum",
    "fugiat",
    "nulla",
    "pariatur",
    "excepteur",
    "sint",
    "occaecat",
    "culpa",
];

/// The domain of every fake address: reserved (RFC 2606), so no mail can ever reach anyone.
pub const MAIL_DOMAIN: &str = "example.invalid";

/// Makes the fakes of one clone; its key lives only as long as it does.
pub struct Fakes {
    key: hmac::Key,
}

/// Bytes derived from one original, as many as asked for.
struct Stream<'a> {
    key: &'a hmac::Key,
    seed: [u8; 32],
    block: [u8; 32],
    counter: u64,
    used: usize,
}

impl Stream<'_> {
    fn byte(&mut self) -> u8 {
        if self.used == self.block.len() {
            let mut ctx = hmac::Context::with_key(self.key);
            ctx.update(&self.seed);
            ctx.update(&self.counter.to_le_bytes());
            self.block.copy_from_slice(ctx.sign().as_ref());
            self.counter += 1;
            self.used = 0;
        }
        self.used += 1;
        self.block[self.used - 1]
    }

    fn below(&mut self, n: usize) -> usize {
        let v = u16::from_le_bytes([self.byte(), self.byte()]);
        usize::from(v) % n
    }

    fn pick<'w>(&mut self, words: &[&'w str]) -> &'w str {
        words[self.below(words.len())]
    }

    fn hex(&mut self, chars: usize) -> String {
        let bytes: Vec<u8> = (0..chars.div_ceil(2)).map(|_| self.byte()).collect();
        crypto::hex(&bytes)[..chars].to_string()
    }
}

impl Default for Fakes {
    fn default() -> Self {
        Self::fresh()
    }
}

impl Fakes {
    /// Fakes under a fresh random key.
    pub fn fresh() -> Fakes {
        Fakes {
            key: hmac::Key::new(hmac::HMAC_SHA256, &crypto::random_array::<32>()),
        }
    }

    /// The bytes derived from `original` for fakes of `kind` (kinds never share a stream).
    fn stream(&self, kind: &str, original: &[u8]) -> Stream<'_> {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(kind.as_bytes());
        ctx.update(&[0]);
        ctx.update(original);
        let mut seed = [0u8; 32];
        seed.copy_from_slice(ctx.sign().as_ref());
        Stream {
            key: &self.key,
            seed,
            block: [0; 32],
            counter: 0,
            used: 32,
        }
    }

    /// A person's name: a first name for a one-word name, first and family name otherwise.
    /// Case and spacing do not make another person.
    pub fn name(&self, original: &str) -> String {
        let words: Vec<String> = original.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() {
            return original.to_string();
        }
        let mut s = self.stream("name", words.join(" ").as_bytes());
        let first = s.pick(&FIRST);
        if words.len() == 1 {
            first.to_string()
        } else {
            format!("{first} {}", s.pick(&LAST))
        }
    }

    /// One email address (case and surrounding spaces do not make another person).
    fn address(&self, original: &str) -> String {
        let mut s = self.stream("email", original.trim().to_lowercase().as_bytes());
        let first = s.pick(&FIRST).to_lowercase();
        let last = ascii_lower(s.pick(&LAST));
        format!("{first}.{last}.{}@{MAIL_DOMAIN}", s.hex(6))
    }

    /// Email addresses: each of a comma-separated list replaced, the list's shape kept.
    pub fn email(&self, original: &str) -> String {
        original
            .split(',')
            .map(|part| match part.trim() {
                "" => part.to_string(),
                a => part.replacen(a, &self.address(a), 1),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Free text: filler words of the same length in characters.
    pub fn text(&self, original: &str) -> String {
        let n = original.chars().count();
        if n == 0 {
            return String::new();
        }
        let mut s = self.stream("text", original.as_bytes());
        let mut out = String::with_capacity(n + 16);
        while out.len() < n {
            out.push_str(s.pick(&WORDS));
            out.push(' ');
        }
        out.truncate(n);
        let mut out = match out.strip_suffix(' ') {
            Some(t) => format!("{t}."),
            None => out,
        };
        if let Some(first) = out.get(..1) {
            out.replace_range(..1, &first.to_uppercase());
        }
        out
    }

    /// A (truncated) client address: IPv4 becomes a /24 in 10.0.0.0/8, IPv6 a /48 in the
    /// documentation prefix 2001:db8::/32, so it still reads and groups as an address.
    pub fn ip(&self, original: &str) -> String {
        if original.is_empty() {
            return String::new();
        }
        let mut s = self.stream("ip", original.as_bytes());
        let (a, b) = (s.byte(), s.byte());
        match original.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => {
                Ipv6Addr::new(0x2001, 0xdb8, u16::from_be_bytes([a, b]), 0, 0, 0, 0, 0).to_string()
            }
            _ => Ipv4Addr::new(10, a, b, 0).to_string(),
        }
    }

    /// Every digit replaced, everything else kept: phone numbers, customer numbers.
    pub fn digits(&self, original: &str) -> String {
        let mut s = self.stream("digits", original.as_bytes());
        original
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    char::from(b'0' + (s.byte() % 10))
                } else {
                    c
                }
            })
            .collect()
    }

    /// A file's name: `file-…` with the original's extension.
    pub fn file_name(&self, original: &str) -> String {
        let mut s = self.stream("file", original.as_bytes());
        let stem = format!("file-{}", s.hex(8));
        match original.rsplit_once('.') {
            Some((_, ext))
                if (1..=5).contains(&ext.len())
                    && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                format!("{stem}.{}", ext.to_lowercase())
            }
            _ => stem,
        }
    }

    /// A hash or identifier kept in place of a person's: as long as the original, the same
    /// for the same original (so a visitor's visits still belong together).
    pub fn pseudonym(&self, original: &[u8]) -> Vec<u8> {
        let mut s = self.stream("pseudonym", original);
        (0..original.len()).map(|_| s.byte()).collect()
    }

    /// `chars` hex digits standing for `original` (a subject's hash in the audit trail).
    pub fn hex(&self, kind: &str, original: &str, chars: usize) -> String {
        self.stream(kind, original.as_bytes()).hex(chars)
    }

    /// A page's address: scheme, host and path are the site's and stay; a query or fragment
    /// (where sites put search terms, order numbers, addresses) is replaced.
    pub fn page_url(&self, original: &str) -> String {
        match original.find(['?', '#']) {
            Some(i) => {
                let rest = &original[i..];
                format!("{}?q={}", &original[..i], self.hex("query", rest, 12))
            }
            None => original.to_string(),
        }
    }

    /// A referring page: its origin stays (statistics group by host), its path is replaced.
    pub fn referrer(&self, original: &str) -> String {
        let Some(scheme_end) = original.find("://") else {
            return self.text(original);
        };
        let host_start = scheme_end + 3;
        match original[host_start..].find('/') {
            Some(i) if original.len() > host_start + i + 1 => {
                let origin = &original[..host_start + i];
                let path = &original[host_start + i..];
                format!("{origin}/r-{}", self.hex("path", path, 10))
            }
            _ => original.to_string(),
        }
    }
}

fn ascii_lower(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ü' => 'u',
            'ö' => 'o',
            'ä' => 'a',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Content of the same size as a file or a mail, holding nothing of it: the file type's
/// signature (so it is still recognised as what it was), then filler.
pub fn placeholder(size: usize, mime: &str) -> Vec<u8> {
    let magic: &[u8] = match mime {
        "image/png" => b"\x89PNG\r\n\x1a\n",
        "image/jpeg" => b"\xff\xd8\xff\xe0",
        "image/gif" => b"GIF89a",
        "image/webp" => b"RIFF\0\0\0\0WEBP",
        "application/pdf" => b"%PDF-1.4\n",
        _ => b"",
    };
    const FILLER: &[u8] = b"kontor anonymised placeholder\n";
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&magic[..magic.len().min(size)]);
    while out.len() < size {
        let take = FILLER.len().min(size - out.len());
        out.extend_from_slice(&FILLER[..take]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_original_gives_the_same_fake_and_another_clone_another() {
        let (a, b) = (Fakes::fresh(), Fakes::fresh());
        assert_eq!(a.name("Erika Mustermann"), a.name("  erika   MUSTERMANN "));
        assert_eq!(
            a.email("Erika@Example.org"),
            a.email(" erika@example.org").trim()
        );
        assert_ne!(a.email("erika@example.org"), a.email("max@example.org"));
        let fakes: std::collections::BTreeSet<String> = (0..20)
            .map(|i| b.email(&format!("person{i}@example.org")))
            .collect();
        assert_eq!(fakes.len(), 20);
        // Another key, other fakes (the hex part alone makes a clash vanishingly rare).
        assert_ne!(a.email("erika@example.org"), b.email("erika@example.org"));
        assert_eq!(a.pseudonym(&[7; 32]), a.pseudonym(&[7; 32]));
        assert_ne!(a.pseudonym(&[7; 32]), b.pseudonym(&[7; 32]));
    }

    #[test]
    fn fakes_keep_the_shape_of_what_they_replace() {
        let f = Fakes::fresh();
        assert_eq!(f.name(""), "");
        assert_eq!(f.name("Erika").split(' ').count(), 1);
        assert_eq!(f.name("Erika Maria Mustermann").split(' ').count(), 2);
        let mail = f.email("erika@example.org");
        assert!(mail.ends_with("@example.invalid"), "{mail}");
        let (local, domain) = mail.split_once('@').unwrap();
        assert!(
            local
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.')
        );
        assert_eq!(domain, MAIL_DOMAIN);
        let list = f.email("a@example.org, b@example.org");
        assert_eq!(list.split(',').count(), 2);
        assert!(list.contains(", "), "{list}");
        for text in [
            "ü",
            "Hallo, ich heiße Erika und wohne in der Hauptstraße 5.",
            "ok",
        ] {
            let t = f.text(text);
            assert_eq!(t.chars().count(), text.chars().count(), "{t:?}");
            assert!(!t.contains("Erika"));
        }
        assert_eq!(f.text(""), "");
        assert!(f.ip("203.0.113.0").starts_with("10."));
        assert!(f.ip("203.0.113.0").ends_with(".0"));
        assert!(f.ip("2001:db8:abcd::").starts_with("2001:db8:"));
        assert_eq!(f.ip(""), "");
        let phone = f.digits("+49 170 1234567");
        assert_eq!(phone.len(), 15);
        assert!(phone.starts_with('+') && phone.chars().nth(3) == Some(' '));
        assert!(f.file_name("Ausweis Erika.PDF").ends_with(".pdf"));
        assert!(!f.file_name("Ausweis Erika.PDF").contains("Erika"));
        assert_eq!(
            f.page_url("https://shop.example/order"),
            "https://shop.example/order"
        );
        let u = f.page_url("https://shop.example/order?email=erika@example.org");
        assert!(u.starts_with("https://shop.example/order?q=") && !u.contains("erika"));
        assert_eq!(
            f.referrer("https://www.google.de/"),
            "https://www.google.de/"
        );
        let r = f.referrer("https://social.example/erika.mustermann");
        assert!(r.starts_with("https://social.example/r-") && !r.contains("erika"));
    }

    #[test]
    fn placeholders_have_the_size_and_signature_of_the_file() {
        let p = placeholder(1000, "application/pdf");
        assert_eq!(p.len(), 1000);
        assert!(p.starts_with(b"%PDF-"));
        assert_eq!(placeholder(3, "image/png"), b"\x89PN");
        assert_eq!(placeholder(0, ""), b"");
    }
}
