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
}

/// A file in an object store (local disk, S3, GCS, Azure, HTTP, memory).
#[derive(Debug, Clone)]
pub struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    concurrency: usize,
}

impl ObjectReader {
    /// Read `path` from `store`, with up to 8 requests in flight.
    pub fn new(store: Arc<dyn ObjectStore>, path: Path) -> Self {
        ObjectReader {
            store,
            path,
            concurrency: 8,
        }
    }

    /// Set how many range requests may be in flight at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The path read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl RangeReader for ObjectReader {
    fn prefix(&self, len: u64) -> BoxFuture<'_, Result<(Bytes, u64)>> {
        async move {
            let options =
                GetOptions::new().with_range(Some(GetRange::Bounded(0..len.max(1))));
            let result = match self.store.get_opts(&self.path, options).await {
                Ok(result) => result,
                Err(e @ object_store::Error::NotFound { .. }) => return Err(e.into()),
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
            let bytes = result.bytes().await?;
            Ok((bytes, size))
        }
        .boxed()
    }

    fn ranges(&self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        async move {
            futures::stream::iter(ranges)
                .map(|r| async move {
                    let options =
                        GetOptions::new().with_range(Some(GetRange::Bounded(r)));
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
        let size = self.0.len() as u64;
        let out = ranges
            .into_iter()
            .map(|r| {
                if r.start > r.end || r.end > size {
                    return Err(malformed!(
                        "range {r:?} lies outside the {size}-byte file"
                    ));
                }
                // In range and within a `usize`-sized buffer, so these casts are exact.
                Ok(self.0.slice(r.start as usize..r.end as usize))
            })
            .collect();
        futures::future::ready(out).boxed()
    }
}
