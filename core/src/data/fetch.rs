//! (stub, being written)
/// Progress of downloads, rendered by the CLI (a progress bar) or ignored ([`Silent`]).
pub trait FetchProgress {
    /// A download of `what` starts; `total_bytes` when the source says how large it is.
    fn begin(&self, what: &str, total_bytes: Option<u64>);
    fn advance(&self, bytes: u64);
    fn end(&self);
    /// A one-line message (a source failed, the next one is tried...).
    fn note(&self, message: &str);
}

/// Reports nothing.
pub struct Silent;

impl FetchProgress for Silent {
    fn begin(&self, _what: &str, _total_bytes: Option<u64>) {}
    fn advance(&self, _bytes: u64) {}
    fn end(&self) {}
    fn note(&self, _message: &str) {}
}
