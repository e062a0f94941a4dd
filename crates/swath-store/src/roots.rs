//! Allowed locations: a server lets its clients read under some roots and write
//! under others. [`AccessRoots`] holds them as URL prefixes and [`Rooted`] wraps a
//! store so that every request outside them fails, whichever code path made it.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use url::Url;

/// Where a session may read and write: URL prefixes (`file:///data/`,
/// `s3://bucket/prefix/`, `https://host/path/`). `None` for a side means anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRoots {
    read: Option<Vec<String>>,
    write: Option<Vec<String>>,
}

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reading (get, head, list).
    Read,
    /// Writing (put, delete, copy, rename).
    Write,
}

impl AccessRoots {
    /// No limit on either side.
    pub fn anywhere() -> AccessRoots {
        AccessRoots::default()
    }

    /// Roots from paths or URLs; `None` leaves a side unlimited, an empty list
    /// allows nothing on that side.
    pub fn new(
        read: Option<&[String]>,
        write: Option<&[String]>,
    ) -> Result<AccessRoots, String> {
        let norm = |list: &[String]| -> Result<Vec<String>, String> {
            list.iter().map(|r| normalize_root(r)).collect()
        };
        Ok(AccessRoots {
            read: read.map(norm).transpose()?,
            write: write.map(norm).transpose()?,
        })
    }

    /// Whether no side is limited.
    pub fn is_unlimited(&self) -> bool {
        self.read.is_none() && self.write.is_none()
    }

    /// The roots of one side (`None`: anywhere).
    pub fn roots(&self, access: Access) -> Option<&[String]> {
        match access {
            Access::Read => self.read.as_deref(),
            Access::Write => self.write.as_deref(),
        }
    }

    /// Whether `url` may be accessed.
    pub fn allows(&self, url: &str, access: Access) -> bool {
        let Some(roots) = self.roots(access) else {
            return true;
        };
        let Ok(parsed) = Url::parse(url) else {
            return false;
        };
        // Compare without query and fragment, with `.`/`..` already resolved by
        // the URL parser, and refuse percent-encoded dots that a store decodes.
        let mut bare = parsed.clone();
        bare.set_query(None);
        bare.set_fragment(None);
        let s = bare.as_str();
        if s.to_ascii_lowercase().contains("%2e%2e") {
            return false;
        }
        roots
            .iter()
            .any(|r| s.starts_with(r.as_str()) || s == r.trim_end_matches('/'))
    }

    /// `Ok` if `url` may be accessed, else an error naming the roots.
    pub fn check(&self, url: &str, access: Access) -> Result<(), String> {
        if self.allows(url, access) {
            return Ok(());
        }
        let roots = self.roots(access).unwrap_or_default();
        let (verb, flag) = match access {
            Access::Read => ("reading", "--allow-root"),
            Access::Write => ("writing", "--output-root"),
        };
        let shown = crate::redact_location(url);
        if roots.is_empty() {
            Err(format!(
                "{shown}: {verb} is not allowed on this server (it was started without {flag})"
            ))
        } else {
            Err(format!(
                "{shown}: {verb} is allowed only under {} ({flag})",
                roots.join(", ")
            ))
        }
    }
}

