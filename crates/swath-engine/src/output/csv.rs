//! `COPY … STORED AS CSV` on a cluster, written as the embedded engine writes it.
//!
//! DataFusion 55.2 sends a CSV sink to executors with every unset date and time
//! format as an empty string, so an executor writes dates and timestamps as empty
//! fields. On a cluster the scheduler's [`PortableCsv`] rule wraps each CSV sink
//! in a [`PortableCsvSink`], which Swath's physical codec carries with its
//! writer settings intact; the executor writes with DataFusion's own `CsvSink`.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use arrow::csv::{QuoteStyle, WriterBuilder};
use async_trait::async_trait;
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::file_options::csv_writer::CsvWriterOptions;
use datafusion::common::parsers::CompressionTypeVariant;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::file_format::csv::CsvSink;
use datafusion::datasource::physical_plan::FileSink;
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use serde::{Deserialize, Serialize};

/// A CSV writer's settings as they travel to an executor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CsvSettings {
    header: bool,
    delimiter: u8,
    quote: u8,
    escape: u8,
    double_quote: bool,
    date_format: Option<String>,
    datetime_format: Option<String>,
    time_format: Option<String>,
    timestamp_format: Option<String>,
    timestamp_tz_format: Option<String>,
    null: String,
    quote_style: String,
    compression: String,
    compression_level: Option<u32>,
}

impl CsvSettings {
    /// The settings of `options`.
    pub fn of(options: &CsvWriterOptions) -> Self {
        let w = &options.writer_options;
        let owned = |s: Option<&str>| s.map(str::to_string);
        CsvSettings {
            header: w.header(),
            delimiter: w.delimiter(),
            quote: w.quote(),
            escape: w.escape(),
            double_quote: w.double_quote(),
            date_format: owned(w.date_format()),
            datetime_format: owned(w.datetime_format()),
            time_format: owned(w.time_format()),
            timestamp_format: owned(w.timestamp_format()),
            timestamp_tz_format: owned(w.timestamp_tz_format()),
            null: w.null().to_string(),
            quote_style: match w.quote_style() {
                QuoteStyle::Always => "always",
                QuoteStyle::NonNumeric => "non_numeric",
                QuoteStyle::Never => "never",
                _ => "necessary",
            }
            .into(),
            compression: options.compression.to_string(),
            compression_level: options.compression_level,
        }
    }

    /// The writer options these settings describe.
    pub fn options(&self) -> Result<CsvWriterOptions> {
        let mut w = WriterBuilder::new()
            .with_header(self.header)
            .with_delimiter(self.delimiter)
            .with_quote(self.quote)
            .with_escape(self.escape)
            .with_double_quote(self.double_quote)
            .with_null(self.null.clone())
            .with_quote_style(match self.quote_style.as_str() {
                "always" => QuoteStyle::Always,
                "non_numeric" => QuoteStyle::NonNumeric,
                "never" => QuoteStyle::Never,
                _ => QuoteStyle::Necessary,
            });
        if let Some(f) = &self.date_format {
            w = w.with_date_format(f.clone());
        }
        if let Some(f) = &self.datetime_format {
            w = w.with_datetime_format(f.clone());
        }
        if let Some(f) = &self.time_format {
            w = w.with_time_format(f.clone());
        }
        if let Some(f) = &self.timestamp_format {
            w = w.with_timestamp_format(f.clone());
        }
        if let Some(f) = &self.timestamp_tz_format {
            w = w.with_timestamp_tz_format(f.clone());
        }
        let compression: CompressionTypeVariant = self.compression.parse()?;
        let mut options = CsvWriterOptions::new(w, compression);
        options.compression_level = self.compression_level;
        Ok(options)
    }
}

/// A CSV sink that Swath's physical codec carries (see the module docs).
#[derive(Debug)]
pub struct PortableCsvSink {
    /// DataFusion's sink.
    pub inner: CsvSink,
}

impl DisplayAs for PortableCsvSink {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        self.inner.fmt_as(t, f)
    }
}

#[async_trait]
impl DataSink for PortableCsvSink {
    fn metrics(&self) -> Option<MetricsSet> {
        DataSink::metrics(&self.inner)
    }

    fn schema(&self) -> &arrow::datatypes::SchemaRef {
        DataSink::schema(&self.inner)
    }

    async fn write_all(
        &self,
        data: SendableRecordBatchStream,
        context: &Arc<TaskContext>,
    ) -> Result<u64> {
        DataSink::write_all(&self.inner, data, context).await
    }
}

/// Physical optimizer rule of a cluster's scheduler: CSV sinks become
/// [`PortableCsvSink`]s.
#[derive(Debug, Default)]
pub struct PortableCsv;

impl PhysicalOptimizerRule for PortableCsv {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let any: &dyn Any = node.as_ref();
            if let Some(exec) = any.downcast_ref::<DataSinkExec>()
                && let Some(csv) = exec.sink().downcast_ref::<CsvSink>()
            {
                let sink = PortableCsvSink {
                    inner: CsvSink::new(
                        csv.config().clone(),
                        csv.writer_options().clone(),
                    ),
                };
                let wrapped: Arc<dyn ExecutionPlan> = Arc::new(DataSinkExec::new(
                    Arc::clone(exec.input()),
                    Arc::new(sink),
                    exec.sort_order().clone(),
                ));
                return Ok(Transformed::yes(wrapped));
            }
            Ok(Transformed::no(node))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "swath_portable_csv"
    }

    fn schema_check(&self) -> bool {
        true
    }
}
