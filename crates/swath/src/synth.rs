//! `swath synth`: write a synthetic Sentinel-2-like STAC catalogue (the demo's
//! generator) into a directory or an object store, e.g. to give a cluster data
//! to read (deploy/docker-compose.yml).

use std::path::{Path, PathBuf};

use object_store::ObjectStoreExt;
use swath_synth::SynthSpec;

/// `swath synth`.
#[derive(Debug, Clone, clap::Args)]
pub struct SynthArgs {
    /// Directory or URL (`s3://bucket/prefix`, `gs://…`, `az://…`) the catalogue
    /// is written to: `collection.json`, `items/`, `data/`.
    pub dest: String,
    /// Granule width and height in 10 m pixels (even).
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Acquisition dates (5 days apart from 2023-05-01).
    #[arg(long, default_value_t = 12)]
    pub dates: u32,
    /// COG tile size in pixels (a multiple of 16).
    #[arg(long, default_value_t = 256)]
    pub block_size: u32,
}

/// Every file under `dir`, as paths relative to it.
fn files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for e in entries {
            let p = e.map_err(|e| format!("{}: {e}", d.display()))?.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.to_path_buf());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Generate the catalogue and, for a URL, upload it (relative hrefs, so it reads
/// the same wherever it lands).
pub async fn run(args: &SynthArgs) -> Result<(), String> {
    let spec = SynthSpec {
        size: args.size,
        dates: args.dates,
        block_size: args.block_size.min(args.size.max(16)),
        ..SynthSpec::small()
    };
    let url = url::Url::parse(&args.dest)
        .ok()
        .filter(|u| u.scheme().len() > 1 && u.scheme() != "file");
    let Some(url) = url else {
        let dir = PathBuf::from(args.dest.strip_prefix("file://").unwrap_or(&args.dest));
        let cat = swath_synth::generate(&dir, &spec).map_err(|e| e.to_string())?;
        println!("{}", cat.collection.display());
        return Ok(());
    };
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    swath_synth::generate(tmp.path(), &spec).map_err(|e| e.to_string())?;
    let registry = swath_store::Registry::from_env();
    let base = format!("{}/", url.as_str().trim_end_matches('/'));
    let base = url::Url::parse(&base).map_err(|e| format!("{}: {e}", args.dest))?;
    let all = files(tmp.path())?;
    for rel in &all {
        let target = base
            .join(&rel.to_string_lossy().replace('\\', "/"))
            .map_err(|e| format!("{}: {e}", rel.display()))?;
        let (store, path) = registry
            .resolve(&target)
            .map_err(|e| registry.redact(&e.to_string()))?;
        let bytes = std::fs::read(tmp.path().join(rel))
            .map_err(|e| format!("{}: {e}", rel.display()))?;
        store
            .put(&path, bytes.into())
            .await
            .map_err(|e| registry.redact(&format!("writing {target}: {e}")))?;
    }
    eprintln!("{} files written under {base}", all.len());
    println!("{base}collection.json");
    Ok(())
}
