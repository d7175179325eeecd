//! Every web asset, embedded in the binary at build time (no build step, no CDN).

/// Files under `assets/`: `static/` is served as is, `templates/` are rendered, `i18n/` are
/// the string catalogs, `widget/` is the customer-facing loader.
#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
pub struct Assets;

/// The bytes of an embedded file.
pub fn get(path: &str) -> Option<std::borrow::Cow<'static, [u8]>> {
    Assets::get(path).map(|f| f.data)
}
