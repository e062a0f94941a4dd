//! The object stores a catalogue may read from.
//!
//! Stores are keyed by `scheme://authority` (`s3://bucket`, `https://host:port`,
//! `file://`), and an object's path in its store is the URL's path. A [`Stores`]
//! serves the stores registered on it and, when it has a resolver (the engine's
//! store registry, which makes a store per scheme and host on demand), any other
//! URL the resolver serves; without one, a catalogue that links to a bucket or host
//! nobody registered gets [`Error::NotConfigured`], never a request.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use url::Url;

use crate::error::{Error, Result};

/// Makes the store for a URL no registered store serves (or says why not).
pub type Resolver =
    Arc<dyn Fn(&Url) -> std::result::Result<Arc<dyn ObjectStore>, String> + Send + Sync>;

/// The configured object stores, by `scheme://authority`, and an optional
/// [`Resolver`] for the others.
#[derive(Clone, Default)]
pub struct Stores {
    stores: HashMap<String, Arc<dyn ObjectStore>>,
    resolver: Option<Resolver>,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self.stores.keys().collect();
        keys.sort();
        f.debug_struct("Stores")
            .field("keys", &keys)
            .field("resolver", &self.resolver.is_some())
            .finish()
    }
}

impl Stores {
    /// No store at all: nothing can be read until one is registered.
    pub fn new() -> Self {
        Self::default()
    }

    /// The local file system only (`file://`).
    pub fn local() -> Self {
        let mut stores = Self::new();
        stores.register_key("file://".to_string(), Arc::new(LocalFileSystem::new()));
        stores
    }

    /// Stores made on demand by `resolver` (and the local file system).
    pub fn with_resolver(resolver: Resolver) -> Self {
        let mut stores = Self::local();
        stores.resolver = Some(resolver);
        stores
    }

    /// Register `store` for the scheme and authority of `url` (its path is ignored).
    pub fn register(&mut self, url: &Url, store: Arc<dyn ObjectStore>) {
        self.register_key(store_key(url), store);
    }

    fn register_key(&mut self, key: String, store: Arc<dyn ObjectStore>) {
        self.stores.insert(key, store);
    }

    /// Whether a registered store serves `url` (a resolver may serve others).
    pub fn serves(&self, url: &Url) -> bool {
        self.stores.contains_key(&store_key(url))
    }

    /// The store serving `url` and the object's path in it.
    pub fn resolve(&self, url: &Url) -> Result<(Arc<dyn ObjectStore>, Path)> {
        let key = store_key(url);
        let store = match (self.stores.get(&key), &self.resolver) {
            (Some(store), _) => Arc::clone(store),
            (None, Some(resolve)) => resolve(url).map_err(Error::Invalid)?,
            (None, None) => {
                return Err(Error::NotConfigured {
                    url: url.to_string(),
                    key: key.clone(),
                });
            }
        };
        let path = Path::from_url_path(url.path()).map_err(|e| Error::Store {
            location: url.to_string(),
            source: e.into(),
        })?;
        Ok((store, path))
    }

    /// Read the whole object at `url`, refusing objects larger than `limit` bytes.
    pub async fn read(&self, url: &Url, limit: u64) -> Result<Bytes> {
        let (store, path) = self.resolve(url)?;
        let store_err = |source| Error::Store {
            location: url.to_string(),
            source,
        };
        // One request: the answer's headers give the size before the body is read.
        let result = store.get(&path).await.map_err(store_err)?;
        if result.meta.size > limit {
            return Err(Error::Limit {
                location: url.to_string(),
                what: "document size",
                value: result.meta.size,
                limit,
            });
        }
        // The body is read with the same bound (a server may send more than it said).
        let mut body = Vec::with_capacity(usize::try_from(result.meta.size).unwrap_or(0));
        let mut stream = result.into_stream();
        while let Some(piece) = stream.try_next().await.map_err(store_err)? {
            body.extend_from_slice(&piece);
            if body.len() as u64 > limit {
                return Err(Error::Limit {
                    location: url.to_string(),
                    what: "document size",
                    value: body.len() as u64,
                    limit,
                });
            }
        }
        Ok(Bytes::from(body))
    }

    /// The URLs of all objects under the directory URL `dir` (recursively), sorted.
    pub async fn list(&self, dir: &Url) -> Result<Vec<Url>> {
        let (store, prefix) = self.resolve(dir)?;
        let metas: Vec<_> =
            store
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(|source| Error::Store {
                    location: dir.to_string(),
                    source,
                })?;
        let mut urls = Vec::with_capacity(metas.len());
        for meta in metas {
            let mut url = dir.clone();
            url.set_path(&format!("/{}", meta.location));
            urls.push(url);
        }
        urls.sort();
        Ok(urls)
    }
}

/// `scheme://authority` of a URL: the key a store is registered under.
pub fn store_key(url: &Url) -> String {
    match url.scheme() {
        "file" => "file://".to_string(),
        scheme => {
            let host = url.host_str().unwrap_or_default();
            match url.port() {
                Some(port) => format!("{scheme}://{host}:{port}"),
                None => format!("{scheme}://{host}"),
            }
        }
    }
}

/// A user-given location (a local path, relative or absolute, or a URL) as a URL.
/// Local paths are made absolute against the working directory; an existing
/// directory gets a trailing slash so relative links resolve inside it.
pub fn location_url(location: &str) -> Result<Url> {
    if location.is_empty() {
        return Err(Error::Invalid("empty catalogue location".into()));
    }
    if let Some((scheme, _)) = location.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Url::parse(location)
            .map_err(|e| Error::Invalid(format!("{location}: not a valid URL ({e})")));
    }
    let absolute = std::path::absolute(location)
        .map_err(|e| Error::Invalid(format!("{location}: {e}")))?;
    let result = if absolute.is_dir() {
        Url::from_directory_path(&absolute)
    } else {
        Url::from_file_path(&absolute)
    };
    let url =
        result.map_err(|()| Error::Invalid(format!("{location}: not a usable path")))?;
    // Re-parsing removes `.` and `..` segments (object store paths cannot hold them).
    Url::parse(url.as_str()).map_err(|e| Error::Invalid(format!("{location}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scheme_and_authority() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(store_key(&url("s3://bucket/a/b.json")), "s3://bucket");
        assert_eq!(
            store_key(&url("http://127.0.0.1:9000/x")),
            "http://127.0.0.1:9000"
        );
        assert_eq!(store_key(&url("file:///tmp/x.json")), "file://");
    }

    #[tokio::test]
    async fn unconfigured_stores_are_refused() {
        let stores = Stores::local();
        let url = Url::parse("https://example.com/catalog.json").unwrap();
        let err = stores.read(&url, 1 << 20).await.unwrap_err();
        assert!(matches!(err, Error::NotConfigured { .. }), "{err}");
        assert!(err.to_string().contains("https://example.com"), "{err}");
    }

    #[tokio::test]
    async fn reads_local_files_and_enforces_the_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.json");
        std::fs::write(&file, b"{\"a\": 1}").unwrap();
        let url = Url::from_file_path(&file).unwrap();
        let stores = Stores::local();
        assert_eq!(&stores.read(&url, 100).await.unwrap()[..], b"{\"a\": 1}");
        let err = stores.read(&url, 4).await.unwrap_err();
        assert!(matches!(err, Error::Limit { value: 8, .. }), "{err}");
        let missing = Url::from_file_path(dir.path().join("b.json")).unwrap();
        let err = stores.read(&missing, 100).await.unwrap_err();
        assert!(err.to_string().contains("b.json"), "{err}");
    }
}
