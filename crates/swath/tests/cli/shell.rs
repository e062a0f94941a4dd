//! The `swath` binary driven as users drive it: `-c` / `-f` / `--init` runs, and the
//! interactive shell through a pseudo-terminal (completion, history, Ctrl-C), and
//! `swath demo` on the tiny catalogue.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use rexpect::session::PtySession;

/// The `swath` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_swath");

/// The tiny synthetic catalogue (made once per test run) and a file creating `s2` on it.
fn tiny() -> &'static (PathBuf, PathBuf) {
    static TINY: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    TINY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("swath-shell-tests-{}", std::process::id()));
        let catalog = swath_synth::generate_if_missing(&dir.join("catalog"), &swath_synth::SynthSpec::tiny())
            .expect("tiny catalogue");
        let init = dir.join("init.sql");
        std::fs::write(
            &init,
            format!(
                "CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{}' OPTIONS (bands 'red,nir,scl');\n",
                catalog.collection.display()
            ),
        )
        .expect("init file");
        (dir, init)
    })
}

fn swath(args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("home");
    Command::new(BIN)
        .args(args)
        .env("HOME", home.path())
        .env_remove("SWATH_HISTORY")
        .output()
        .expect("run swath")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn command_prints_results_in_each_format() {
    let sql = "SELECT 1 AS x, 'a|b' AS y UNION ALL SELECT 2, NULL ORDER BY x";
    let csv = swath(&["-c", sql, "--format", "csv"]);
    assert!(csv.status.success(), "{}", stderr(&csv));
    assert_eq!(stdout(&csv), "x,y\n1,a|b\n2,\n");
    let json = swath(&["-c", sql, "--format", "json"]);
    assert_eq!(stdout(&json), "[{\"x\":1,\"y\":\"a|b\"},{\"x\":2}]\n");
    let md = swath(&["-c", sql, "--format", "markdown"]);
    assert_eq!(
        stdout(&md),
        "| x | y |\n|---|---|\n| 1 | a\\|b |\n| 2 | NULL |\n"
    );
    let table = swath(&["-c", sql]);
    let text = stdout(&table);
    assert!(
        text.contains("| x | y   |") && text.contains("| 1 | a|b |"),
        "{text}"
    );
    // Two statements, then a setting and a query that sees it.
    let two = swath(&[
        "-c",
        "SET datafusion.execution.batch_size = 7; SELECT 3 AS z",
        "-c",
        "SHOW datafusion.execution.batch_size",
        "--format",
        "csv",
    ]);
    assert!(two.status.success(), "{}", stderr(&two));
    assert_eq!(
        stdout(&two),
        "z\n3\nname,value\ndatafusion.execution.batch_size,7\n"
    );
}

#[test]
fn errors_are_one_line_with_status_1() {
    let typo = swath(&["-c", "SELEC 1"]);
    assert_eq!(typo.status.code(), Some(1));
    let err = stderr(&typo);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("Error: ") && err.contains("SELEC"), "{err}");

    let unknown = swath(&["-c", "SELECT rs_ndvy(1, 2)"]);
    assert_eq!(unknown.status.code(), Some(1));
    let err = stderr(&unknown);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("Did you mean 'rs_ndvi'?"), "{err}");

    let missing = swath(&[
        "-c",
        "CREATE EXTERNAL TABLE t STORED AS STAC LOCATION '/nonexistent/collection.json'",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    let err = stderr(&missing);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/collection.json"), "{err}");

    // The first failing statement stops the run; earlier output stays.
    let partial = swath(&[
        "-c",
        "SELECT 5 AS a; SELECT nope; SELECT 6 AS b",
        "--format",
        "csv",
    ]);
    assert_eq!(partial.status.code(), Some(1));
    assert_eq!(stdout(&partial), "a\n5\n");
    assert!(stderr(&partial).contains("nope"));

    let bad_limit = swath(&["--memory-limit", "lots", "-c", "SELECT 1"]);
    assert_eq!(bad_limit.status.code(), Some(1));
    assert!(stderr(&bad_limit).contains("not a size"));
}

#[test]
fn files_init_and_meta_commands() {
    let (_, init) = tiny();
    let dir = tempfile::tempdir().expect("dir");
    let script = dir.path().join("q.sql");
    std::fs::write(
        &script,
        "-- a script\n\\d\n\\d s2\nSELECT chunk_x, chunk_y, red\nFROM s2 ORDER BY datetime, chunk_y, chunk_x LIMIT 1;\n\\h rs_ndvi\n\\i included.sql\n",
    )
    .expect("script");
    std::fs::write(
        dir.path().join("included.sql"),
        "SELECT 'from the included file' AS src;\n",
    )
    .expect("included");
    // \i reads paths from the working directory, as psql's does.
    let o = Command::new(BIN)
        .current_dir(dir.path())
        .args(["--init", init.to_str().expect("utf8"), "-f", "q.sql"])
        .output()
        .expect("swath");
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    // \d lists the table; \d s2 describes its grid and tile columns.
    assert!(
        text.contains("s2 ") && text.contains("datacube, "),
        "{text}"
    );
    assert!(text.contains("grid: EPSG:32633 at 10 m"), "{text}");
    assert!(
        text.contains("tile 32×32 UInt16, nodata 0, ×0.0001 -0.1"),
        "{text}"
    );
    // The tile prints as a summary, never as numbers.
    assert!(
        text.contains("32×32 u16 · ") && text.contains("valid · mean "),
        "{text}"
    );
    // \h shows the function's documentation; \i runs another file.
    assert!(text.contains("rs_ndvi(nir, red)"), "{text}");
    assert!(text.contains("| from the included file |"), "{text}");

    // --memory-limit bounds queries: a scan over it fails in one line.
    let o = swath(&[
        "--memory-limit",
        "16K",
        "--init",
        init.to_str().expect("utf8"),
        "-c",
        "SELECT chunk_x, red FROM s2",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("Resources exhausted"), "{err}");

    let bad = swath(&["-c", "\\timng"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("did you mean \\timing?"),
        "{}",
        stderr(&bad)
    );
    let missing = swath(&["-f", "/nonexistent.sql"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("/nonexistent.sql"));
}

/// An interactive shell on a pseudo-terminal, with its history in `home`.
fn pty(home: &Path, extra: &[&str]) -> PtySession {
    let mut cmd = Command::new(BIN);
    cmd.args(extra)
        .env("HOME", home)
        .env("TERM", "xterm")
        .env_remove("SWATH_HISTORY")
        .env_remove("XDG_STATE_HOME");
    let mut p = rexpect::session::spawn_command(cmd, Some(60_000)).expect("spawn swath");
    p.exp_string("swath> ").expect("prompt");
    p
}

/// Type `text` (no newline) and make sure it reached the terminal.
fn type_text(p: &mut PtySession, text: &str) {
    p.send(text).expect("send");
    p.flush().expect("flush");
}

/// Press a control key.
fn control(p: &mut PtySession, key: char) {
    p.send_control(key).expect("send control");
    p.flush().expect("flush");
}

/// Enter a line and wait until its result (`expect`) and the next prompt show.
fn enter(p: &mut PtySession, line: &str, expect: &str) {
    p.send_line(line).expect("send line");
    p.exp_string(expect)
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    p.exp_string("swath> ").expect("prompt after the result");
}

#[test]
fn interactive_completion_history_and_ctrl_c() {
    let home = tempfile::tempdir().expect("home");
    let mut p = pty(home.path(), &[]);
    enter(&mut p, "SELECT 40 + 2 AS answer;", "1 row in");

    // A statement spans lines until ';'.
    p.send_line("SELECT 'multi'").expect("send");
    enter(&mut p, "  AS line;", "| multi |");

    // Tab completes a function name; the query then runs with the completed name.
    type_text(&mut p, "SELECT uppe");
    type_text(&mut p, "\t");
    p.exp_string("upper").expect("completed to upper");
    enter(&mut p, "('done') AS v;", "| DONE |");
    type_text(&mut p, "SELECT rs_ndv");
    type_text(&mut p, "\t");
    p.exp_string("rs_ndvi").expect("completed to rs_ndvi");
    control(&mut p, 'u');
    enter(&mut p, "SELECT 'cleared' AS c;", "| cleared |");

    // Ctrl-C cancels a long query and the shell stays.
    p.send_line("SELECT sum(value) FROM generate_series(1, 1000000000000);")
        .expect("send");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    control(&mut p, 'c');
    p.exp_string("query cancelled").expect("cancelled");
    p.exp_string("swath> ").expect("prompt");
    enter(&mut p, "SELECT 6 * 7 AS again;", "| 42    |");

    // Ctrl-C at the prompt drops the line; errors keep the shell.
    type_text(&mut p, "SELECT half a line");
    control(&mut p, 'c');
    p.exp_string("^C").expect("interrupted");
    p.exp_string("swath> ").expect("prompt");
    enter(&mut p, "SELECT rs_ndvy(1, 2);", "Did you mean 'rs_ndvi'?");
    p.send_line("\\q").expect("quit");
    p.exp_eof().expect("exit");

    // History lives in the home directory and comes back with Up.
    let history = home.path().join(".local/state/swath/history");
    let saved = std::fs::read_to_string(&history).expect("history file");
    assert!(saved.contains("SELECT 40 + 2 AS answer;"), "{saved}");
    assert!(!saved.contains("half a line"), "{saved}");
    let mut p = pty(home.path(), &[]);
    type_text(&mut p, "\x1b[A");
    p.exp_string("\\q").expect("last line recalled");
    type_text(&mut p, "\x1b[A");
    p.exp_string("rs_ndvy").expect("the one before");
    control(&mut p, 'u');
    p.send_line("\\q").expect("quit");
    p.exp_eof().expect("exit");
}

#[test]
fn demo_runs_on_the_tiny_catalogue_and_reuses_it() {
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("demo");
    let run = || {
        Command::new(BIN)
            .args([
                "demo",
                "--size",
                "tiny",
                "--dir",
                out.to_str().expect("utf8"),
            ])
            .output()
            .expect("demo")
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}\n{}",
        stdout(&first),
        stderr(&first)
    );
    let text = stdout(&first);
    for title in [
        "1 · NDVI time series",
        "2 · Cloud-free temporal median composite",
        "3 · Per-pixel mean",
        "4 · Geomedian and MADs",
        "5 · Duplicate observations fused",
        "mean NDVI of clear pixels",
        "swath --init",
    ] {
        assert!(text.contains(title), "missing {title} in\n{text}");
    }
    assert!(text.contains("Generated 12 items"), "{text}");
    for f in [
        "composite.tif",
        "composite.json",
        "geomedian.tif",
        "geomedian.json",
        "tables.sql",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // The composite holds the four named bands on the table grid.
    let bytes = std::fs::read(out.join("composite.tif")).expect("composite");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let reader =
        std::sync::Arc::new(swath_geotiff::BytesReader(bytes::Bytes::from(bytes)));
    let tiff = rt
        .block_on(swath_geotiff::GeoTiff::open(reader))
        .expect("GeoTIFF");
    assert_eq!(tiff.bands(), 4);
    // The chart and the quicklook are PNGs of the expected sizes.
    assert_eq!(png_size(&out.join("ndvi.png")), (1000, 500));
    let (w, h) = (tiff.width() as u32, tiff.height() as u32);
    assert_eq!(png_size(&out.join("composite.png")), (w, h));
    // `swath quicklook` of one band, at most 50 pixels a side.
    let small = out.join("nir.png");
    let o = swath(&[
        "quicklook",
        out.join("composite.tif").to_str().expect("utf8"),
        "-o",
        small.to_str().expect("utf8"),
        "--bands",
        "4",
        "--max-size",
        "50",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // It samples the smallest overview with a side of 50 or more.
    let level = tiff
        .levels()
        .iter()
        .rev()
        .find(|l| l.width.max(l.height) >= 50)
        .expect("a level of 50 pixels");
    let (lw, lh) = (level.width as u32, level.height as u32);
    assert!(lw < w, "an overview, not the full image");
    let stride = lw.max(lh).div_ceil(50);
    assert_eq!(png_size(&small), (lw.div_ceil(stride), lh.div_ceil(stride)));
    let second = run();
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stdout(&second).contains("Reused 12 items"));
    // The tables file opens the same tables in the shell.
    let init = out.join("tables.sql");
    let o = swath(&[
        "--init",
        init.to_str().expect("utf8"),
        "-c",
        "SELECT count(DISTINCT solar_day) AS days FROM s2",
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "days\n4\n");
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is a PNG", path.display());
    assert_eq!(&b[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

/// The SQL blocks of README.md, in order.
fn readme_sql() -> Vec<String> {
    let readme = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .expect("README.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```sql") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn readme_tour_runs() {
    let blocks = readme_sql();
    assert!(blocks.len() >= 6, "README has {} SQL blocks", blocks.len());
    let dir = tempfile::tempdir().expect("dir");
    swath_synth::generate_if_missing(
        &dir.path().join("swath-demo/catalog"),
        &swath_synth::SynthSpec::tiny(),
    )
    .expect("tiny catalogue");
    let script = dir.path().join("tour.sql");
    // The tour starts at the CREATE statements (the composite example of "What works
    // today" further down needs its table too, and runs after it).
    let start = blocks
        .iter()
        .position(|b| b.contains("CREATE EXTERNAL TABLE s2 "))
        .expect("tour");
    std::fs::write(&script, blocks[start..].join("\n")).expect("script");
    let o = Command::new(BIN)
        .current_dir(dir.path())
        .args(["-f", "tour.sql", "--format", "csv"])
        .output()
        .expect("swath");
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    // Every SELECT printed its header, and the outputs were written.
    for header in [
        "solar_day,granules,chunks",
        "solar_day,chunk_x,chunk_y,ndvi,same_ndvi,valid_pixels",
        "solar_day,clear,clear_buffered,vegetated",
        "solar_day,clear_pixels,nir",
    ] {
        assert!(text.contains(header), "{header} missing in\n{text}");
    }
    assert!(dir.path().join("swath-demo/tour-median.tif").exists());
    assert!(dir.path().join("swath-demo/tour-median.json").exists());
    assert!(
        dir.path()
            .join("swath-demo/tour-ndvi-p90.zarr/zarr.json")
            .exists()
    );
    // rs_ndvi and the operator form agree in every row.
    for line in text
        .lines()
        .skip_while(|l| !l.starts_with("solar_day,chunk_x"))
        .skip(1)
        .take(4)
    {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[3], cells[4], "{line}");
    }
}

#[test]
fn progress_counts_the_chunks_scans_read() {
    let (_, init) = tiny();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let args = <swath::cli::Cli as clap::Parser>::parse_from(["swath", "--threads", "3"]);
        let shell = swath::shell::Shell::new(&args.shell).await.expect("shell");
        let create = std::fs::read_to_string(init).expect("init");
        shell.ctx.sql(&create).await.expect("create");
        let df = shell
            .ctx
            .sql("SELECT chunk_x, chunk_y, rs_median(red) AS red FROM s2 GROUP BY chunk_x, chunk_y")
            .await
            .expect("plan");
        let plan = df.create_physical_plan().await.expect("physical plan");
        let before = swath::shell::progress::of_plan(&plan);
        assert_eq!((before.chunks_done, before.partitions_done), (0, 0));
        assert!(before.chunks_total > 0 && before.partitions_total == 3, "{before:?}");
        datafusion::physical_plan::collect(std::sync::Arc::clone(&plan), shell.ctx.task_ctx())
            .await
            .expect("run");
        let after = swath::shell::progress::of_plan(&plan);
        assert_eq!(after.chunks_done, after.chunks_total, "{after:?}");
        assert_eq!(after.partitions_done, after.partitions_total, "{after:?}");
        // The table holds 4 observations of 15 chunks, less those no item covers.
        let count = shell
            .ctx
            .sql("SELECT count(*) FROM s2")
            .await
            .expect("count")
            .collect()
            .await
            .expect("count rows");
        let rows = count[0]
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .expect("int64")
            .value(0);
        assert_eq!(after.chunks_total, rows as u64);
    });
}

#[test]
fn embedded_swath_executors_is_this_process() {
    let o = swath(&[
        "--threads",
        "3",
        "--memory-limit",
        "1G",
        "--format",
        "csv",
        "-c",
        "SELECT id, slots, memory_limit_bytes, rss_bytes > 1000000 AS rss, \
         peak_rss_bytes >= rss_bytes AS peak FROM swath.executors",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "id,slots,memory_limit_bytes,rss,peak\nlocal,3,1073741824,true,true\n"
    );
    // Jobs are a cluster's: embedded there is no such table.
    let o = swath(&["-c", "SELECT * FROM swath.jobs"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("swath.jobs"), "{}", stderr(&o));
}
