//! What queries write: `COPY (…) TO '…' STORED AS COG | ZARR | PNG` (DataFusion keeps Parquet, CSV
//! and JSON for pixel rows and scalars).

pub mod cog;
pub mod csv;
pub mod png;
pub mod provenance;
pub mod zarr;

pub use cog::{CogFormatFactory, CogWriteOptions};
pub use png::{PngFormatFactory, PngOptions};
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

    /// The output with `COPY … OPTIONS (…)` parsed (keys may carry DataFusion's
    /// `format.` prefix).
    fn parse(options: &std::collections::HashMap<String, String>) -> Result<Self>
    where
        Self: Sized;

    /// The sink writing `input`'s rows to `conf`'s path (plan errors for queries that
    /// are not chunk rows), recording `inputs` as the output's provenance.
    fn sink(
        &self,
        input: &Arc<dyn ExecutionPlan>,
        conf: FileSinkConfig,
        inputs: provenance::Inputs,
    ) -> Result<Arc<dyn DataSink>>;
}

/// Where outputs may be written: URL prefixes, normalised (`file:///data/out/`,
/// `s3://bucket/results/`). Empty: anywhere the session has an object store for.
#[derive(Debug, Clone, Default)]
pub struct OutputRoots(Arc<Vec<String>>);

impl OutputRoots {
    /// Roots from paths or URLs.
    pub fn new(roots: &[String]) -> Result<OutputRoots> {
        let mut out = Vec::with_capacity(roots.len());
        for r in roots {
            let url = datafusion::datasource::listing::ListingTableUrl::parse(r)?;
            let mut s = url.as_str().to_string();
            if !s.ends_with('/') {
                s.push('/');
            }
            out.push(s);
        }
        Ok(OutputRoots(Arc::new(out)))
    }

    /// Plan error unless `conf`'s destination lies under a root.
    fn check(&self, name: &str, conf: &FileSinkConfig) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let target = conf.table_paths.first().map(|u| u.as_str().to_string());
        let inside = target.as_deref().is_some_and(|t| {
            !t.split('/').any(|seg| seg == "..")
                && self.0.iter().any(|r| t.starts_with(r.as_str()))
        });
        if inside {
            Ok(())
        } else {
            plan_err!(
                "{name} output: '{}' is outside the allowed output locations ({})",
                conf.original_url,
                self.0.join(", ")
            )
        }
    }
}

/// The object store and path an output goes to.
pub(crate) fn destination(
    name: &str,
    config: &FileSinkConfig,
    context: &datafusion::execution::TaskContext,
) -> Result<(Arc<dyn ObjectStore>, object_store::path::Path)> {
    let store = context
        .runtime_env()
        .object_store(&config.object_store_url)?;
    let Some(url) = config.table_paths.first() else {
        return datafusion::common::exec_err!("{name} output: no output path");
    };
    Ok((store, url.prefix().clone()))
}

/// Implement `GetExt` and `FileFormatFactory` for `$factory` (a struct with a
/// `roots: OutputRoots` field) making [`OutputFormat`]s of the [`RasterOutput`]
/// `$output` (`Default` for a format without options).
macro_rules! output_factory {
    ($factory:ty, $output:ty) => {
        impl datafusion::common::GetExt for $factory {
            fn get_ext(&self) -> String {
                <$output as $crate::output::RasterOutput>::NAME.to_ascii_lowercase()
            }
        }

        impl datafusion::datasource::file_format::FileFormatFactory for $factory {
            fn create(
                &self,
                _state: &dyn datafusion::catalog::Session,
                options: &std::collections::HashMap<String, String>,
            ) -> datafusion::common::Result<
                std::sync::Arc<dyn datafusion::datasource::file_format::FileFormat>,
            > {
                Ok(std::sync::Arc::new($crate::output::OutputFormat {
                    output: <$output as $crate::output::RasterOutput>::parse(options)?,
                    options: options.clone(),
                    roots: self.roots.clone(),
                }))
            }

            fn default(
                &self,
            ) -> std::sync::Arc<dyn datafusion::datasource::file_format::FileFormat> {
                std::sync::Arc::new($crate::output::OutputFormat {
                    output: <$output>::default(),
                    options: std::collections::HashMap::new(),
                    roots: self.roots.clone(),
                })
            }
        }
    };
}
pub(crate) use output_factory;

