//! Swath's logical and physical extension codecs: datacube tables and scans travel
//! to a Ballista scheduler and its executors. Each wraps Ballista's own codec and
//! delegates everything that is not Swath's.
//!
//! Swath's payloads start with a 4-byte tag whose first byte is `G` (0x47: protobuf
//! wire type 7, which no protobuf message starts with), then JSON.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ballista_core::serde::{
    BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec,
};
use datafusion::common::{Result, TableReference, internal_datafusion_err};
use datafusion::datasource::TableProvider;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan, ScalarUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{
    PhysicalExtensionCodec, PhysicalProtoConverterExtension,
};

use datafusion::datasource::file_format::csv::CsvFormatFactory;
use datafusion::datasource::physical_plan::FileSinkConfig;
use datafusion::datasource::sink::DataSinkExec;
use datafusion_proto::protobuf::CsvOptions as CsvOptionsProto;
use prost::Message;

use crate::cube::{CubeDef, CubeScanExec, CubeTable, PixelScanExec, PixelSpec, ScanSpec};
use crate::output::{
    CogFormatFactory, OutputRoots, PngFormatFactory, PortableSink, ZarrFormatFactory,
};

const TABLE_TAG: &[u8; 4] = b"GSWT";
const SCAN_TAG: &[u8; 4] = b"GSWS";
const PIXEL_TAG: &[u8; 4] = b"GSWP";
const FORMAT_TAG: &[u8; 4] = b"GSWF";
const SINK_TAG: &[u8; 4] = b"GSWO";
/// CSV options, encoded here: DataFusion 55.2 writes a CSV format's quote style
/// as the Rust enum's index, which the decoder reads as another style
/// (`Necessary` arrived as `Always`: every CSV field quoted on a cluster).
const CSV_TAG: &[u8; 4] = b"GSWC";
/// A CSV sink with its writer settings (crate::output::csv).
const CSV_SINK_TAG: &[u8; 4] = b"GSWV";

/// A CSV sink as it travels: the destination as DataFusion's protobuf
/// `FileSinkConfig`, and the writer settings.
#[derive(serde::Serialize, serde::Deserialize)]
struct CsvSinkPayload {
    settings: crate::output::csv::CsvSettings,
    config: Vec<u8>,
}

/// A raster output's sink as it travels: the format, COPY options, provenance,
/// and the destination as DataFusion's protobuf `FileSinkConfig`.
#[derive(serde::Serialize, serde::Deserialize)]
struct SinkPayload {
    format: String,
    options: std::collections::HashMap<String, String>,
    inputs: crate::output::provenance::Inputs,
    config: Vec<u8>,
}

fn encode<T: serde::Serialize>(
    tag: &[u8; 4],
    value: &T,
    buf: &mut Vec<u8>,
) -> Result<()> {
    buf.extend_from_slice(tag);
    serde_json::to_writer(&mut *buf, value)
        .map_err(|e| internal_datafusion_err!("encoding a Swath plan node: {e}"))
}

/// An output's destination from DataFusion's protobuf `FileSinkConfig`.
fn sink_config(bytes: &[u8]) -> Result<FileSinkConfig> {
    let proto = datafusion_proto::protobuf::FileSinkConfig::decode(bytes)
        .map_err(|e| internal_datafusion_err!("decoding an output's destination: {e}"))?;
    FileSinkConfig::try_from(&proto)
}

fn decode<T: serde::de::DeserializeOwned>(buf: &[u8]) -> Result<T> {
    serde_json::from_slice(&buf[4..])
        .map_err(|e| internal_datafusion_err!("decoding a Swath plan node: {e}"))
}

/// Logical codec: datacube tables and raster output formats, then Ballista's.
#[derive(Debug, Default)]
pub struct SwathLogicalCodec {
    inner: BallistaLogicalExtensionCodec,
    /// Where the formats it decodes may write (the decoding process's own rule).
    roots: OutputRoots,
}

impl SwathLogicalCodec {
    /// A codec whose decoded output formats write under `roots` only.
    pub fn with_roots(roots: OutputRoots) -> Self {
        SwathLogicalCodec {
            inner: BallistaLogicalExtensionCodec::default(),
            roots,
        }
    }
}

