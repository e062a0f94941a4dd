//! Object stores by URL.
//!
//! Every URL Swath reads or writes goes through one [`Registry`]: it makes a store
//! the first time a scheme and host (or bucket, or container) is asked for, and keeps
//! it for the life of the registry. `http(s)://`, `s3://` (`s3a://`), `gs://`
//! (`gcs://`), `az://`/`abfs(s)://` and `file://` are served.
//!
//! Settings come from the environment as GDAL and the cloud SDKs read it
//! ([`Environment`]: `AWS_*` with `AWS_PROFILE` and `AWS_NO_SIGN_REQUEST`,
//! `GOOGLE_*`, `AZURE_STORAGE_*`, `GDAL_HTTP_TIMEOUT`, …), and a table or session can
//! override them ([`StoreOptions`]: `aws.region`, `http.timeout`, `http.query`, …).
//! Every store retries 5xx answers, timeouts and broken connections with bounded
//! exponential backoff and gives up after a bounded time.
//!
//! Secrets never leave this crate in text: [`StoreOptions`] and [`Registry`] print
//! their keys only, and [`Registry::credentials`] names *where* credentials came
//! from, never their values.

#![warn(missing_docs)]

mod env;
mod options;
pub mod roots;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use url::Url;

pub use env::Environment;
pub use options::{OPTION_KEYS, StoreOptions, parse_duration};
pub use roots::{Access, AccessRoots};

/// Why a store could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL's scheme is not one Swath reads.
    #[error(
        "{url}: unknown scheme {scheme:?}; Swath reads http(s)://, s3://, gs://, az://, abfs:// and file:// URLs"
    )]
    UnknownScheme {
        /// The URL.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// A setting is unknown or has a bad value.
    #[error("{0}")]
    Option(String),
    /// The store's builder refused the configuration.
    #[error("{url}: cannot make a {kind} store: {message}")]
    Build {
        /// The URL.
        url: String,
        /// `S3`, `GCS`, `Azure`, `HTTP`.
        kind: &'static str,
        /// What the builder said.
        message: String,
    },
    /// The URL has no usable object path.
    #[error("{url}: {message}")]
    Path {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
}

/// This crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kinds of store, by scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The local file system (`file://`).
    Local,
    /// Plain HTTP(S) with range requests, as GDAL's `/vsicurl/`.
    Http,
    /// Amazon S3 or an S3-compatible server.
    S3,
    /// Google Cloud Storage.
    Gcs,
    /// Azure Blob Storage / Data Lake.
    Azure,
}

impl Kind {
    /// The kind of store serving `url`.
    pub fn of(url: &Url) -> Result<Kind> {
        match url.scheme() {
            "file" => Ok(Kind::Local),
            "http" | "https" => Ok(Kind::Http),
            "s3" | "s3a" => Ok(Kind::S3),
            "gs" | "gcs" => Ok(Kind::Gcs),
            "az" | "azure" | "adl" | "abfs" | "abfss" => Ok(Kind::Azure),
            other => Err(Error::UnknownScheme {
                url: url.to_string(),
                scheme: other.to_string(),
            }),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Local => "local",
            Kind::Http => "HTTP",
            Kind::S3 => "S3",
            Kind::Gcs => "GCS",
            Kind::Azure => "Azure",
        }
    }
}

/// `scheme://authority` of a URL: one store serves every object under it
/// (`s3://bucket`, `https://host:port`, `abfs://container@account…`, `file://`). An
/// http(s) URL that carries its own query string (a signed href, `…/B04.tif?sig=…`)
/// gets a store of its own for that query, which it appends to every request.
pub fn store_key(url: &Url) -> String {
    match (url.scheme(), url.query()) {
        ("file", _) => "file://".to_string(),
        ("http" | "https", Some(q)) if !q.is_empty() => {
            format!("{}?{q}", &url[..url::Position::BeforePath])
        }
        _ => url[..url::Position::BeforePath].to_string(),
    }
}

/// The object's path in its store: the URL's path, percent-decoded.
pub fn object_path(url: &Url) -> Result<Path> {
    Path::from_url_path(url.path()).map_err(|e| Error::Path {
        url: url.to_string(),
        message: e.to_string(),
    })
}

struct Entry {
    store: Arc<dyn ObjectStore>,
    credentials: String,
}

/// The object stores of a process or session, made on demand per
/// [`store_key`] from the [`Environment`] and any [`StoreOptions`] given.
pub struct Registry {
    env: Environment,
    stores: Mutex<HashMap<String, Entry>>,
    /// Secret values of the options stores were configured with, to mask in text.
    secrets: Mutex<Vec<String>>,
    /// Where the stores may read and write (a server's allowed roots).
    roots: Arc<AccessRoots>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<String> = self
            .stores
            .lock()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        f.debug_struct("Registry").field("stores", &keys).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::from_env()
    }
}

