//! Where the bytes of a TIFF come from: any `object_store`, or memory.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use crate::error::{Result, malformed};

/// Ranged access to the bytes of one file.
///
/// The reader asks for a prefix once (which also tells it the file size), then for
/// batches of ranges; implementations should serve a batch concurrently.
pub trait RangeReader: Send + Sync + fmt::Debug {
    /// The first `len` bytes of the file (fewer if it is shorter) and the file's size.
    fn prefix(&self, len: u64) -> BoxFuture<'_, Result<(Bytes, u64)>>;
    /// The bytes of each range, in the order asked; every range lies within the file.
    fn ranges(&self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>>;
    /// The store's version of the file (its ETag), once known.
    fn version(&self) -> Option<String> {
        None
    }
}

/// The largest file read whole from a server that ignores range requests.
pub const WHOLE_FILE_LIMIT: u64 = 16 << 20;

/// A file in an object store (local disk, S3, GCS, Azure, HTTP, memory).
///
/// A server that answers range requests with the whole file (an HTTP server
/// without Range support) is read once, whole, if the file is at most
/// [`WHOLE_FILE_LIMIT`] bytes, and the ranges are cut from memory; a larger file
/// is refused with a message saying why.
#[derive(Debug, Clone)]
pub struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    concurrency: usize,
    whole: Arc<std::sync::OnceLock<Bytes>>,
    etag: Arc<std::sync::OnceLock<String>>,
    if_match: Option<String>,
}

impl ObjectReader {
    /// Read `path` from `store`, with up to 8 requests in flight.
    pub fn new(store: Arc<dyn ObjectStore>, path: Path) -> Self {
        ObjectReader {
            store,
            path,
            concurrency: 8,
            whole: Arc::new(std::sync::OnceLock::new()),
            etag: Arc::new(std::sync::OnceLock::new()),
            if_match: None,
        }
    }

    /// Set how many range requests may be in flight at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Read only while the file's ETag is `etag`: a file changed since its header
    /// was read fails its range requests with a precondition error
    /// ([`object_store::Error::Precondition`]) instead of serving stale bytes.
    pub fn with_if_match(mut self, etag: Option<String>) -> Self {
        self.if_match = etag;
        self
    }

    /// The path read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file, from a server that ignores range requests, if it is small.
    async fn read_whole(&self) -> Result<Bytes> {
        if let Some(whole) = self.whole.get() {
            return Ok(whole.clone());
        }
        let meta = self.store.head(&self.path).await?;
        if meta.size > WHOLE_FILE_LIMIT {
            return Err(store_error(format!(
                "{}: the server does not answer range requests, and the file is {} bytes \
                 (more than the {} read whole); serve it from a server with Range support",
                self.path, meta.size, WHOLE_FILE_LIMIT
            )));
        }
        let bytes = self.store.get(&self.path).await?.bytes().await?;
        if bytes.len() as u64 > WHOLE_FILE_LIMIT {
            return Err(store_error(format!(
                "{}: the server sent {} bytes for a file it said was {}",
                self.path,
                bytes.len(),
                meta.size
            )));
        }
        Ok(self.whole.get_or_init(|| bytes).clone())
    }
}

impl RangeReader for ObjectReader {
    fn version(&self) -> Option<String> {
        self.etag.get().cloned().or_else(|| self.if_match.clone())
    }

    fn prefix(&self, len: u64) -> BoxFuture<'_, Result<(Bytes, u64)>> {
        async move {
            let options =
                GetOptions::new().with_range(Some(GetRange::Bounded(0..len.max(1))));
            let result = match self.store.get_opts(&self.path, options).await {
                Ok(result) => result,
                Err(e @ object_store::Error::NotFound { .. }) => return Err(e.into()),
                Err(e) if ranges_refused(&e) => {
                    let whole = self.read_whole().await?;
                    let size = whole.len() as u64;
                    let end = usize::try_from(len.min(size)).unwrap_or(whole.len());
                    return Ok((whole.slice(..end), size));
                }
                Err(e) => {
                    // A range request on an empty object fails; say so plainly.
                    let meta = self.store.head(&self.path).await?;
                    if meta.size == 0 {
                        return Err(malformed!("{} is an empty file", self.path));
                    }
                    return Err(e.into());
                }
            };
            let size = result.meta.size;
            if let Some(etag) = &result.meta.e_tag {
                let _ = self.etag.set(etag.clone());
            }
            let bytes = result.bytes().await?;
            Ok((bytes, size))
        }
        .boxed()
    }

    fn ranges(&self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        if let Some(whole) = self.whole.get() {
            return futures::future::ready(slice_ranges(whole, ranges)).boxed();
        }
        async move {
            futures::stream::iter(ranges)
                .map(|r| async move {
                    let mut options =
                        GetOptions::new().with_range(Some(GetRange::Bounded(r)));
                    options.if_match = self.if_match.clone();
                    let got = self.store.get_opts(&self.path, options).await?;
                    Ok::<_, crate::Error>(got.bytes().await?)
                })
                .buffered(self.concurrency)
                .try_collect()
                .await
        }
        .boxed()
    }
}

/// Whether the store answered a range request with the whole object.
fn ranges_refused(e: &object_store::Error) -> bool {
    let text = e.to_string();
    text.contains("non-partial") || text.contains("Range request not supported")
}

/// The bytes of each range of `data`, or an error for a range outside it.
fn slice_ranges(data: &Bytes, ranges: Vec<Range<u64>>) -> Result<Vec<Bytes>> {
    let size = data.len() as u64;
    ranges
        .into_iter()
        .map(|r| {
            if r.start > r.end || r.end > size {
                return Err(malformed!("range {r:?} lies outside the {size}-byte file"));
            }
            // In range and within a `usize`-sized buffer, so these casts are exact.
            Ok(data.slice(r.start as usize..r.end as usize))
        })
        .collect()
}

fn store_error(message: String) -> crate::Error {
    crate::Error::Store(object_store::Error::Generic {
        store: "HTTP",
        source: message.into(),
    })
}

/// A file held in memory; useful for tests, fuzzing and freshly written files.
#[derive(Clone)]
pub struct BytesReader(pub Bytes);

impl fmt::Debug for BytesReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BytesReader({} bytes)", self.0.len())
    }
}

impl RangeReader for BytesReader {
    fn prefix(&self, len: u64) -> BoxFuture<'_, Result<(Bytes, u64)>> {
        let size = self.0.len() as u64;
        let end = usize::try_from(len.min(size)).unwrap_or(self.0.len());
        futures::future::ready(Ok((self.0.slice(..end), size))).boxed()
    }

    fn ranges(&self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        futures::future::ready(slice_ranges(&self.0, ranges)).boxed()
    }
}
