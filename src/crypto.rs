//! Key wrapping, key derivation, random tokens and password hashing.
//!
//! ring is the only source of randomness and symmetric crypto; argon2id hashes passwords.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::sync::OnceLock;
use std::sync::mpsc::{SyncSender, sync_channel};

/// Length of every symmetric key we use (master, tenant, derived).
pub const KEY_LEN: usize = 32;

/// A 256-bit secret key. Never printed: `Debug` shows nothing of it.
#[derive(Clone)]
pub struct Key([u8; KEY_LEN]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(***)")
    }
}

impl Key {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Key {
        Key(random_array())
    }

    /// Wraps raw bytes; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Key> {
        bytes.try_into().ok().map(Key)
    }

    /// The raw key bytes (for writing the key file and for `PRAGMA key`).
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A sub-key for one purpose, so the master key itself never keys two algorithms.
    pub fn derive(&self, purpose: &str) -> Key {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &self.0),
            purpose.as_bytes(),
        );
        Key(tag.as_ref().try_into().expect("HMAC-SHA256 is 32 bytes"))
    }

    /// The SQLCipher raw-key literal `x'…'` for this key (no PBKDF2 on open).
    pub fn sqlcipher_literal(&self) -> String {
        format!("\"x'{}'\"", hex(&self.0))
    }

    /// Encrypts `key` under this key with AES-256-GCM, bound to `context` (the tenant uuid).
    /// Output: nonce || ciphertext || tag.
    pub fn wrap(&self, key: &Key, context: &str) -> Vec<u8> {
        let sealing = self.aead();
        let nonce_bytes: [u8; NONCE_LEN] = random_array();
        let mut buf = key.0.to_vec();
        sealing
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .expect("AES-GCM sealing a 32-byte buffer cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        out
    }

    /// Reverses [`Key::wrap`]; `None` when the wrapping key or context is wrong or the blob altered.
    pub fn unwrap_key(&self, wrapped: &[u8], context: &str) -> Option<Key> {
        if wrapped.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = sealed.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .ok()?;
        Key::from_slice(plain)
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.0).expect("32-byte AES key"))
    }
}

/// `N` random bytes from the OS generator.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .expect("the OS random generator failed");
    out
}

/// A new 256-bit token as 64 hex characters (sessions, CSRF, site keys use shorter forms).
pub fn random_token() -> String {
    hex(&random_array::<32>())
}

/// SHA-256 of a token: what we store, so a database leak yields no usable token.
pub fn token_hash(token: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

/// HMAC-SHA256 of `data` under `key`, hex encoded.
pub fn mac_hex(key: &[u8], data: &[u8]) -> String {
    hex(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data).as_ref())
}

/// Constant-time equality for secrets of equal length.
pub fn secure_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Decodes hex (either case); none for odd lengths or other characters.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// Lower-case hex encoding.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A password a person can type once and store in a manager: 24 characters, ~137 bits.
pub fn generate_password() -> String {
    // No look-alikes (0/O, 1/l/I) so it survives being read off a terminal.
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes: [u8; 48] = random_array();
    bytes
        .iter()
        // Rejection sampling keeps the distribution uniform.
        .filter(|b| (**b as usize) < 256 - 256 % ALPHABET.len())
        .take(24)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// One argon2id computation for the password thread.
struct Job {
    password: Vec<u8>,
    salt: Vec<u8>,
    params: Params,
    out_len: usize,
    reply: SyncSender<Option<Vec<u8>>>,
}

/// Runs argon2id on one dedicated thread with one reused memory buffer. Each computation
/// needs 19 MiB; run on whatever thread asks, every blocking thread's malloc arena kept such
/// a buffer after use (10 MB of resident memory per agent who signed in). One thread also
/// bounds the CPU that sign-in attempts can take.
fn argon2id(password: &[u8], salt: &[u8], params: Params, out_len: usize) -> Option<Vec<u8>> {
    static JOBS: OnceLock<SyncSender<Job>> = OnceLock::new();
    let jobs = JOBS.get_or_init(|| {
        let (tx, rx) = sync_channel::<Job>(256);
        std::thread::Builder::new()
            .name("argon2".into())
            .spawn(move || {
                let mut blocks: Vec<Block> = Vec::new();
                for job in rx {
                    let need = job.params.block_count();
                    if blocks.len() < need {
                        blocks.resize(need, Block::default());
                    }
                    let mut out = vec![0u8; job.out_len];
                    let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, job.params);
                    let ok = a
                        .hash_password_into_with_memory(
                            &job.password,
                            &job.salt,
                            &mut out,
                            &mut blocks[..need],
                        )
                        .is_ok();
                    // Nothing derived from the password stays in memory.
                    blocks[..need].fill(Block::default());
                    let _ = job.reply.send(ok.then_some(out));
                }
            })
            .expect("starting the password thread");
        tx
    });
    let (reply, answer) = sync_channel(1);
    jobs.send(Job {
        password: password.to_vec(),
        salt: salt.to_vec(),
        params,
        out_len,
        reply,
    })
    .ok()?;
    answer.recv().ok().flatten()
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> String {
    let salt_bytes: [u8; 16] = random_array();
    let salt = SaltString::encode_b64(&salt_bytes).expect("16-byte salt encodes");
    let params = Params::default();
    let out = argon2id(password.as_bytes(), &salt_bytes, params.clone(), 32)
        .expect("argon2id with default parameters cannot fail");
    PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("default parameters encode"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).expect("32-byte output")),
    }
    .to_string()
}

/// Checks a password against a PHC hash; any malformed hash simply fails.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (h.hash, h.salt) else {
        return false;
    };
    if h.algorithm != ARGON2ID_IDENT {
        return false;
    }
    let Ok(params) = Params::try_from(&h) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    match argon2id(password.as_bytes(), salt, params, expected.len()) {
        // Output's equality is constant-time.
        Some(out) => Output::new(&out).is_ok_and(|o| o == expected),
        None => false,
    }
}

/// A fixed hash verified when the account does not exist, so both paths cost the same.
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("kontor-dummy-password-for-timing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_are_standard_argon2id() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_password("correct horse");
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(verify_password("correct horse", &ours));
        assert!(!verify_password("correct horsf", &ours));
        // The argon2 crate's own verifier accepts ours, and ours accepts its hashes.
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("battery staple", &theirs));
        assert!(!verify_password(
            "battery staple",
            "$argon2i$v=19$m=19456,t=2,p=1$AAAA$AAAA"
        ));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn wrapped_key_opens_only_with_same_key_and_context() {
        let master = Key::generate();
        let tenant = Key::generate();
        let wrapped = master.wrap(&tenant, "uuid-a");
        let back = master.unwrap_key(&wrapped, "uuid-a").unwrap();
        assert_eq!(back.expose(), tenant.expose());
        assert!(master.unwrap_key(&wrapped, "uuid-b").is_none());
        assert!(Key::generate().unwrap_key(&wrapped, "uuid-a").is_none());
        let mut tampered = wrapped.clone();
        tampered[20] ^= 1;
        assert!(master.unwrap_key(&tampered, "uuid-a").is_none());
    }

    #[test]
    fn derived_keys_differ_per_purpose() {
        let k = Key::generate();
        assert_ne!(k.derive("a").expose(), k.derive("b").expose());
        assert_eq!(k.derive("a").expose(), k.derive("a").expose());
    }

    #[test]
    fn password_hash_round_trip() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let a = generate_password();
        assert_eq!(a.chars().count(), 24);
        assert_ne!(a, generate_password());
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        assert_eq!(format!("{:?}", Key::generate()), "Key(***)");
    }
}
