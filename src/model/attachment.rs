//! A file attached to a chat message, as storage, the HTTP API and the wire protocol all
//! describe it (the bytes stay in storage).

/// A file attached to a message, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileRef {
    /// Id (used in download paths).
    pub id: i64,
    /// Display name.
    pub name: String,
    /// MIME type sniffed from the bytes.
    pub mime: String,
    /// Bytes.
    pub size: i64,
}
