//! The session's object stores: Swath's [`Registry`] behind DataFusion's
//! [`ObjectStoreRegistry`], so every URL a query names — a catalogue, its assets on
//! other hosts and buckets, an output — gets its store on demand, configured from the
//! environment and the table's `aws.*`/`google.*`/`azure.*`/`http.*` options.

use std::sync::Arc;

use datafusion::catalog::Session;
use datafusion::common::{DataFusionError, Result, plan_datafusion_err};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::SessionConfig;
use object_store::ObjectStore;
use swath_store::{Registry, StoreOptions};
use url::Url;

/// DataFusion's view of a [`Registry`].
#[derive(Debug)]
pub struct SwathObjectStores(pub Arc<Registry>);

impl ObjectStoreRegistry for SwathObjectStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.0.register(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.0
            .remove(url)
            .ok_or_else(|| plan_datafusion_err!("no object store for {url}"))
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.0
            .get(url)
            .map_err(|e| DataFusionError::Plan(e.to_string()))
    }
}

/// The registry a session was built with ([`crate::session_state`] keeps it as a
/// config extension beside the runtime's object store registry).
pub fn registry(config: &SessionConfig) -> Option<Arc<Registry>> {
    config.get_extension::<Registry>()
}

/// The store of `url`, through the runtime's object store registry.
pub fn store(runtime: &RuntimeEnv, url: &Url) -> Result<Arc<dyn ObjectStore>> {
    runtime.object_store_registry.get_store(url)
}

/// A plan error unless every URL of `urls` may be read under the session's
/// allowed roots (a server's `--allow-root`): catalogues and assets outside are
/// refused when a table is made, before any of them is read.
pub fn check_read<'a>(
    state: &dyn Session,
    urls: impl IntoIterator<Item = &'a Url>,
) -> Result<()> {
    let Some(registry) = registry(state.config()) else {
        return Ok(());
    };
    if registry.roots().roots(swath_store::Access::Read).is_none() {
        return Ok(());
    }
    for url in urls {
        registry
            .check(url, swath_store::Access::Read)
            .map_err(|e| DataFusionError::Plan(e.to_string()))?;
    }
    Ok(())
}

/// Configure the stores of `urls` (their scheme and host/bucket) with `options`
/// over the environment. Without options nothing changes.
pub fn configure<'a>(
    state: &dyn Session,
    urls: impl IntoIterator<Item = &'a Url>,
    options: &StoreOptions,
) -> Result<()> {
    if options.is_empty() {
        return Ok(());
    }
    let registry =
        registry(state.config()).unwrap_or_else(|| Arc::new(Registry::from_env()));
    let mut done = std::collections::HashSet::new();
    for url in urls {
        if url.scheme() == "file" || !done.insert(swath_store::store_key(url)) {
            continue;
        }
        let store = registry
            .configure(url, options)
            .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        state.runtime_env().register_object_store(url, store);
    }
    Ok(())
}

/// A resolver for the catalogue reader: any URL, through the runtime's stores.
pub fn resolver(runtime: Arc<RuntimeEnv>) -> swath_catalog::Resolver {
    Arc::new(move |url: &Url| store(&runtime, url).map_err(|e| strip_plan(&e)))
}

/// Where the credentials of `url`'s store came from, for error messages.
pub fn credentials(config: &SessionConfig, url: &Url) -> Option<String> {
    registry(config).and_then(|r| r.credentials(url))
}

/// An error's text without DataFusion's "Error during planning: " prefix.
pub fn strip_plan(e: &DataFusionError) -> String {
    match e {
        DataFusionError::Plan(m) => m.clone(),
        other => other.to_string(),
    }
}

/// `message` about `url`, with the session's secret option values masked and, when
/// the store refused access (HTTP 401/403), where the credentials came from, so a
/// user sees which credentials were tried (never their values).
pub fn explain(config: Option<&SessionConfig>, url: &Url, message: String) -> String {
    let registry = config.and_then(registry);
    let mut message = match &registry {
        Some(r) => r.redact(&message),
        None => message,
    };
    // A signed URL's query string is a credential too.
    if let Some(q) = url.query().filter(|q| q.len() >= 4) {
        message = message.replace(q, "***");
    }
    if !swath_store::refused(&message) {
        return message;
    }
    match registry.and_then(|r| r.credentials(url)) {
        Some(creds) => format!("{message} (credentials tried: {creds})"),
        None => message,
    }
}

/// Session-wide store settings: `SET swath.store.aws.region = 'us-west-2'`,
/// `SET swath.store.http.query = 'sig=…'`; a table's own options win over them.
/// Secret values show as `***` in `SHOW` and are never sent to a cluster.
#[derive(Debug, Clone, Default)]
pub struct SessionStoreSettings {
    /// The settings, as [`StoreOptions`].
    pub store: StoreOptions,
    /// The statement being run (`swath.statement`), set by the front end before a
    /// cluster plans it, so outputs planned on the scheduler record it in their
    /// provenance as the embedded engine does.
    pub statement: Option<String>,
}

impl datafusion::config::ConfigExtension for SessionStoreSettings {
    const PREFIX: &'static str = "swath";
}

impl datafusion::config::ExtensionOptions for SessionStoreSettings {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn cloned(&self) -> Box<dyn datafusion::config::ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        if key == "statement" {
            self.statement = (!value.is_empty()).then(|| value.to_string());
            return Ok(());
        }
        let Some(setting) = key.strip_prefix("store.") else {
            return datafusion::common::config_err!(
                "unknown setting swath.{key}; store settings are swath.store.aws.*, \
                 swath.store.google.*, swath.store.azure.*, swath.store.http.*"
            );
        };
        self.store
            .set(setting, value)
            .map_err(|e| DataFusionError::Configuration(e.to_string()))
    }

    fn entries(&self) -> Vec<datafusion::config::ConfigEntry> {
        let secrets: Vec<&str> = self.store.secret_values().collect();
        self.store
            .keys()
            .map(|k| {
                let value = self.store.get(k).unwrap_or_default();
                let shown = if secrets.contains(&value) {
                    "***"
                } else {
                    value
                };
                datafusion::config::ConfigEntry {
                    key: format!("swath.store.{k}"),
                    value: Some(shown.to_string()),
                    description: "an object store setting (docs/remote.md)",
                }
            })
            .chain(
                self.statement
                    .as_ref()
                    .map(|s| datafusion::config::ConfigEntry {
                        key: "swath.statement".into(),
                        value: Some(s.clone()),
                        description: "the statement being run (provenance of outputs)",
                    }),
            )
            .collect()
    }
}

/// The statement the front end said it is running (`swath.statement`).
pub fn session_statement(state: &dyn Session) -> Option<String> {
    state
        .config_options()
        .extensions
        .get::<SessionStoreSettings>()
        .and_then(|s| s.statement.clone())
}

/// The store settings for a table: the session's (`SET swath.store.…`) with the
/// table's own over them.
pub fn table_store_options(state: &dyn Session, table: &StoreOptions) -> StoreOptions {
    match state
        .config_options()
        .extensions
        .get::<SessionStoreSettings>()
    {
        Some(session) => session.store.merged(table),
        None => table.clone(),
    }
}