impl LogicalExtensionCodec for SwathLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        if buf.starts_with(TABLE_TAG) {
            let def: CubeDef = decode(buf)?;
            return Ok(Arc::new(CubeTable::new(Arc::new(def))));
        }
        self.inner
            .try_decode_table_provider(buf, table_ref, schema, ctx)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(t) = CubeTable::from_provider(node.as_ref()) {
            return encode(TABLE_TAG, t.def().as_ref(), buf);
        }
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn datafusion::datasource::file_format::FileFormatFactory>> {
        if let Some(rest) = buf.strip_prefix(CSV_TAG) {
            let proto = CsvOptionsProto::decode(rest)
                .map_err(|e| internal_datafusion_err!("CSV options: {e}"))?;
            return Ok(Arc::new(CsvFormatFactory::new_with_options(
                datafusion::common::config::CsvOptions::from(&proto),
            )));
        }
        if buf.starts_with(FORMAT_TAG) {
            let name: String = decode(buf)?;
            let roots = self.roots.clone();
            return Ok(match name.as_str() {
                "COG" => Arc::new(CogFormatFactory { roots }),
                "ZARR" => Arc::new(ZarrFormatFactory { roots }),
                "PNG" => Arc::new(PngFormatFactory { roots }),
                other => {
                    return Err(internal_datafusion_err!(
                        "unknown raster format {other}"
                    ));
                }
            });
        }
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn datafusion::datasource::file_format::FileFormatFactory>,
    ) -> Result<()> {
        let any: &dyn std::any::Any = node.as_ref();
        if let Some(csv) = any.downcast_ref::<CsvFormatFactory>() {
            use datafusion::common::parsers::CsvQuoteStyle as Style;
            use datafusion_proto::protobuf::CsvQuoteStyle as Proto;
            // No options: the defaults (an empty message would mean gzip).
            let options = csv.options.clone().unwrap_or_default();
            let style = options.quote_style;
            let mut proto =
                CsvOptionsProto::from(&CsvFormatFactory::new_with_options(options));
            proto.quote_style = match style {
                Style::Always => Proto::Always,
                Style::Necessary => Proto::Necessary,
                Style::NonNumeric => Proto::NonNumeric,
                Style::Never => Proto::Never,
            } as i32;
            buf.extend_from_slice(CSV_TAG);
            return proto
                .encode(buf)
                .map_err(|e| internal_datafusion_err!("CSV options: {e}"));
        }
        let name = if any.is::<CogFormatFactory>() {
            Some("COG")
        } else if any.is::<ZarrFormatFactory>() {
            Some("ZARR")
        } else if any.is::<PngFormatFactory>() {
            Some("PNG")
        } else {
            None
        };
        match name {
            Some(name) => encode(FORMAT_TAG, &name, buf),
            None => self.inner.try_encode_file_format(buf, node),
        }
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }
}

