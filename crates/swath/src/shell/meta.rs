//! Meta-commands: lines starting with `\` (`\d`, `\h`, `\i`, `\timing`, …).

use std::fmt::Write as _;

use datafusion::logical_expr::Documentation;
use swath_engine::CubeTable;

use super::complete::META;
use super::render::Format;
use super::{Failure, Shell, run_file};

/// Run one meta-command; `Ok(false)` means quit.
pub async fn run(shell: &mut Shell, line: &str) -> Result<bool, Failure> {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or_default();
    let arg = words.collect::<Vec<_>>().join(" ");
    let arg = arg.trim_end_matches(';').trim();
    let err = |m: String| Err(Failure::Error(m));
    match command {
        "\\q" | "\\quit" => return Ok(false),
        "\\?" | "\\help" => print!("{}", help()),
        "\\d" if arg.is_empty() => print!("{}", list_tables(shell).await),
        "\\d" => print!("{}", describe(shell, arg).await.map_err(Failure::Error)?),
        "\\h" if arg.is_empty() => print!("{}", list_functions(shell)),
        "\\h" => print!("{}", function_help(shell, arg).map_err(Failure::Error)?),
        "\\i" if arg.is_empty() => return err("\\i needs a file: \\i FILE".into()),
        "\\i" => {
            Box::pin(run_file(shell, std::path::Path::new(arg)))
                .await
                .map_err(Failure::Error)?;
        }
        "\\timing" => {
            shell.timing = match arg {
                "" => !shell.timing,
                "on" => true,
                "off" => false,
                other => return err(format!("\\timing takes on or off, not '{other}'")),
            };
            println!("Timing is {}.", if shell.timing { "on" } else { "off" });
        }
        "\\format" | "\\mode" => {
            if arg.is_empty() {
                println!("Format is {:?}.", shell.format);
            } else {
                shell.format = arg.parse::<Format>().map_err(Failure::Error)?;
            }
        }
        "\\maxrows" => {
            shell.max_rows = match arg {
                "all" | "0" => None,
                n => Some(n.parse::<usize>().map_err(|_| {
                    Failure::Error(format!("\\maxrows takes a number or all, not '{n}'"))
                })?),
            };
        }
        other => {
            let known: Vec<&str> = META.iter().map(|(m, _)| *m).collect();
            let hint = closest(other, known.iter().copied())
                .map(|c| format!("; did you mean {c}?"))
                .unwrap_or_default();
            return err(format!(
                "unknown meta-command {other}{hint} (\\? lists them)"
            ));
        }
    }
    Ok(true)
}

