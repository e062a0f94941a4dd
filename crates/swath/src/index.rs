//! `swath index`: read the COG headers of a catalogue's assets once and keep them in
//! a Parquet header index, so later processes open them with no request.

use std::sync::Arc;

use futures::StreamExt;
use swath_engine::cube::read::HeaderCache;
use swath_engine::{CubeTable, EngineConfig};

/// Arguments of `swath index`.
#[derive(Debug, Clone, clap::Args)]
pub struct IndexArgs {
    /// The catalogue: a path or URL, as `CREATE EXTERNAL TABLE … STORED AS STAC`
    /// takes it.
    pub location: String,
    /// Bands whose assets to index (default: every data band).
    #[arg(long)]
    pub bands: Option<String>,
    /// The index file (default: `NAME.headers.parquet` beside a local `NAME.json`,
    /// where tables over that catalogue find it by themselves).
    #[arg(short, long)]
    pub output: Option<String>,
    /// Headers read at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

/// Run `swath index`.
pub async fn run(args: &IndexArgs) -> Result<(), String> {
    let ctx = swath_engine::context(&EngineConfig::default())
        .await
        .map_err(|e| e.to_string())?;
    let location =
        swath_catalog::location_url(&args.location).map_err(|e| e.to_string())?;
    let output = match &args.output {
        Some(o) => swath_catalog::location_url(o).map_err(|e| e.to_string())?,
        None => swath_engine::cube::index::sidecar(&location).ok_or_else(|| {
            format!("{location}: give the index's location with -o (the catalogue is not local)")
        })?,
    };
    let bands = args
        .bands
        .as_deref()
        .map(|b| format!(" OPTIONS (bands '{}')", b.replace('\'', "''")))
        .unwrap_or_default();
    let sql = format!(
        "CREATE EXTERNAL TABLE catalogue STORED AS STAC LOCATION '{}'{bands}",
        args.location.replace('\'', "''")
    );
    ctx.sql(&sql).await.map_err(|e| e.to_string())?;
    let provider = ctx
        .table_provider("catalogue")
        .await
        .map_err(|e| e.to_string())?;
    let def = Arc::clone(
        CubeTable::from_provider(provider.as_ref())
            .ok_or("not a datacube table")?
            .def(),
    );
    let mut hrefs: Vec<String> = def
        .scenes
        .iter()
        .flat_map(|s| s.assets.iter().flatten().map(|a| a.href.clone()))
        .collect();
    hrefs.sort();
    hrefs.dedup();
    let state = ctx.state();
    let cache = state
        .config()
        .get_extension::<HeaderCache>()
        .unwrap_or_else(|| Arc::new(HeaderCache::new()));
    let runtime = state.runtime_env();
    let mut failed = Vec::new();
    let mut opened = futures::stream::iter(hrefs.iter())
        .map(|href| {
            let cache = Arc::clone(&cache);
            let runtime = Arc::clone(runtime);
            async move {
                let store = || {
                    let url = url::Url::parse(href).map_err(|e| {
                        datafusion::common::DataFusionError::Plan(format!("{href}: {e}"))
                    })?;
                    let store = swath_engine::stores::store(&runtime, &url)?;
                    let path = swath_store::object_path(&url).map_err(|e| {
                        datafusion::common::DataFusionError::Plan(e.to_string())
                    })?;
                    Ok((store, path))
                };
                (href, cache.open(href, store, None).await)
            }
        })
        .buffer_unordered(args.concurrency.max(1));
    while let Some((href, result)) = opened.next().await {
        if let Err(e) = result {
            failed.push(format!("{href}: {e}"));
        }
    }
    if let Some(first) = failed.first() {
        return Err(format!(
            "{} of {} headers could not be read; first: {first}",
            failed.len(),
            hrefs.len()
        ));
    }
    let entries = cache.snapshots_of(hrefs.iter().map(String::as_str));
    let bytes: usize = entries
        .iter()
        .map(|(_, s)| s.chunks.iter().map(|(_, b)| b.len()).sum::<usize>())
        .sum();
    let n = entries.len();
    let total = swath_engine::cube::index::save(runtime, &output, entries)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Indexed {n} COG headers ({bytes} bytes) of {} into {output} ({total} in the index)",
        args.location
    );
    Ok(())
}
