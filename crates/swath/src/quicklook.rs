//! `swath quicklook`: a PNG picture of a GeoTIFF or COG (a written mosaic, or any
//! other), from its smallest overview that is large enough.

use std::path::PathBuf;

use swath_plot::Stretch;

/// Arguments of `swath quicklook`.
#[derive(Debug, Clone, clap::Args)]
pub struct QuicklookArgs {
    /// The GeoTIFF: a path or an `s3://`, `http(s)://`, `file://` URL.
    pub input: String,
    /// The PNG to write (default: the input's name with `.png`, in the current directory
    /// for URLs).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Bands, 1-based: one for grey, three for RGB (default: 1,2,3 with three bands or
    /// more, else 1).
    #[arg(long, value_delimiter = ',')]
    pub bands: Vec<usize>,
    /// `percentile:LOW,HIGH` (default 2,98), `minmax` or `range:MIN,MAX`, per band.
    #[arg(long, default_value = "percentile:2,98")]
    pub stretch: String,
    /// The longest side of the picture in pixels.
    #[arg(long, default_value_t = 1024)]
    pub max_size: u32,
}

/// Where the picture of `input` goes by default.
fn default_output(input: &str) -> PathBuf {
    let name = input.rsplit('/').next().unwrap_or(input);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let file = format!("{}.png", if stem.is_empty() { "quicklook" } else { stem });
    if input.contains("://") {
        PathBuf::from(file)
    } else {
        std::path::Path::new(input).with_file_name(file)
    }
}

/// Run `swath quicklook`.
pub async fn run(args: &QuicklookArgs) -> Result<(), String> {
    let stretch: Stretch = args
        .stretch
        .parse()
        .map_err(|e| format!("--stretch: {e}"))?;
    let (store, path) = crate::store::resolve(&args.input)?;
    let tiff = swath_geotiff::open(store, path)
        .await
        .map_err(|e| format!("{}: {e}", args.input))?;
    let bands = if args.bands.is_empty() {
        if tiff.bands() >= 3 {
            vec![1, 2, 3]
        } else {
            vec![1]
        }
    } else {
        args.bands.clone()
    };
    let image = swath_plot::quicklook(&tiff, &bands, args.max_size, &stretch)
        .await
        .map_err(|e| format!("{}: {e}", args.input))?;
    let png = image.to_png().map_err(|e| e.to_string())?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.input));
    std::fs::write(&output, &png).map_err(|e| format!("{}: {e}", output.display()))?;
    println!(
        "Wrote {} ({}×{}, bands {:?}, {})",
        output.display(),
        image.width,
        image.height,
        bands,
        args.stretch
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names() {
        assert_eq!(
            default_output("out/composite.tif"),
            PathBuf::from("out/composite.png")
        );
        assert_eq!(
            default_output("s3://b/x/mosaic.tif"),
            PathBuf::from("mosaic.png")
        );
    }
}
