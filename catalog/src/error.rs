//! The catalogue's one error type.

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading a STAC catalogue. Each variant names the
/// document (URL or path) and, where there is one, the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The document is not valid JSON.
    #[error("{location}: invalid JSON: {message}")]
    Json {
        /// The document.
        location: String,
        /// What serde_json said, with line and column.
        message: String,
    },

    /// A field is missing, has the wrong type, or a value that cannot be right.
    #[error("{location}: field `{field}`: {message}")]
    Field {
        /// The document.
        location: String,
        /// The field, as a JSON path (`properties.datetime`, `assets.B04.href`).
        field: String,
        /// What is wrong with it.
        message: String,
    },

    /// A STAC version this reader does not know.
    #[error(
        "{location}: field `stac_version`: unsupported STAC version {version:?} (0.9.0, 1.0.x and 1.1.x are read)"
    )]
    Version {
        /// The document.
        location: String,
        /// The version it declares.
        version: String,
    },

    /// A link points to a document that cannot be read.
    #[error("{location}: link `{rel}` to {href}: {message}")]
    Link {
        /// The document holding the link.
        location: String,
        /// The link relation (`child`, `item`, `next`).
        rel: String,
        /// The link target, resolved.
        href: String,
        /// Why it cannot be followed.
        message: String,
    },

    /// A URL no configured object store serves (remote hrefs are fetched only from
    /// stores the user configured).
    #[error("{url}: no object store is configured for {key} (configure one to read it)")]
    NotConfigured {
        /// The URL that was to be read.
        url: String,
        /// The store key (`s3://bucket`, `https://host`, `file://`).
        key: String,
    },

    /// The object store failed (missing object, permission, network).
    #[error("{location}: {source}")]
    Store {
        /// The URL that was read.
        location: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },

    /// A STAC API request failed.
    #[error("{url}: {message}")]
    Api {
        /// The request URL.
        url: String,
        /// The HTTP status and what the server said, or the transport error.
        message: String,
    },

    /// A stac-geoparquet file could not be read.
    #[error("{location}: stac-geoparquet: {message}")]
    Parquet {
        /// The file.
        location: String,
        /// What is wrong.
        message: String,
    },

    /// A band the request names is not among an item's assets.
    #[error("item {item:?}: no asset for band {band:?} (assets: {available})")]
    Band {
        /// The item id.
        item: String,
        /// The requested band.
        band: String,
        /// The asset keys (and common names) the item has.
        available: String,
    },

    /// A request that cannot be right (a bad bbox, an empty location, a bad filter).
    #[error("{0}")]
    Invalid(String),

    /// A limit was exceeded (document size, number of documents, link depth).
    #[error("{location}: {what} {value} exceeds the limit {limit}")]
    Limit {
        /// Where.
        location: String,
        /// What was counted.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The limit.
        limit: u64,
    },

    /// Reading a COG header for an asset's grid failed.
    #[error("{location}: {source}")]
    GeoTiff {
        /// The asset href.
        location: String,
        /// The reader's error.
        #[source]
        source: swath_geotiff::Error,
    },
}

impl Error {
    /// A field error at `location`.
    pub(crate) fn field(
        location: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Field {
            location: location.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A problem that was skipped rather than failing the load (the user asked to skip
/// bad items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The document or item.
    pub location: String,
    /// What was wrong (naming the location) and what was done.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<&Error> for Warning {
    fn from(e: &Error) -> Self {
        let location = match e {
            Error::Json { location, .. }
            | Error::Field { location, .. }
            | Error::Version { location, .. }
            | Error::Link { location, .. }
            | Error::Store { location, .. }
            | Error::Parquet { location, .. }
            | Error::Limit { location, .. }
            | Error::GeoTiff { location, .. } => location.clone(),
            Error::NotConfigured { url, .. } | Error::Api { url, .. } => url.clone(),
            Error::Band { item, .. } => item.clone(),
            Error::Invalid(_) => String::new(),
        };
        Warning {
            location,
            message: format!("skipped: {e}"),
        }
    }
}
