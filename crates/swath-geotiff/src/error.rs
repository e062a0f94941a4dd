//! The one error type of the GeoTIFF crate.

/// What went wrong while reading or writing a GeoTIFF.
///
/// The variants separate a broken file ([`Error::Malformed`]) from a valid file using
/// something this crate does not read ([`Error::Unsupported`]), from a caller asking for
/// something impossible ([`Error::Misuse`]) and from a file that exceeds the configured
/// [`crate::Limits`] ([`Error::LimitExceeded`]).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file breaks the TIFF or GeoTIFF specification (truncated, inconsistent, corrupt).
    #[error("malformed TIFF: {0}")]
    Malformed(String),
    /// The file is valid but uses a feature this crate does not read.
    #[error("unsupported TIFF feature: {0}")]
    Unsupported(String),
    /// The caller asked for something the file or the API cannot give.
    #[error("invalid use: {0}")]
    Misuse(String),
    /// The file asks for more than the configured limits allow.
    #[error("limit exceeded: {what} is {value}, the limit is {limit}")]
    LimitExceeded {
        /// What was measured.
        what: String,
        /// The value found in the file.
        value: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The object store failed to deliver bytes.
    #[error(transparent)]
    Store(#[from] object_store::Error),
}

impl Error {
    /// A short word for the class of error: `malformed`, `unsupported`, `misuse`, `limit`, `io`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Malformed(_) => "malformed",
            Error::Unsupported(_) => "unsupported",
            Error::Misuse(_) => "misuse",
            Error::LimitExceeded { .. } => "limit",
            Error::Store(_) => "io",
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Build an [`Error::Malformed`] from a format string.
macro_rules! malformed {
    ($($arg:tt)*) => { $crate::error::Error::Malformed(format!($($arg)*)) };
}
/// Build an [`Error::Unsupported`] from a format string.
macro_rules! unsupported {
    ($($arg:tt)*) => { $crate::error::Error::Unsupported(format!($($arg)*)) };
}
/// Build an [`Error::Misuse`] from a format string.
macro_rules! misuse {
    ($($arg:tt)*) => { $crate::error::Error::Misuse(format!($($arg)*)) };
}
pub(crate) use {malformed, misuse, unsupported};

/// Fail with [`Error::LimitExceeded`] when `value > limit`.
pub(crate) fn check_limit(what: &str, value: u64, limit: u64) -> Result<()> {
    if value > limit {
        return Err(Error::LimitExceeded {
            what: what.to_string(),
            value,
            limit,
        });
    }
    Ok(())
}