impl Registry {
    /// A registry configured from this process's environment.
    pub fn from_env() -> Self {
        Self::with_environment(Environment::from_process())
    }

    /// A registry configured from `env` (tests pass their own).
    pub fn with_environment(env: Environment) -> Self {
        Registry {
            env,
            stores: Mutex::new(HashMap::new()),
            secrets: Mutex::new(Vec::new()),
            roots: Arc::new(AccessRoots::anywhere()),
        }
    }

    /// This registry, its stores limited to `roots`: every request outside them
    /// fails with a permission error, whichever code path makes it.
    pub fn with_roots(mut self, roots: AccessRoots) -> Self {
        self.roots = Arc::new(roots);
        self
    }

    /// Where this registry's stores may read and write.
    pub fn roots(&self) -> &AccessRoots {
        &self.roots
    }

    /// `Ok` if `url` may be accessed (`access`) under the registry's roots.
    pub fn check(&self, url: &Url, access: Access) -> Result<()> {
        self.roots
            .check(url.as_str(), access)
            .map_err(Error::Option)
    }

    /// `store`, limited to the registry's roots when it has any.
    fn limit(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        if self.roots.is_unlimited() {
            return store;
        }
        let base = match url.scheme() {
            "file" => "file://".to_string(),
            _ => url[..url::Position::BeforePath].to_string(),
        };
        Arc::new(roots::Rooted::new(store, &base, Arc::clone(&self.roots)))
    }

    /// The store serving `url`: the one made before for its [`store_key`], or a new
    /// one configured from the environment. Making a store sends no request.
    pub fn get(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        let key = store_key(url);
        if let Some(e) = self
            .stores
            .lock()
            .ok()
            .and_then(|s| s.get(&key).map(|e| Arc::clone(&e.store)))
        {
            return Ok(self.limit(url, e));
        }
        let entry = self.build(url, &StoreOptions::default())?;
        let store = Arc::clone(&entry.store);
        if let Ok(mut stores) = self.stores.lock() {
            // Another caller may have made it meanwhile: keep the first.
            let kept = stores.entry(key).or_insert(entry);
            return Ok(self.limit(url, Arc::clone(&kept.store)));
        }
        Ok(self.limit(url, store))
    }

    /// Make the store for `url` with `options` over the environment, and keep it
    /// for its [`store_key`] (replacing any earlier one).
    pub fn configure(
        &self,
        url: &Url,
        options: &StoreOptions,
    ) -> Result<Arc<dyn ObjectStore>> {
        let entry = self.build(url, options)?;
        if let Ok(mut secrets) = self.secrets.lock() {
            for value in options.secret_values() {
                if !secrets.iter().any(|s| s == value) {
                    secrets.push(value.to_string());
                }
            }
        }
        let store = Arc::clone(&entry.store);
        if let Ok(mut stores) = self.stores.lock() {
            stores.insert(store_key(url), entry);
        }
        Ok(self.limit(url, store))
    }

    /// Serve `url`'s [`store_key`] with `store` (tests, in-memory stores).
    pub fn register(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        let entry = Entry {
            store,
            credentials: "a store registered by the program".into(),
        };
        self.stores
            .lock()
            .ok()
            .and_then(|mut s| s.insert(store_key(url), entry))
            .map(|e| e.store)
    }

    /// Forget the store of `url`'s key; the next [`Registry::get`] makes a new one.
    pub fn remove(&self, url: &Url) -> Option<Arc<dyn ObjectStore>> {
        self.stores
            .lock()
            .ok()
            .and_then(|mut s| s.remove(&store_key(url)))
            .map(|e| e.store)
    }

    /// Where the credentials of `url`'s store come from (`"anonymous
    /// (AWS_NO_SIGN_REQUEST)"`, `"access key from AWS_ACCESS_KEY_ID"`, …), never
    /// their values; `None` before the store is made.
    pub fn credentials(&self, url: &Url) -> Option<String> {
        self.stores
            .lock()
            .ok()
            .and_then(|s| s.get(&store_key(url)).map(|e| e.credentials.clone()))
    }

    /// `text` with every secret value of the configured options (keys, tokens,
    /// `http.query`) replaced by `***`: for error messages and logs.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Ok(secrets) = self.secrets.lock() {
            for secret in secrets.iter() {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }

    /// The store and object path of `url`.
    pub fn resolve(&self, url: &Url) -> Result<(Arc<dyn ObjectStore>, Path)> {
        Ok((self.get(url)?, object_path(url)?))
    }