/// Physical codec: datacube scans, then Ballista's.
#[derive(Debug, Default)]
pub struct SwathPhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for SwathPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if buf.starts_with(SCAN_TAG) {
            let spec: ScanSpec = decode(buf)?;
            return Ok(Arc::new(match inputs {
                [slices] => CubeScanExec::with_slices(spec, Arc::clone(slices))?,
                _ => CubeScanExec::try_new(spec)?,
            }));
        }
        if buf.starts_with(CSV_SINK_TAG) {
            let payload: CsvSinkPayload = decode(buf)?;
            let [input] = inputs else {
                return Err(internal_datafusion_err!("a CSV output has one input"));
            };
            let sink = datafusion::datasource::file_format::csv::CsvSink::new(
                sink_config(&payload.config)?,
                payload.settings.options()?,
            );
            return Ok(Arc::new(DataSinkExec::new(
                Arc::clone(input),
                Arc::new(sink),
                None,
            )));
        }
        if buf.starts_with(SINK_TAG) {
            let payload: SinkPayload = decode(buf)?;
            let [input] = inputs else {
                return Err(internal_datafusion_err!("a raster output has one input"));
            };
            let config = sink_config(&payload.config)?;
            let sink = PortableSink::rebuild(
                &payload.format,
                payload.options,
                config,
                payload.inputs,
                input,
            )?;
            return Ok(Arc::new(DataSinkExec::new(
                Arc::clone(input),
                Arc::new(sink),
                None,
            )));
        }
        if buf.starts_with(PIXEL_TAG) {
            let spec: PixelSpec = decode(buf)?;
            return Ok(Arc::new(match inputs {
                [slices] => PixelScanExec::with_slices(spec, Arc::clone(slices))?,
                _ => PixelScanExec::try_new(spec)?,
            }));
        }
        self.inner.try_decode(buf, inputs, ctx, proto_converter)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        let any: &dyn std::any::Any = node.as_ref();
        if let Some(scan) = any.downcast_ref::<CubeScanExec>() {
            return encode(SCAN_TAG, scan.spec(), buf);
        }
        if let Some(scan) = any.downcast_ref::<PixelScanExec>() {
            return encode(PIXEL_TAG, scan.spec(), buf);
        }
        if let Some(exec) = any.downcast_ref::<DataSinkExec>()
            && let Some(sink) = exec
                .sink()
                .downcast_ref::<crate::output::csv::PortableCsvSink>()
        {
            let proto = datafusion_proto::protobuf::FileSinkConfig::try_from(
                datafusion::datasource::physical_plan::FileSink::config(&sink.inner),
            )?;
            let payload = CsvSinkPayload {
                settings: crate::output::csv::CsvSettings::of(
                    sink.inner.writer_options(),
                ),
                config: proto.encode_to_vec(),
            };
            return encode(CSV_SINK_TAG, &payload, buf);
        }
        if let Some(exec) = any.downcast_ref::<DataSinkExec>()
            && let Some(sink) = exec.sink().downcast_ref::<PortableSink>()
        {
            let proto =
                datafusion_proto::protobuf::FileSinkConfig::try_from(&sink.config)?;
            let payload = SinkPayload {
                format: sink.format.clone(),
                options: sink.options.clone(),
                inputs: sink.inputs.clone(),
                config: proto.encode_to_vec(),
            };
            return encode(SINK_TAG, &payload, buf);
        }
        self.inner.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::common::config::CsvOptions;
    use datafusion::common::parsers::CsvQuoteStyle;

    /// Every CSV quote style survives the trip to the scheduler (DataFusion
    /// 55.2's own encoding turns `Necessary` into `Always`).
    #[test]
    fn csv_quote_styles_round_trip() {
        let codec = SwathLogicalCodec::default();
        let ctx = TaskContext::default();
        for style in [
            CsvQuoteStyle::Always,
            CsvQuoteStyle::Necessary,
            CsvQuoteStyle::NonNumeric,
            CsvQuoteStyle::Never,
        ] {
            let options = CsvOptions {
                quote_style: style,
                has_header: Some(true),
                delimiter: b';',
                ..CsvOptions::default()
            };
            let mut buf = Vec::new();
            codec
                .try_encode_file_format(
                    &mut buf,
                    Arc::new(CsvFormatFactory::new_with_options(options)),
                )
                .expect("encode");
            let back = codec.try_decode_file_format(&buf, &ctx).expect("decode");
            let any: &dyn std::any::Any = back.as_ref();
            let got = any
                .downcast_ref::<CsvFormatFactory>()
                .and_then(|f| f.options.clone())
                .expect("CSV options");
            assert_eq!(got.quote_style, style);
            assert_eq!((got.has_header, got.delimiter), (Some(true), b';'));
        }
        // A format without options stays uncompressed, unquoted where not needed.
        let mut buf = Vec::new();
        codec
            .try_encode_file_format(&mut buf, Arc::new(CsvFormatFactory::new()))
            .expect("encode");
        let back = codec.try_decode_file_format(&buf, &ctx).expect("decode");
        let any: &dyn std::any::Any = back.as_ref();
        let got = any
            .downcast_ref::<CsvFormatFactory>()
            .and_then(|f| f.options.clone())
            .expect("CSV options");
        assert_eq!(
            got.compression,
            datafusion::common::parsers::CompressionTypeVariant::UNCOMPRESSED
        );
        assert_eq!(got.quote_style, CsvQuoteStyle::Necessary);
    }
}
