//! `swath demo`: the walkthrough a newcomer runs first.
//!
//! It makes a deterministic Sentinel-2-like catalogue locally (a year of scenes over
//! three granules with a seasonal vegetation cycle, clouds in the SCL, duplicate
//! granules on each day and a second UTM zone; `swath-synth`), or reuses the one a
//! previous run made, then runs the five canonical workloads over it in the shell,
//! printing each statement and its result, and writing the composite and geomedian
//! COGs. It ends with the command that opens the shell on the same tables.

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Date32Type};
use swath_synth::{Catalog, SynthSpec};

use crate::shell::render::{self, Format};
use crate::shell::{Shell, ShellArgs};

/// Arguments of `swath demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Directory the catalogue and the outputs are written to.
    #[arg(long, default_value = "swath-demo")]
    pub dir: PathBuf,
    /// Catalogue size: `demo` (a year, 73 dates, three 512² granules), `small`
    /// (12 dates, 256²) or `tiny` (4 dates, 64²).
    #[arg(long, default_value = "demo", value_parser = ["demo", "small", "tiny"])]
    pub size: String,
}

/// One step of the demo: a title, what it shows, and its statements.
pub struct Step {
    /// Short title.
    pub title: &'static str,
    /// One or two sentences on what it computes.
    pub about: &'static str,
    /// SQL statements, run in order.
    pub sql: Vec<String>,
}

/// A lon/lat box: west, south, east, north.
pub type LonLatBox = [f64; 4];

/// The region of workloads 1 and 3: a box around the middle of the first granule
/// (a fifth of its width), where it overlaps nothing.
pub fn region(catalog: &Catalog) -> LonLatBox {
    let b = catalog.items.first().map_or([0.0; 4], |i| i.bbox);
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    let (cx, cy) = (b[0] + 0.35 * w, b[1] + 0.45 * h);
    [cx - 0.1 * w, cy - 0.1 * h, cx + 0.1 * w, cy + 0.1 * h]
}

