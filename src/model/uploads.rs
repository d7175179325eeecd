//! Limits on uploaded files that the tenant's hub checks before it stores one: files and bytes
//! one chat received within a window, and the bytes the tenant stores. (The per-address limits
//! are token buckets at the web edge, `ratelimit.rs`.)

/// The limits; 0 turns one off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileLimits {
    /// The window of the per-chat limits, in seconds.
    pub window_secs: i64,
    /// Files one chat may receive within the window.
    pub chat_files: u64,
    /// Bytes one chat may receive within the window.
    pub chat_bytes: u64,
    /// Bytes of files the tenant may store.
    pub tenant_bytes: u64,
}

/// Files and bytes, e.g. what a chat received within the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// How many files.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Why an upload is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The chat received as many files or bytes within the window as it may.
    ChatLimit,
    /// The file would take the tenant's stored bytes over its quota.
    TenantQuota,
}

impl FileLimits {
    /// Whether a file of `size` bytes may be stored, given what the chat received within the
    /// window and what the tenant stores.
    pub fn check(&self, chat: Usage, stored: u64, size: u64) -> Result<(), Refusal> {
        let over = |limit: u64, after: u64| limit > 0 && after > limit;
        if over(self.chat_files, chat.files + 1) || over(self.chat_bytes, chat.bytes + size) {
            return Err(Refusal::ChatLimit);
        }
        if over(self.tenant_bytes, stored + size) {
            return Err(Refusal::TenantQuota);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_refuses_what_goes_over_it() {
        let l = FileLimits {
            window_secs: 3600,
            chat_files: 2,
            chat_bytes: 100,
            tenant_bytes: 1000,
        };
        let sent = |files, bytes| Usage { files, bytes };
        assert_eq!(l.check(sent(1, 50), 0, 50), Ok(()), "up to each limit");
        assert_eq!(l.check(sent(2, 10), 0, 1), Err(Refusal::ChatLimit));
        assert_eq!(l.check(sent(0, 90), 0, 11), Err(Refusal::ChatLimit));
        assert_eq!(l.check(sent(0, 0), 950, 51), Err(Refusal::TenantQuota));
        assert_eq!(l.check(sent(0, 0), 950, 50), Ok(()));
        let none = FileLimits::default();
        assert_eq!(none.check(sent(1000, 1 << 40), 1 << 50, 1 << 30), Ok(()));
    }
}
