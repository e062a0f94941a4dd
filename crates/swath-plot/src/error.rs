//! The one error type of the plotting crate.

/// What went wrong while making an image.
///
/// The variants separate a caller asking for something impossible
/// ([`Error::InvalidArgument`], [`Error::LimitExceeded`], [`Error::NoData`]) from a
/// failure reading the raster ([`Error::GeoTiff`]) and from a failure inside the
/// drawing or encoding code ([`Error::Draw`], [`Error::Encode`]).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument is malformed or inconsistent (wrong band count, bad stretch text…).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A size asked for is outside what this crate draws or will allocate.
    #[error("limit exceeded: {what} is {value}, it must be within {min}..={max}")]
    LimitExceeded {
        /// What was measured.
        what: String,
        /// The value asked for.
        value: u64,
        /// The smallest value accepted.
        min: u64,
        /// The largest value accepted.
        max: u64,
    },
    /// There is nothing to draw (no series, no finite point).
    #[error("nothing to plot: {0}")]
    NoData(String),
    /// Reading the GeoTIFF failed.
    #[error(transparent)]
    GeoTiff(#[from] swath_geotiff::Error),
    /// The chart library failed to draw.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// Compressing the PNG failed.
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] std::io::Error),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Build an [`Error::InvalidArgument`] from a format string.
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::error::Error::InvalidArgument(format!($($arg)*)) };
}
pub(crate) use invalid;

/// Fail with [`Error::LimitExceeded`] unless `min <= value <= max`.
pub(crate) fn check_range(what: &str, value: u64, min: u64, max: u64) -> Result<()> {
    if !(min..=max).contains(&value) {
        return Err(Error::LimitExceeded {
            what: what.to_string(),
            value,
            min,
            max,
        });
    }
    Ok(())
}