/// A write-only DataFusion file format around a [`RasterOutput`].
#[derive(Debug)]
pub(crate) struct OutputFormat<T> {
    pub(crate) output: T,
    /// The COPY options it was parsed from (a cluster executor parses them again).
    pub(crate) options: std::collections::HashMap<String, String>,
    pub(crate) roots: OutputRoots,
}

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
        state: &dyn Session,
        conf: FileSinkConfig,
        _order_requirements: Option<LexRequirement>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !conf.table_partition_cols.is_empty() {
            return plan_err!("{} output: PARTITIONED BY is not supported", T::NAME);
        }
        self.roots.check(T::NAME, &conf)?;
        let mut inputs = provenance::Inputs::of(&input);
        if inputs.statement.is_none() {
            // Planned on a cluster's scheduler: the client sent the statement in
            // its session settings.
            inputs.statement = crate::stores::session_statement(state);
        }
        let inner = self.output.sink(&input, conf.clone(), inputs.clone())?;
        let sink = Arc::new(PortableSink {
            format: T::NAME.to_string(),
            options: self.options.clone(),
            config: conf,
            inputs,
            inner,
        });
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

/// A raster output's sink with what it was made from, so a cluster scheduler can
/// send it to the executor that writes: the format, the COPY options, the
/// destination and the provenance (taken from the whole plan where it was made;
/// the executor sees only its stage). Writing is the inner sink's.
#[derive(Debug)]
pub struct PortableSink {
    /// `COG`, `ZARR` or `PNG`.
    pub format: String,
    /// The COPY options.
    pub options: std::collections::HashMap<String, String>,
    /// Where to write.
    pub config: FileSinkConfig,
    /// What went into the output.
    pub inputs: provenance::Inputs,
    inner: Arc<dyn DataSink>,
}

impl PortableSink {
    /// Make the sink again from its parts, over `input` (as an executor does).
    pub fn rebuild(
        format: &str,
        options: std::collections::HashMap<String, String>,
        config: FileSinkConfig,
        inputs: provenance::Inputs,
        input: &Arc<dyn ExecutionPlan>,
    ) -> Result<PortableSink> {
        fn make<T: RasterOutput>(
            options: &std::collections::HashMap<String, String>,
            config: &FileSinkConfig,
            inputs: &provenance::Inputs,
            input: &Arc<dyn ExecutionPlan>,
        ) -> Result<Arc<dyn DataSink>> {
            T::parse(options)?.sink(input, config.clone(), inputs.clone())
        }
        let inner = if format == <cog::CogOutput as RasterOutput>::NAME {
            make::<cog::CogOutput>(&options, &config, &inputs, input)?
        } else if format == <zarr::ZarrOutput as RasterOutput>::NAME {
            make::<zarr::ZarrOutput>(&options, &config, &inputs, input)?
        } else if format == <png::PngOutput as RasterOutput>::NAME {
            make::<png::PngOutput>(&options, &config, &inputs, input)?
        } else {
            return plan_err!("unknown raster output {format:?}");
        };
        Ok(PortableSink {
            format: format.to_string(),
            options,
            config,
            inputs,
            inner,
        })
    }
}

impl datafusion::physical_plan::DisplayAs for PortableSink {
    fn fmt_as(
        &self,
        t: datafusion::physical_plan::DisplayFormatType,
        f: &mut fmt::Formatter,
    ) -> fmt::Result {
        self.inner.fmt_as(t, f)
    }
}

#[async_trait]
impl DataSink for PortableSink {
    fn metrics(&self) -> Option<datafusion::physical_plan::metrics::MetricsSet> {
        self.inner.metrics()
    }

    fn schema(&self) -> &SchemaRef {
        self.inner.schema()
    }

    async fn write_all(
        &self,
        data: datafusion::execution::SendableRecordBatchStream,
        context: &Arc<datafusion::execution::TaskContext>,
    ) -> Result<u64> {
        self.inner.write_all(data, context).await
    }
}