/// The statements of the demo, over the catalogue at `collection`, writing into
/// `out`, with workloads 1 and 3 in `bbox`.
pub fn steps(collection: &str, out: &str, bbox: LonLatBox) -> Vec<Step> {
    let [w, s, e, n] = bbox;
    let polygon = format!(
        "POLYGON(({w:.5} {s:.5}, {e:.5} {s:.5}, {e:.5} {n:.5}, {w:.5} {n:.5}, {w:.5} {s:.5}))"
    );
    let ndvi = format!(
        "SELECT solar_day, avg((nir - red) / (nir + red)) AS ndvi, count(*) AS clear_pixels\n\
         FROM (SELECT solar_day, nir * 0.0001 - 0.1 AS nir, red * 0.0001 - 0.1 AS red\n\
         \x20     FROM s2_pixels\n\
         \x20     WHERE lon BETWEEN {w:.5} AND {e:.5} AND lat BETWEEN {s:.5} AND {n:.5}\n\
         \x20       AND scl NOT IN (0, 3, 8, 9, 10))\n\
         GROUP BY solar_day ORDER BY solar_day"
    );
    vec![
        Step {
            title: "Tables",
            about: "A STAC collection becomes a table of chunks (one row per chunk of the \
                    grid and observation, bands as tiles), and the same data as a table of \
                    pixels.",
            sql: tables_sql(collection),
        },
        Step {
            title: "1 · NDVI time series over a region",
            about: "Per solar day, the mean NDVI of the clear pixels (SCL not no-data, \
                    shadow or cloud) inside a lon/lat box, from the pixel view (band \
                    values are DN, reflectance = DN × 0.0001 − 0.1); then the same \
                    series drawn as a line chart.",
            sql: vec![
                ndvi.clone(),
                format!(
                    "COPY ({ndvi})\nTO '{out}/ndvi.png' STORED AS PNG\n\
                     OPTIONS (y 'ndvi', title 'Mean NDVI of clear pixels', overwrite 'true')"
                ),
            ],
        },
        Step {
            title: "2 · Cloud-free temporal median composite",
            about: "Per pixel, the median of each band over the year with clouds, \
                    shadows and no-data masked, written as one Cloud-Optimized GeoTIFF.",
            sql: vec![format!(
                "COPY (\n\
                 \x20 SELECT chunk_x, chunk_y,\n\
                 \x20        rs_median(rs_mask(red, cloud)) AS red, rs_median(rs_mask(green, cloud)) AS green,\n\
                 \x20        rs_median(rs_mask(blue, cloud)) AS blue, rs_median(rs_mask(nir, cloud)) AS nir\n\
                 \x20 FROM (SELECT chunk_x, chunk_y, red, green, blue, nir,\n\
                 \x20              rs_class_mask(scl, 0, 3, 8, 9, 10) AS cloud FROM s2)\n\
                 \x20 GROUP BY chunk_x, chunk_y\n\
                 ) TO '{out}/composite.tif' STORED AS COG OPTIONS (overwrite 'true')"
            )],
        },
        Step {
            title: "3 · Per-pixel mean and standard deviation over time",
            about: "Per pixel of the chunks touching the region, the mean and standard \
                    deviation of the masked NDVI over the year (tiles print as summaries).",
            sql: vec![format!(
                "SELECT chunk_x, chunk_y, rs_mean(ndvi) AS ndvi_mean, rs_std(ndvi) AS ndvi_std\n\
                 FROM (SELECT chunk_x, chunk_y,\n\
                 \x20            rs_mask(rs_ndvi(nir, red), rs_class_mask(scl, 0, 3, 8, 9, 10)) AS ndvi\n\
                 \x20     FROM s2\n\
                 \x20     WHERE st_intersects(footprint, st_geomfromtext('{polygon}')))\n\
                 GROUP BY chunk_x, chunk_y ORDER BY chunk_y, chunk_x"
            )],
        },
        Step {
            title: "4 · Geomedian and MADs",
            about: "Per pixel, the geometric median of the four-band clear observations \
                    (Weiszfeld, as hdstats / odc-algo) and the spectral, euclidean and \
                    Bray-Curtis median absolute deviations, written as one 7-band COG.",
            sql: vec![format!(
                "COPY (\n\
                 \x20 SELECT chunk_x, chunk_y, g['blue'] AS blue, g['green'] AS green, g['red'] AS red,\n\
                 \x20        g['nir'] AS nir, g['smad'] AS smad, g['emad'] AS emad, g['bcmad'] AS bcmad\n\
                 \x20 FROM (SELECT chunk_x, chunk_y, rs_geomedian_mads(blue, green, red, nir) AS g\n\
                 \x20       FROM (SELECT chunk_x, chunk_y, rs_mask(blue, cloud) AS blue, rs_mask(green, cloud) AS green,\n\
                 \x20                    rs_mask(red, cloud) AS red, rs_mask(nir, cloud) AS nir\n\
                 \x20             FROM (SELECT *, rs_class_mask(scl, 0, 3, 8, 9, 10) AS cloud FROM s2))\n\
                 \x20       GROUP BY chunk_x, chunk_y)\n\
                 ) TO '{out}/geomedian.tif' STORED AS COG OPTIONS (overwrite 'true')"
            )],
        },
        Step {
            title: "5 · Duplicate observations fused",
            about: "Granules overlapping on one solar day are one observation (first valid \
                    pixel wins, as odc-stac's groupby='solar_day'), the granule in the next \
                    UTM zone warped onto the table's grid. With group_by 'none' each item \
                    stays its own row: compare the valid pixels of one day.",
            sql: vec![
                format!(
                    "CREATE EXTERNAL TABLE IF NOT EXISTS s2_items STORED AS STAC\n\
                     LOCATION '{collection}' OPTIONS (bands 'red', group_by 'none')"
                ),
                "SELECT 'fused' AS rows_of, item_count AS items, count(*) AS chunk_rows,\n\
                 \x20      sum(rs_tile_count(red)) AS valid_red_pixels\n\
                 FROM s2 WHERE solar_day = (SELECT min(solar_day) FROM s2) GROUP BY item_count\n\
                 UNION ALL\n\
                 SELECT item_id, 1, count(*), sum(rs_tile_count(red))\n\
                 FROM s2_items WHERE solar_day = (SELECT min(solar_day) FROM s2_items) GROUP BY item_id\n\
                 ORDER BY rows_of"
                    .to_string(),
            ],
        },
    ]
}

/// The `CREATE EXTERNAL TABLE` statements of the demo's tables.
pub fn tables_sql(collection: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS s2 STORED AS STAC\n\
             LOCATION '{collection}' OPTIONS (bands 'blue,green,red,nir,scl')"
        ),
        format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS s2_pixels STORED AS STAC\n\
             LOCATION '{collection}' OPTIONS (bands 'red,nir,scl', view 'pixels')"
        ),
    ]
}

fn spec_of(size: &str) -> SynthSpec {
    match size {
        "tiny" => SynthSpec::tiny(),
        "small" => SynthSpec::small(),
        _ => SynthSpec::demo(),
    }
}

