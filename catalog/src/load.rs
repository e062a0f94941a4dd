//! The front door: a location and a filter in, the matching items out.

use glob::{MatchOptions, Pattern};
use url::Url;

use crate::api::{self, ApiOptions};
use crate::error::{Error, Result, Warning};
use crate::filter::Filter;
use crate::geoparquet;
use crate::item::Item;
use crate::stores::{Stores, location_url};
use crate::walk::{self, Expect};

/// What kind of catalogue a location is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A JSON document: an Item, an ItemCollection, a Catalog or a Collection
    /// (whose links are followed).
    Json,
    /// Every `.json` item file under a directory (recursively).
    Directory,
    /// The `.json` item files a glob pattern matches (`items/*.json`, `**`).
    Glob,
    /// A stac-geoparquet file.
    Geoparquet,
    /// A STAC API (its root or its `/search` endpoint).
    Api,
}

impl SourceKind {
    /// Guess the kind from the location: a glob character in the path → Glob;
    /// `.parquet`/`.geoparquet` → Geoparquet; an http(s) URL that is not a
    /// `.json` file → Api; a directory (trailing `/`) → Directory; else Json.
    pub fn detect(url: &Url) -> SourceKind {
        let path = url.path().to_ascii_lowercase();
        if path.contains(['*', '?', '[']) || path.contains("%2a") || path.contains("%3f")
        {
            SourceKind::Glob
        } else if path.ends_with(".parquet") || path.ends_with(".geoparquet") {
            SourceKind::Geoparquet
        } else if matches!(url.scheme(), "http" | "https")
            && !path.ends_with(".json")
            && !path.ends_with(".geojson")
        {
            SourceKind::Api
        } else if path.ends_with('/') {
            SourceKind::Directory
        } else {
            SourceKind::Json
        }
    }
}

/// What to do with an item or document that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Fail the load with the error (the default).
    #[default]
    Fail,
    /// Skip it and record a [`Warning`]. The location the user named must still
    /// be readable.
    Skip,
}

/// Limits on what a catalogue may make us read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The largest JSON document read (bytes).
    pub max_document_bytes: u64,
    /// The most documents one load reads.
    pub max_documents: usize,
    /// The deepest chain of `child`/`item` links followed.
    pub max_depth: usize,
    /// The most API pages followed.
    pub max_pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_bytes: 256 << 20,
            max_documents: 1_000_000,
            max_depth: 64,
            max_pages: 100_000,
        }
    }
}

/// How to load a catalogue.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The kind of source; `None` detects it from the location.
    pub kind: Option<SourceKind>,
    /// Fail on a bad item or document, or skip it with a warning.
    pub on_error: OnError,
    /// How many documents are read at once.
    pub concurrency: usize,
    /// Size and count limits.
    pub limits: Limits,
    /// STAC API paging and retries.
    pub api: ApiOptions,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            kind: None,
            on_error: OnError::Fail,
            concurrency: 32,
            limits: Limits::default(),
            api: ApiOptions::default(),
        }
    }
}

/// What a load read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// JSON documents (or API pages) read.
    pub documents: usize,
    /// Bytes of JSON read.
    pub bytes: u64,
    /// Items read and checked against the filter.
    pub items_read: usize,
    /// Parquet row groups in the file(s).
    pub row_groups: usize,
    /// Parquet row groups skipped on their statistics.
    pub row_groups_pruned: usize,
    /// Parquet rows the pushed-down filter removed before decoding the rest.
    pub rows_filtered: usize,
}

/// The items a load found, what it skipped, and what it read.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The matching items, ordered by datetime, then collection and id.
    pub items: Vec<Item>,
    /// Items and documents skipped (with [`OnError::Skip`]).
    pub warnings: Vec<Warning>,
    /// Counters.
    pub stats: LoadStats,
}

/// Load the items of the catalogue at `location` (a local path or a URL) that
/// match `filter`, reading only through `stores`.
pub async fn load(
    location: &str,
    stores: &Stores,
    filter: &Filter,
    options: &LoadOptions,
) -> Result<Loaded> {
    let url = location_url(location)?;
    let kind = options.kind.unwrap_or_else(|| SourceKind::detect(&url));
    let mut out = Loaded::default();
    match kind {
        SourceKind::Json => {
            walk::walk(vec![(url, Expect::Any)], stores, filter, options, &mut out)
                .await?
        }
        SourceKind::Directory => {
            let mut dir = url.clone();
            if !dir.path().ends_with('/') {
                dir.set_path(&format!("{}/", dir.path()));
            }
            let files = stores.list(&dir).await?;
            let roots = json_files(files, |_| true);
            if roots.is_empty() {
                return Err(Error::Invalid(format!(
                    "{dir}: no .json files in this directory"
                )));
            }
            walk::walk(roots, stores, filter, options, &mut out).await?
        }
        SourceKind::Glob => {
            let roots = glob(&url, stores).await?;
            walk::walk(roots, stores, filter, options, &mut out).await?
        }
        SourceKind::Geoparquet => {
            geoparquet::read(&url, stores, filter, &mut out).await?
        }
        SourceKind::Api => api::search(&url, filter, options, &mut out).await?,
    }
    out.items.sort_by(|a, b| {
        (a.datetime, &a.collection, &a.id).cmp(&(b.datetime, &b.collection, &b.id))
    });
    Ok(out)
}

fn json_files(files: Vec<Url>, keep: impl Fn(&Url) -> bool) -> Vec<(Url, Expect)> {
    files
        .into_iter()
        .filter(|u| {
            let p = u.path().to_ascii_lowercase();
            (p.ends_with(".json") || p.ends_with(".geojson")) && keep(u)
        })
        .map(|u| (u, Expect::ItemFile))
        .collect()
}

/// List the directory above the first glob character and match the pattern
/// (`*` and `?` stay within a path segment; `**` crosses them).
async fn glob(url: &Url, stores: &Stores) -> Result<Vec<(Url, Expect)>> {
    let path = percent_decode(url.path());
    let first = path.find(['*', '?', '[']).unwrap_or(path.len());
    let dir_end = path[..first].rfind('/').map_or(0, |i| i + 1);
    let pattern = Pattern::new(&path)
        .map_err(|e| Error::Invalid(format!("{url}: bad glob pattern ({e})")))?;
    let mut dir = url.clone();
    dir.set_path(&path[..dir_end]);
    let options = MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let files = stores.list(&dir).await?;
    let roots = json_files(files, |u| {
        pattern.matches_with(&percent_decode(u.path()), options)
    });
    if roots.is_empty() {
        return Err(Error::Invalid(format!(
            "{url}: the pattern matches no .json file"
        )));
    }
    Ok(roots)
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_kinds() {
        let kind = |s: &str| SourceKind::detect(&Url::parse(s).unwrap());
        assert_eq!(kind("file:///data/items/*.json"), SourceKind::Glob);
        assert_eq!(kind("s3://b/items.parquet"), SourceKind::Geoparquet);
        assert_eq!(
            kind("https://earth-search.aws.element84.com/v1"),
            SourceKind::Api
        );
        assert_eq!(kind("https://example.com/catalog.json"), SourceKind::Json);
        assert_eq!(kind("file:///data/items/"), SourceKind::Directory);
        assert_eq!(kind("file:///data/catalog.json"), SourceKind::Json);
    }
}
