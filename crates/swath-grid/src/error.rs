//! The one error type of the grid crate.

/// What went wrong while defining a CRS or grid, projecting, or warping.
///
/// The variants separate an unusable CRS definition ([`Error::UnknownEpsg`],
/// [`Error::InvalidCrs`]), a projection that cannot be computed
/// ([`Error::Projection`]), a grid or window that makes no sense
/// ([`Error::InvalidGrid`], [`Error::InvalidWindow`]) and a caller handing over
/// buffers or arguments that do not fit ([`Error::Misuse`]).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The EPSG code is not in the bundled definitions table.
    #[error("unknown EPSG code {0}: not in the bundled CRS definitions")]
    UnknownEpsg(u32),
    /// A CRS string or PROJ definition could not be parsed or set up.
    #[error("invalid CRS {definition:?}: {reason}")]
    InvalidCrs {
        /// The text that was given.
        definition: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Coordinates could not be projected between two CRSs.
    #[error("projection failed: {0}")]
    Projection(String),
    /// A grid has a non-invertible or non-finite transform, or an impossible size.
    #[error("invalid grid: {0}")]
    InvalidGrid(String),
    /// A pixel window is empty or too large.
    #[error("invalid window: {0}")]
    InvalidWindow(String),
    /// The caller passed arguments that do not fit (buffer lengths, thresholds).
    #[error("invalid use: {0}")]
    Misuse(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Build an [`Error::Misuse`] from a format string.
macro_rules! misuse {
    ($($arg:tt)*) => { $crate::error::Error::Misuse(format!($($arg)*)) };
}
pub(crate) use misuse;
