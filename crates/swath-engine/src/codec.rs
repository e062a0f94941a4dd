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

use datafusion::datasource::physical_plan::FileSinkConfig;
use datafusion::datasource::sink::DataSinkExec;

use crate::cube::{CubeDef, CubeScanExec, CubeTable, PixelScanExec, PixelSpec, ScanSpec};
use crate::output::{
    CogFormatFactory, OutputRoots, PngFormatFactory, PortableSink, ZarrFormatFactory,
};

const TABLE_TAG: &[u8; 4] = b"GSWT";
const SCAN_TAG: &[u8; 4] = b"GSWS";
const PIXEL_TAG: &[u8; 4] = b"GSWP";
const FORMAT_TAG: &[u8; 4] = b"GSWF";
const SINK_TAG: &[u8; 4] = b"GSWO";

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
        if buf.starts_with(SINK_TAG) {
            use prost::Message;
            let payload: SinkPayload = decode(buf)?;
            let [input] = inputs else {
                return Err(internal_datafusion_err!("a raster output has one input"));
            };
            let proto = datafusion_proto::protobuf::FileSinkConfig::decode(
                payload.config.as_slice(),
            )
            .map_err(|e| {
                internal_datafusion_err!("decoding an output's destination: {e}")
            })?;
            let config = FileSinkConfig::try_from(&proto)?;
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
            && let Some(sink) = exec.sink().downcast_ref::<PortableSink>()
        {
            use prost::Message;
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
