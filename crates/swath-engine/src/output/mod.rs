//! What queries write: `COPY (…) TO '…' STORED AS COG | ZARR` (DataFusion keeps Parquet, CSV
//! and JSON for pixel rows and scalars).

pub mod cog;
pub mod provenance;
pub mod zarr;

pub use cog::{CogFormatFactory, CogWriteOptions};
pub use provenance::with_statement;
pub use zarr::ZarrFormatFactory;

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::{Result, Statistics, plan_err};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::physical_plan::{FileScanConfig, FileSinkConfig, FileSource};
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::physical_expr::LexRequirement;
use datafusion::physical_plan::ExecutionPlan;
use object_store::{ObjectMeta, ObjectStore};

/// A raster output format: its name, its file extension and the sink it plans.
pub(crate) trait RasterOutput: fmt::Debug + Send + Sync + 'static {
    /// The `STORED AS` name.
    const NAME: &'static str;
    /// The file extension.
    const EXT: &'static str;

    /// The sink writing `input`'s rows to `conf`'s path (plan errors for queries that
    /// are not chunk rows).
    fn sink(
        &self,
        input: &Arc<dyn ExecutionPlan>,
        conf: FileSinkConfig,
    ) -> Result<Arc<dyn DataSink>>;
}

/// A write-only DataFusion file format around a [`RasterOutput`].
#[derive(Debug)]
pub(crate) struct OutputFormat<T>(pub(crate) T);

impl<T: RasterOutput> OutputFormat<T> {
    fn output_only<R>() -> Result<R> {
        plan_err!(
            "{} is an output format (COPY … TO '…' STORED AS {}); read rasters with STORED AS GEOTIFF or STAC",
            T::NAME,
            T::NAME
        )
    }
}

#[async_trait]
impl<T: RasterOutput> FileFormat for OutputFormat<T> {
    fn get_ext(&self) -> String {
        T::EXT.into()
    }

    fn get_ext_with_compression(&self, _c: &FileCompressionType) -> Result<String> {
        Ok(T::EXT.into())
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        None
    }

    async fn infer_schema(
        &self,
        _state: &dyn Session,
        _store: &Arc<dyn ObjectStore>,
        _objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        Self::output_only()
    }

    async fn infer_stats(
        &self,
        _state: &dyn Session,
        _store: &Arc<dyn ObjectStore>,
        _table_schema: SchemaRef,
        _object: &ObjectMeta,
    ) -> Result<Statistics> {
        Self::output_only()
    }

    async fn create_physical_plan(
        &self,
        _state: &dyn Session,
        _conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Self::output_only()
    }

    async fn create_writer_physical_plan(
        &self,
        input: Arc<dyn ExecutionPlan>,
        _state: &dyn Session,
        conf: FileSinkConfig,
        _order_requirements: Option<LexRequirement>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !conf.table_partition_cols.is_empty() {
            return plan_err!("{} output: PARTITIONED BY is not supported", T::NAME);
        }
        let sink = self.0.sink(&input, conf)?;
        Ok(Arc::new(DataSinkExec::new(input, sink, None)))
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        // Never scanned (infer_schema refuses); DataFusion wants a source regardless.
        Arc::new(
            datafusion::datasource::physical_plan::ArrowSource::new_file_source(
                table_schema,
            ),
        )
    }
}
