//! Resolving a path or URL given on the command line to an object store location.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use url::Url;

/// Resolve `location` — a local path, `file://`, `s3://`, `http(s)://` or `memory://`
/// URL — to a store and a path in it. Cloud credentials and options come from the
/// environment (`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT`, `AWS_REGION`, …).
pub fn resolve(location: &str) -> Result<(Arc<dyn ObjectStore>, Path), String> {
    if location.contains("://") {
        let url = Url::parse(location)
            .map_err(|e| format!("{location}: not a valid URL ({e})"))?;
        let (store, path) = object_store::parse_url_opts(&url, std::env::vars())
            .map_err(|e| format!("{location}: {e}"))?;
        return Ok((Arc::from(store), path));
    }
    // Resolve `..` and symlinks (object store paths cannot hold `..`); a file that does
    // not exist keeps its absolute form so the error names it.
    let absolute = std::fs::canonicalize(location)
        .or_else(|_| std::path::absolute(location))
        .map_err(|e| format!("{location}: {e}"))?;
    let path =
        Path::from_absolute_path(&absolute).map_err(|e| format!("{location}: {e}"))?;
    Ok((Arc::new(LocalFileSystem::new()), path))
}
