//! Every web asset, embedded in the binary at build time (no build step, no CDN), and the
//! compressed forms browsers are sent: gzip and brotli, each made once per file on its first
//! request and kept (the assets never change while the binary runs).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Files under `assets/`: `static/` is served as is, `templates/` are rendered, `i18n/` are
/// the string catalogs, `widget/` is the customer-facing loader.
#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
pub struct Assets;

/// The bytes of an embedded file.
pub fn get(path: &str) -> Option<Cow<'static, [u8]>> {
    Assets::get(path).map(|f| f.data)
}

/// A file with its compressed forms and its content hash.
pub struct Encoded {
    /// As stored.
    pub identity: Cow<'static, [u8]>,
    /// gzip (level 9).
    pub gzip: Vec<u8>,
    /// brotli (quality 11).
    pub brotli: Vec<u8>,
    /// The first 16 hex digits of the file's SHA-256.
    pub hash: String,
}

/// The file with its compressed forms (made on first use, then kept).
pub fn encoded(path: &str) -> Option<Arc<Encoded>> {
    cached(path, || {
        let file = Assets::get(path)?;
        Some((file.data, file.metadata.sha256_hash()))
    })
}

/// A file the server makes (not embedded) under a name, with its compressed forms: made once.
pub fn generated(name: &str, make: impl FnOnce() -> Vec<u8>) -> Arc<Encoded> {
    let made = cached(name, || {
        let data = make();
        let hash = ring::digest::digest(&ring::digest::SHA256, &data);
        let mut sha = [0u8; 32];
        sha.copy_from_slice(hash.as_ref());
        Some((Cow::Owned(data), sha))
    });
    // `make` always gives a file.
    made.unwrap_or_else(|| Arc::new(compress(Cow::Borrowed(&[]), [0; 32])))
}

fn cached(
    key: &str,
    load: impl FnOnce() -> Option<(Cow<'static, [u8]>, [u8; 32])>,
) -> Option<Arc<Encoded>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Encoded>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(e) = cache.lock().ok()?.get(key) {
        return Some(e.clone());
    }
    let (identity, sha) = load()?;
    // Compressed outside the lock: two first requests may both compress; one result stays.
    let e = Arc::new(compress(identity, sha));
    cache.lock().ok()?.insert(key.to_string(), e.clone());
    Some(e)
}

fn compress(identity: Cow<'static, [u8]>, sha: [u8; 32]) -> Encoded {
    Encoded {
        gzip: gzip(&identity),
        brotli: brotli(&identity),
        identity,
        hash: hex16(&sha),
    }
}

/// The version of the embedded `static/` files as a whole: part of their URLs
/// (`/static/v/<version>/…`), so browsers may keep them for a year and still get new ones after
/// an upgrade. Modules import each other by relative paths, so one version covers the graph.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut names: Vec<Cow<'static, str>> = Assets::iter()
            .filter(|n| n.starts_with("static/"))
            .collect();
        names.sort();
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for n in names {
            if let Some(f) = Assets::get(&n) {
                ctx.update(n.as_bytes());
                ctx.update(&f.metadata.sha256_hash());
            }
        }
        hex16(ctx.finish().as_ref())[..12].to_string()
    })
}

fn hex16(bytes: &[u8]) -> String {
    bytes[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    let _ = brotli::BrotliCompress(&mut &data[..], &mut out, &params);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn compressed_forms_decompress_to_the_file_and_the_version_is_stable() {
        let e = encoded("widget/widget.js").expect("the loader is embedded");
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&e.gzip[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, &e.identity[..]);
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &e.brotli[..], &mut back).unwrap();
        assert_eq!(back, &e.identity[..]);
        assert!(e.brotli.len() < e.gzip.len() && e.gzip.len() < e.identity.len());
        assert_eq!(e.hash.len(), 16);
        assert!(
            Arc::ptr_eq(&e, &encoded("widget/widget.js").unwrap()),
            "made once"
        );
        assert_eq!(version().len(), 12);
        assert_eq!(version(), version());
        assert!(encoded("widget/nope.js").is_none());
    }
}