/// A root as a URL prefix ending in `/`: a path becomes a `file://` URL (made
/// absolute against the working directory).
pub fn normalize_root(root: &str) -> Result<String, String> {
    let url = match Url::parse(root) {
        Ok(u) if u.scheme().len() > 1 => u,
        _ => {
            let path = std::path::Path::new(root);
            let abs = if path.is_absolute() {
                path.to_path_buf()
            } else {
                std::env::current_dir()
                    .map_err(|e| format!("{root}: {e}"))?
                    .join(path)
            };
            // Resolve symlinks where the path exists, so a link cannot point out.
            let abs = std::fs::canonicalize(&abs).unwrap_or(abs);
            Url::from_directory_path(&abs)
                .map_err(|()| format!("{root}: not an absolute path"))?
        }
    };
    let mut s = url.as_str().to_string();
    if let Some(q) = s.find(['?', '#']) {
        s.truncate(q);
    }
    if !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

/// A store that serves only paths under [`AccessRoots`]; `base` is the store's
/// URL without path (`file://`, `s3://bucket`, `https://host:port`).
#[derive(Debug)]
pub struct Rooted {
    inner: Arc<dyn ObjectStore>,
    base: String,
    roots: Arc<AccessRoots>,
}

impl Rooted {
    /// `inner`, limited to `roots`.
    pub fn new(
        inner: Arc<dyn ObjectStore>,
        base: &str,
        roots: Arc<AccessRoots>,
    ) -> Rooted {
        Rooted {
            inner,
            base: base.trim_end_matches('/').to_string(),
            roots,
        }
    }

    fn url(&self, path: &Path) -> String {
        format!("{}/{}", self.base, path.as_ref())
    }

    fn check(&self, path: &Path, access: Access) -> object_store::Result<()> {
        self.roots
            .check(&self.url(path), access)
            .map_err(|message| object_store::Error::PermissionDenied {
                path: path.to_string(),
                source: message.into(),
            })
    }

    /// A listing is allowed under a root only (a prefix above every root would
    /// name what lies beside them).
    fn check_prefix(&self, prefix: Option<&Path>) -> object_store::Result<()> {
        let path = prefix.cloned().unwrap_or_default();
        let url = format!("{}/", self.url(&path).trim_end_matches('/'));
        self.roots.check(&url, Access::Read).map_err(|message| {
            object_store::Error::PermissionDenied {
                path: path.to_string(),
                source: message.into(),
            }
        })
    }
}

impl fmt::Display for Rooted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rooted({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Rooted {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.check(location, Access::Write)?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.check(location, Access::Write)?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.check(location, Access::Read)?;
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.check(location, Access::Read)?;
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let base = self.base.clone();
        let roots = Arc::clone(&self.roots);
        let checked = locations.map(move |p| {
            let p = p?;
            roots
                .check(&format!("{base}/{}", p.as_ref()), Access::Write)
                .map_err(|message| object_store::Error::PermissionDenied {
                    path: p.to_string(),
                    source: message.into(),
                })?;
            Ok(p)
        });
        self.inner.delete_stream(checked.boxed())
    }

    fn list(
        &self,
        prefix: Option<&Path>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        match self.check_prefix(prefix) {
            Ok(()) => self.inner.list(prefix),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        match self.check_prefix(prefix) {
            Ok(()) => self.inner.list_with_offset(prefix, offset),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&Path>,
    ) -> object_store::Result<ListResult> {
        self.check_prefix(prefix)?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.check(from, Access::Read)?;
        self.check(to, Access::Write)?;
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.check(from, Access::Write)?;
        self.check(to, Access::Write)?;
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(read: &[&str], write: &[&str]) -> AccessRoots {
        let r: Vec<String> = read.iter().map(|s| s.to_string()).collect();
        let w: Vec<String> = write.iter().map(|s| s.to_string()).collect();
        AccessRoots::new(Some(&r), Some(&w)).unwrap()
    }

    #[test]
    fn prefixes_decide_and_dot_dot_cannot_escape() {
        let r = roots(&["/data/cubes", "s3://bucket/eo"], &["/out"]);
        assert!(r.allows("file:///data/cubes/a/b.tif", Access::Read));
        assert!(r.allows("file:///data/cubes", Access::Read));
        assert!(!r.allows("file:///data/cubes2/x.tif", Access::Read));
        assert!(!r.allows("file:///data/cubes/../secret", Access::Read));
        assert!(!r.allows("file:///data/cubes/%2e%2e/secret", Access::Read));
        assert!(r.allows("s3://bucket/eo/x.tif?versionId=1", Access::Read));
        assert!(!r.allows("s3://bucket/other/x.tif", Access::Read));
        assert!(!r.allows("file:///data/cubes/a.tif", Access::Write));
        assert!(r.allows("file:///out/w2.tif", Access::Write));
        assert!(!r.allows("not a url", Access::Read));
        let none = AccessRoots::new(Some(&[]), None).unwrap();
        assert!(!none.allows("file:///x", Access::Read));
        assert!(none.allows("file:///x", Access::Write));
        assert!(
            none.check("file:///x", Access::Read)
                .unwrap_err()
                .contains("--allow-root")
        );
    }

    #[tokio::test]
    async fn a_rooted_store_refuses_paths_outside() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("in");
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::write(inside.join("a.txt"), b"yes").unwrap();
        std::fs::write(dir.path().join("b.txt"), b"no").unwrap();
        let r = Arc::new(
            AccessRoots::new(Some(&[inside.display().to_string()]), Some(&[])).unwrap(),
        );
        let store = Rooted::new(
            Arc::new(object_store::local::LocalFileSystem::new()),
            "file://",
            r,
        );
        let canon = std::fs::canonicalize(dir.path()).unwrap();
        let ok = Path::from_filesystem_path(canon.join("in/a.txt")).unwrap();
        let bad = Path::from_filesystem_path(canon.join("b.txt")).unwrap();
        let got = store.get_opts(&ok, GetOptions::default()).await.unwrap();
        assert_eq!(got.bytes().await.unwrap().as_ref(), b"yes");
        let err = store
            .get_opts(&bad, GetOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, object_store::Error::PermissionDenied { .. }));
        assert!(err.to_string().contains("--allow-root"), "{err}");
        let err = store
            .put_opts(&ok, PutPayload::from_static(b"x"), PutOptions::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("--output-root"), "{err}");
        let listed: Vec<_> = store.list(None).collect().await;
        assert!(listed.len() == 1 && listed[0].is_err());
    }
}