/// The closest of `candidates` to `word`, if close enough to be a typo.
pub fn closest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    candidates
        .map(|c| (strsim::damerau_levenshtein(&w, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn help() -> String {
    let mut s = String::from(
        "SQL statements end with ';' and may span lines. Tile columns print as summaries.\n\n",
    );
    for (m, what) in META {
        let _ = writeln!(s, "  {m:<9} {what}");
    }
    s.push_str(
        "\nSET datafusion.execution.batch_size = 1024; sets a session option; \
         SHOW ALL lists them.\n",
    );
    s
}

async fn list_tables(shell: &Shell) -> String {
    let tables = shell.tables();
    if tables.is_empty() {
        return "No tables. Make one with CREATE EXTERNAL TABLE name STORED AS STAC \
                LOCATION '…/collection.json';\n"
            .into();
    }
    let mut s = String::new();
    for (name, schema) in tables {
        let kind = match schema.table(&name).await {
            Ok(Some(p)) => match CubeTable::from_provider(p.as_ref()) {
                Some(cube) => format!(
                    "datacube, {} observations, {} bands",
                    cube.def().observations.len(),
                    cube.def().bands.len()
                ),
                None => format!("{} columns", p.schema().fields().len()),
            },
            _ => "table".into(),
        };
        let _ = writeln!(s, "  {name:<20} {kind}");
    }
    s
}

async fn describe(shell: &Shell, name: &str) -> Result<String, String> {
    let tables = shell.tables();
    let Some((_, schema)) = tables.iter().find(|(t, _)| t == name) else {
        let hint = closest(name, tables.iter().map(|(t, _)| t.as_str()))
            .map(|c| format!("; did you mean {c}?"))
            .unwrap_or_default();
        return Err(format!("no table named {name}{hint}"));
    };
    let provider = schema
        .table(name)
        .await
        .map_err(super::one_line)?
        .ok_or_else(|| format!("no table named {name}"))?;
    let mut s = String::new();
    if let Some(cube) = CubeTable::from_provider(provider.as_ref()) {
        let d = cube.def();
        let g = &d.grid;
        let (rx, _) = g.resolution();
        let _ = writeln!(s, "Datacube over {}", d.location);
        let _ = writeln!(
            s,
            "  grid: {} at {rx} m, {}×{} pixels in {}×{} chunks of {}×{}",
            g.crs,
            g.width,
            g.height,
            g.chunks_x(),
            g.chunks_y(),
            g.chunk_width,
            g.chunk_height
        );
        let times: Vec<i64> = d.scenes.iter().filter_map(|sc| sc.datetime).collect();
        let day = |us: i64| date_of_micros(us);
        if let (Some(a), Some(b)) = (times.iter().min(), times.iter().max()) {
            let _ = writeln!(
                s,
                "  {} items in {} observations, {} to {}",
                d.scenes.len(),
                d.observations.len(),
                day(*a),
                day(*b)
            );
        }
    }
    let _ = writeln!(s, "  {:<20} {:<44} nullable", "column", "type");
    for f in provider.schema().fields() {
        let ty = match swath_udfs::tile::TileMeta::from_field("\\d", f.name(), f) {
            Ok(m) if swath_udfs::tile::is_tile_type(f.data_type()) => {
                let mut t = format!("tile {}×{} {}", m.rows, m.cols, m.dtype);
                if let Some(nd) = m.nodata {
                    let _ = write!(t, ", nodata {nd}");
                }
                if m.is_scaled() {
                    let _ = write!(t, ", ×{} {:+}", m.scale, m.offset);
                }
                t
            }
            _ => f.data_type().to_string(),
        };
        let _ = writeln!(s, "  {:<20} {:<44} {}", f.name(), ty, f.is_nullable());
    }
    Ok(s)
}

/// `YYYY-MM-DD` of microseconds since the epoch (UTC).
pub fn date_of_micros(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map_or_else(|| us.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

fn documentation(shell: &Shell, name: &str) -> Option<Documentation> {
    let state = shell.ctx.state();
    state
        .scalar_functions()
        .get(name)
        .and_then(|f| f.documentation().cloned())
        .or_else(|| {
            state
                .aggregate_functions()
                .get(name)
                .and_then(|f| f.documentation().cloned())
        })
        .or_else(|| {
            state
                .window_functions()
                .get(name)
                .and_then(|f| f.documentation().cloned())
        })
}

fn list_functions(shell: &Shell) -> String {
    let mut s = String::from("Swath's raster functions (\\h NAME for one in full):\n");
    for (name, doc) in swath_udfs::reference::documented() {
        let first = doc.description.split(". ").next().unwrap_or_default();
        let first = first.trim_end_matches('.');
        let _ = writeln!(s, "  {name:<22} {first}.");
    }
    let _ = shell;
    s.push_str(
        "DataFusion's own functions are documented too: \\h avg, \\h date_trunc, …\n",
    );
    s
}

fn function_help(shell: &Shell, name: &str) -> Result<String, String> {
    let lower = name.to_ascii_lowercase();
    let Some(doc) = documentation(shell, &lower) else {
        let names = shell
            .names
            .read()
            .map(|n| n.functions.clone())
            .unwrap_or_default();
        let hint = closest(&lower, names.iter().map(String::as_str))
            .map(|c| format!("; did you mean {c}?"))
            .unwrap_or_default();
        return Err(format!("no documented function named {name}{hint}"));
    };
    let mut s = format!(
        "{lower}\n\n{}\n\n  {}\n",
        doc.description, doc.syntax_example
    );
    if let Some(args) = &doc.arguments {
        s.push_str("\nArguments:\n");
        for (a, d) in args {
            let _ = writeln!(s, "  {a}: {d}");
        }
    }
    if let Some(ex) = &doc.sql_example {
        let _ = write!(s, "\nExample:\n{ex}\n");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names() {
        let c = ["rs_ndvi", "rs_median", "\\timing"];
        assert_eq!(closest("rs_ndvy", c.iter().copied()), Some("rs_ndvi"));
        assert_eq!(closest("\\timng", c.iter().copied()), Some("\\timing"));
        assert_eq!(closest("completely_else", c.iter().copied()), None);
    }

    #[test]
    fn dates_from_micros() {
        assert_eq!(date_of_micros(0), "1970-01-01");
        assert_eq!(date_of_micros(19_511 * 86_400_000_000 + 1), "2023-06-03");
    }
}
