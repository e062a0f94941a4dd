//! `swath demo`: the walkthrough a newcomer runs first.
//!
//! For now it writes one deterministic Sentinel-2-like scene as a Cloud-Optimized
//! GeoTIFF (four 10 m bands, DN with scale/offset, nodata 0, EPSG:32633) and describes
//! it with per-band statistics. The SQL workloads join it when the datacube table exists.

use std::path::PathBuf;

use swath_geotiff::{
    BandMetadata, CogMetadata, CogOptions, PixelData, Raster, write_cog,
};

/// Arguments of `swath demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Directory the demo data is written to.
    #[arg(long, default_value = "swath-demo")]
    pub dir: PathBuf,
    /// Scene width and height in pixels.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
}

/// Reflectance of a field pattern: vegetation parcels, bare soil, a river.
fn scene(size: usize) -> Raster {
    let bands = 4; // blue, green, red, nir
    let mut v = vec![0u16; size * size * bands];
    for y in 0..size {
        for x in 0..size {
            let river = ((x as f64 - size as f64 * 0.3 - (y as f64 * 0.02).sin() * 40.0)
                .abs())
                < 12.0;
            let parcel = (x / 64 + y / 48) % 3;
            let (b, g, r, n) = if river {
                (0.06, 0.05, 0.03, 0.02)
            } else {
                match parcel {
                    0 => (0.03, 0.06, 0.04, 0.38),
                    1 => (0.05, 0.08, 0.09, 0.25),
                    _ => (0.09, 0.11, 0.14, 0.20),
                }
            };
            let noise = ((x * 7919 + y * 104_729) % 97) as f64 / 97.0 * 0.01;
            for (band, refl) in [b, g, r, n].into_iter().enumerate() {
                // Sentinel-2 baseline 04.00: DN = (reflectance + 0.1) / 1e-4.
                let dn = ((refl + noise + 0.1) / 1e-4).round() as u16;
                v[(band * size + y) * size + x] = if x < 8 && y < 8 { 0 } else { dn };
            }
        }
    }
    Raster {
        width: size,
        height: size,
        bands,
        data: PixelData::U16(v),
    }
}

/// Run the demo.
pub async fn run(args: &DemoArgs) -> Result<(), String> {
    if args.size < 16 || args.size > 8192 {
        return Err(format!("--size {} must be between 16 and 8192", args.size));
    }
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| format!("{}: {e}", args.dir.display()))?;
    let path = args.dir.join("scene.tif");
    let band = |name: &str| BandMetadata {
        scale: Some(1e-4),
        offset: Some(-0.1),
        description: Some(name.to_string()),
    };
    let meta = CogMetadata {
        epsg: Some(32633),
        transform: Some([10.0, 0.0, 399_960.0, 0.0, -10.0, 5_800_020.0]),
        nodata: Some(0.0),
        bands: ["blue", "green", "red", "nir"].map(band).to_vec(),
        ..Default::default()
    };
    let bytes = write_cog(&scene(args.size), &meta, &CogOptions::default())
        .map_err(|e| format!("writing the demo scene: {e}"))?;
    std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "Wrote {} ({} bytes), a Cloud-Optimized GeoTIFF:\n",
        path.display(),
        bytes.len()
    );
    let location = path.to_string_lossy().to_string();
    let report = crate::info::describe(&location, true).await?;
    print!("{}", crate::info::render_text(&report));
    println!(
        "\nDescribe any GeoTIFF the same way: swath info PATH_OR_URL [--json] [--stats]"
    );
    Ok(())
}