    fn build(&self, url: &Url, options: &StoreOptions) -> Result<Entry> {
        let kind = Kind::of(url)?;
        let transport = self.env.transport().merged(&options.transport()?);
        let build_err = |e: object_store::Error| Error::Build {
            url: url.to_string(),
            kind: kind.name(),
            message: e.to_string(),
        };
        let mut client = ClientOptions::new()
            .with_timeout(transport.timeout.unwrap_or(DEFAULT_TIMEOUT))
            .with_connect_timeout(
                transport.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            );
        if let Some(agent) = &transport.user_agent
            && let Ok(value) = agent.parse()
        {
            client = client.with_user_agent(value);
        }
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: transport.retry_delay.unwrap_or(Duration::from_millis(100)),
                max_backoff: Duration::from_secs(8),
                base: 2.0,
            },
            max_retries: transport.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
            retry_timeout: transport.retry_timeout.unwrap_or(DEFAULT_RETRY_TIMEOUT),
        };
        let (store, credentials): (Arc<dyn ObjectStore>, String) = match kind {
            Kind::Local => (
                Arc::new(LocalFileSystem::new()),
                "the local file system".into(),
            ),
            Kind::Http => {
                let mut base =
                    Url::parse(&format!("{}/", store_key(url))).map_err(|e| {
                        Error::Path {
                            url: url.to_string(),
                            message: e.to_string(),
                        }
                    })?;
                // The href's own signature, else the table's or session's token.
                let own = url.query().filter(|q| !q.is_empty());
                base.set_query(
                    own.or(options.get("http.query")).filter(|q| !q.is_empty()),
                );
                let store = HttpBuilder::new()
                    .with_url(base.as_str())
                    .with_client_options(client.with_allow_http(url.scheme() == "http"))
                    .with_retry(retry)
                    .build()
                    .map_err(build_err)?;
                let creds = if own.is_some() {
                    "the query string of the signed URL"
                } else if base.query().is_some() {
                    "a query-string token (http.query)"
                } else {
                    "none (plain HTTP(S))"
                };
                (Arc::new(store), creds.into())
            }
            Kind::S3 => {
                let (pairs, credentials) = self.env.aws(options)?;
                let mut b = AmazonS3Builder::new()
                    .with_client_options(client)
                    .with_retry(retry)
                    .with_url(url.as_str());
                for (k, v) in pairs {
                    let key: AmazonS3ConfigKey = parse_key(&k, "aws")?;
                    b = b.with_config(key, v);
                }
                if let Some(bucket) = url.host_str() {
                    b = b.with_bucket_name(bucket);
                }
                (Arc::new(b.build().map_err(build_err)?), credentials)
            }
            Kind::Gcs => {
                let (pairs, credentials) = self.env.google(options)?;
                let mut b = GoogleCloudStorageBuilder::new()
                    .with_client_options(client)
                    .with_retry(retry)
                    .with_url(url.as_str());
                for (k, v) in pairs {
                    let key: GoogleConfigKey = parse_key(&k, "google")?;
                    b = b.with_config(key, v);
                }
                (Arc::new(b.build().map_err(build_err)?), credentials)
            }
            Kind::Azure => {
                let (pairs, credentials) = self.env.azure(options)?;
                let mut b = MicrosoftAzureBuilder::new()
                    .with_client_options(client)
                    .with_retry(retry)
                    .with_url(url.as_str());
                for (k, v) in pairs {
                    let key: AzureConfigKey = parse_key(&k, "azure")?;
                    b = b.with_config(key, v);
                }
                (Arc::new(b.build().map_err(build_err)?), credentials)
            }
        };
        Ok(Entry { store, credentials })
    }
}

/// `location` for display: a URL's query string (often a signed-URL token) and
/// password are replaced by `***`; other text is returned as is.
pub fn redact_location(location: &str) -> String {
    match Url::parse(location) {
        Ok(mut url) if url.query().is_some() || url.password().is_some() => {
            if url.query().is_some() {
                url.set_query(Some("***"));
            }
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        _ => location.to_string(),
    }
}

/// Whether an error's text says the store refused access (HTTP 401/403), so a
/// message can add which credentials were tried.
pub fn refused(message: &str) -> bool {
    [
        "403",
        "401",
        "Forbidden",
        "Unauthorized",
        "AccessDenied",
        "PermissionDenied",
        "permission denied",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// A request that gets no answer for this long fails (and is retried).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection not made in this long fails (and is retried).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Retries of one request (5xx, timeouts, broken connections).
pub const DEFAULT_MAX_RETRIES: usize = 4;
/// No request is retried after this long from its first attempt.
pub const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(60);

/// Parse an object_store config key, as given (`region`) or with its prefix
/// (`aws_region`).
fn parse_key<K: std::str::FromStr>(key: &str, prefix: &str) -> Result<K> {
    key.parse()
        .or_else(|_| format!("{prefix}_{key}").parse())
        .map_err(|_| {
            Error::Option(format!(
                "unknown {prefix} setting {:?}",
                format!("{prefix}.{key}")
            ))
        })
}

#[cfg(test)]
mod tests;
