//! The STAC catalogue reader over real-shaped catalogues: static catalogues,
//! directories and globs, stac-geoparquet written by the Python reference
//! library, and a real STAC API server on loopback.

#![expect(clippy::expect_used, reason = "tests fail loudly")]

mod api;
mod bad_input;
mod fixtures;
mod geoparquet;
mod scale;

use std::path::PathBuf;

use swath_catalog::{Filter, LoadOptions, Loaded, Stores};

/// The STAC fixture directory.
pub fn stac_fixtures() -> PathBuf {
    swath_tests::repo_root().join("tests/fixtures/stac")
}

/// A fixture path as a string.
pub fn fixture(rel: &str) -> String {
    stac_fixtures().join(rel).to_string_lossy().into_owned()
}

/// Load with the local store and default options.
pub async fn load(location: &str, filter: &Filter) -> swath_catalog::Result<Loaded> {
    swath_catalog::load(location, &Stores::local(), filter, &LoadOptions::default()).await
}

/// The ids of loaded items, in order.
pub fn ids(loaded: &Loaded) -> Vec<&str> {
    loaded.items.iter().map(|i| i.id.as_str()).collect()
}
