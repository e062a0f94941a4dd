//! Resolving a path or URL given on the command line to an object store location.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use swath_store::Registry;
use url::Url;

/// Resolve `location` — a local path or an `http(s)://`, `s3://`, `gs://`, `az://`,
/// `abfs://` or `file://` URL — to a store and a path in it. Settings and credentials
/// come from the environment as GDAL reads them (`AWS_*`, `AWS_NO_SIGN_REQUEST`,
/// `GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_STORAGE_*`, `GDAL_HTTP_TIMEOUT`, …).
pub fn resolve(location: &str) -> Result<(Arc<dyn ObjectStore>, Path), String> {
    if location.contains("://") {
        let url = Url::parse(location)
            .map_err(|e| format!("{location}: not a valid URL ({e})"))?;
        return Registry::from_env()
            .resolve(&url)
            .map_err(|e| e.to_string());
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

/// `message` about `location`, naming where the credentials came from when the
/// store refused access.
pub fn explain(location: &str, message: String) -> String {
    if !swath_store::refused(&message) {
        return message;
    }
    let creds = Url::parse(location).ok().and_then(|url| {
        let registry = Registry::from_env();
        registry.get(&url).ok()?;
        registry.credentials(&url)
    });
    match creds {
        Some(c) => format!("{message} (credentials tried: {c})"),
        None => message,
    }
}