/// A path as the user will type it: relative paths stay relative, with `/`.
fn sql_path(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// Run the demo.
pub async fn run(args: &DemoArgs, shell_args: &ShellArgs) -> Result<(), String> {
    let started = Instant::now();
    let spec = spec_of(&args.size);
    let catalog_dir = args.dir.join("catalog");
    let reused = catalog_dir.join(swath_synth::STAMP_FILE).exists();
    println!(
        "Swath demo: {} dates of Sentinel-2-like scenes (three {}² granules, two UTM zones) in {}",
        spec.dates,
        spec.size,
        catalog_dir.display()
    );
    let generate = {
        let dir = catalog_dir.clone();
        let spec = spec.clone();
        tokio::task::spawn_blocking(move || swath_synth::generate_if_missing(&dir, &spec))
    };
    let catalog = generate
        .await
        .map_err(|e| format!("generating the catalogue: {e}"))?
        .map_err(|e| format!("generating the catalogue: {e}"))?;
    let stamp_matches = catalog.spec == spec;
    if !stamp_matches {
        return Err(format!("{} holds another catalogue", catalog_dir.display()));
    }
    println!(
        "{} {} items ({} COGs) in {:.1} s.\n",
        if reused { "Reused" } else { "Generated" },
        catalog.items.len(),
        catalog.items.len() * swath_synth::DATA_ASSETS.len(),
        started.elapsed().as_secs_f64()
    );

    let mut shell_args = shell_args.clone();
    let out = sql_path(&args.dir);
    if shell_args.output_root.is_empty() {
        shell_args
            .output_root
            .push(args.dir.to_string_lossy().to_string());
    }
    let mut shell = Shell::new(&shell_args).await?;
    shell.format = Format::Table;
    shell.max_rows = None;
    let collection = sql_path(&catalog.collection);
    let bbox = region(&catalog);
    for step in steps(&collection, &out, bbox) {
        println!("━━ {} ━━\n{}\n", step.title, wrap(step.about, 88));
        for sql in &step.sql {
            println!("{};\n", indent(sql));
            let t = Instant::now();
            let (batches, rows) = shell.query(sql).await.map_err(|e| e.to_string())?;
            let shown = render::displayable(&batches)?;
            let seconds = t.elapsed().as_secs_f64();
            if shown.first().is_some_and(|b| b.num_columns() > 0) {
                println!("{}", render::render(&shown, Format::Table)?);
                let noun = if rows == 1 { "row" } else { "rows" };
                println!("({rows} {noun}, {seconds:.2} s)\n");
            } else {
                println!("({seconds:.2} s)\n");
            }
            if step.title.starts_with('1') && sql.starts_with("SELECT") {
                let points = series(&batches);
                println!(
                    "{}",
                    render::text_chart("mean NDVI of clear pixels", &points, 12)
                );
            }
        }
        if step.title.starts_with('2') {
            let quicklook = crate::quicklook::QuicklookArgs {
                input: format!("{out}/composite.tif"),
                output: None,
                bands: vec![1, 2, 3],
                stretch: "percentile:2,98".into(),
                max_size: 1024,
            };
            println!(
                "A look at it (red, green, blue): swath quicklook {out}/composite.tif"
            );
            crate::quicklook::run(&quicklook).await?;
            println!();
        }
    }
    let init = args.dir.join("tables.sql");
    let mut text = String::from("-- The demo's tables (swath demo writes this file).\n");
    for sql in tables_sql(&collection) {
        text.push_str(&sql);
        text.push_str(";\n");
    }
    std::fs::write(&init, text).map_err(|e| format!("{}: {e}", init.display()))?;
    println!(
        "Wrote {out}/composite.tif and {out}/geomedian.tif (open them in QGIS or with \
         rasterio), each with its STAC item beside it, {out}/composite.png and the \
         chart {out}/ndvi.png."
    );
    println!(
        "Done in {:.1} s. Open the shell on the same tables:\n",
        started.elapsed().as_secs_f64()
    );
    println!("    swath --init {}\n", sql_path(&init));
    println!(
        "(with cargo: cargo run --profile fast -p swath -- --init {})",
        sql_path(&init)
    );
    Ok(())
}

/// `(solar_day, ndvi)` points of workload 1's result.
fn series(batches: &[arrow::record_batch::RecordBatch]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for b in batches {
        let (Some(day), Some(v)) =
            (b.column_by_name("solar_day"), b.column_by_name("ndvi"))
        else {
            continue;
        };
        if day.data_type() != &DataType::Date32 || v.data_type() != &DataType::Float64 {
            continue;
        }
        let day = day.as_primitive::<Date32Type>();
        let v = v.as_primitive::<arrow::datatypes::Float64Type>();
        for i in 0..b.num_rows() {
            let label = day
                .value_as_date(i)
                .map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string());
            let value = if v.is_null(i) { f64::NAN } else { v.value(i) };
            out.push((label, value));
        }
    }
    out
}

fn indent(sql: &str) -> String {
    sql.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line > 0 && line + 1 + word.chars().count() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.chars().count();
    }
    out
}
