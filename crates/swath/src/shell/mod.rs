//! The SQL shell: `swath` (interactive), `swath -c SQL` and `swath -f FILE`.
//!
//! A [`Shell`] holds one DataFusion session with Swath registered and runs
//! statements on it: SQL goes to DataFusion (with a progress bar for scans that take
//! more than a moment, and Ctrl-C cancelling the query), lines starting with `\` are
//! meta-commands (`meta`). Results print through `render`, where tile columns
//! become one-line summaries.

pub mod complete;
pub mod meta;
pub mod progress;
pub mod render;
pub mod split;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use swath_engine::EngineConfig;
use swath_engine::monitor;

use self::complete::Names;
use self::render::Format;

/// Options of the shell (the top-level flags of `swath`).
#[derive(Debug, Clone, clap::Args)]
pub struct ShellArgs {
    /// Run SQL (statements separated by `;`) and exit; may be repeated.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub command: Vec<String>,
    /// Run the statements of a file and exit; may be repeated.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Run a file first, then continue (interactive, or with -c / -f).
    #[arg(long, value_name = "FILE")]
    pub init: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Memory limit of queries, e.g. 512M, 4G (default: none).
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Worker threads and partitions per query (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Directories or URLs COPY may write into; may be repeated (default: anywhere).
    #[arg(long = "output-root", value_name = "PATH")]
    pub output_root: Vec<String>,
    /// Run every statement on a cluster: its scheduler's `df://HOST:PORT`
    /// (`swath scheduler`; default: in this process).
    #[arg(long, value_name = "URL")]
    pub cluster: Option<String>,
    /// Rows shown in table format (0: all).
    #[arg(long, default_value_t = 40)]
    pub max_rows: usize,
    /// Print the elapsed time after each statement (on by default interactively).
    #[arg(long)]
    pub timing: bool,
}

/// Parse a size like `512M`, `4G`, `1.5GiB` or `1048576` into bytes.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 512M, 4G)"))?;
    let factor: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" | "KIB" => 1024.0,
        "M" | "MB" | "MIB" => 1024.0 * 1024.0,
        "G" | "GB" | "GIB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TB" | "TIB" => 1024f64.powi(4),
        other => return Err(format!("unknown size unit '{other}' in '{text}'")),
    };
    let bytes = value * factor;
    if !(1.0..=1e18).contains(&bytes) {
        return Err(format!("size '{text}' is out of range"));
    }
    Ok(bytes as usize)
}

/// Why a statement did not finish.
#[derive(Debug)]
pub enum Failure {
    /// An error, one line.
    Error(String),
    /// Ctrl-C.
    Cancelled,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Error(e) => f.write_str(e),
            Failure::Cancelled => f.write_str("query cancelled"),
        }
    }
}

/// The cluster job name of this process's `n`-th statement: `swath PID.N: ` and
/// the start of the statement on one line.
pub fn job_name(n: u64, sql: &str) -> String {
    format!("swath {}.{n}: {}", std::process::id(), statement_start(sql))
}

/// A statement's first 80 characters on one line (`…` when cut): what job names
/// show.
pub fn statement_start(sql: &str) -> String {
    let text: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = text.chars().take(80).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// One line of an error: newlines folded, DataFusion's context kept.
pub fn one_line(e: impl std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A session and how to print its results.
pub struct Shell {
    /// The DataFusion session (Swath registered).
    pub ctx: SessionContext,
    /// Output format.
    pub format: Format,
    /// Print elapsed time after statements.
    pub timing: bool,
    /// Rows shown in table format (`None`: all).
    pub max_rows: Option<usize>,
    /// Show a progress bar for queries running longer than this.
    pub progress_delay: Option<Duration>,
    /// What completion offers.
    pub names: Arc<RwLock<Names>>,
    /// On a cluster: the scheduler's status API (`http://HOST:PORT`), where the
    /// progress bar follows this shell's jobs.
    pub cluster: Option<String>,
    /// Statements run, for job names.
    statements: std::sync::atomic::AtomicU64,
}

impl Shell {
    /// A shell on a new session made from `args`.
    pub async fn new(args: &ShellArgs) -> Result<Shell, String> {
        let memory_limit = args.memory_limit.as_deref().map(parse_size).transpose()?;
        if args.threads == Some(0) {
            return Err("--threads must be at least 1".into());
        }
        let mode = match &args.cluster {
            Some(url) => swath_engine::Mode::Remote(url.clone()),
            None => swath_engine::Mode::Embedded,
        };
        let config = EngineConfig {
            target_partitions: args.threads,
            memory_limit,
            output_roots: args.output_root.clone(),
            mode,
            ..EngineConfig::default()
        };
        let ctx = swath_engine::context(&config)
            .await
            .map_err(|e| one_line(&e))?;
        let shell = Shell {
            ctx,
            format: args.format,
            timing: args.timing,
            max_rows: (args.max_rows > 0).then_some(args.max_rows),
            progress_delay: None,
            names: Arc::default(),
            cluster: args.cluster.as_deref().map(|url| {
                url.strip_prefix("df://")
                    .map_or_else(|| url.to_string(), |rest| format!("http://{rest}"))
            }),
            statements: Default::default(),
        };
        shell.refresh_names().await;
        Ok(shell)
    }

    /// Run every statement and meta-command of `text`; stop at the first failure.
    pub async fn run_text(&mut self, text: &str) -> Result<bool, Failure> {
        for piece in pieces(text) {
            if !self.run_one(&piece).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Run one statement or meta-command; `Ok(false)` means quit.
    pub async fn run_one(&mut self, piece: &str) -> Result<bool, Failure> {
        if piece.starts_with('\\') {
            return meta::run(self, piece).await;
        }
        let started = Instant::now();
        let (batches, total) = self.query(piece).await?;
        let shown = render::displayable(&batches).map_err(Failure::Error)?;
        if shown.first().is_some_and(|b| b.num_columns() > 0) {
            let text = render::render(&shown, self.format).map_err(Failure::Error)?;
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
        }
        let shown_rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if self.format == Format::Table && total > shown_rows {
            println!("({shown_rows} of {total} rows shown; \\maxrows to change)");
        }
        if self.timing {
            let rows = if total == 1 { "row" } else { "rows" };
            eprintln!("{total} {rows} in {:.3} s", started.elapsed().as_secs_f64());
        }
        self.refresh_names().await;
        Ok(true)
    }

    /// Run one SQL statement: its batches (at most `max_rows` rows in table format)
    /// and the total row count. Ctrl-C cancels it.
    pub async fn query(&self, sql: &str) -> Result<(Vec<RecordBatch>, usize), Failure> {
        let limit = match self.format {
            Format::Table => self.max_rows,
            _ => None,
        };
        let record = monitor::global().start(&local_user(), "shell", sql);
        let work = swath_engine::output::provenance::with_statement(sql, async {
            // On a cluster the job carries a name the progress bar (and
            // `swath.jobs`) can find it by.
            let job = self.cluster.as_ref().map(|base| {
                let name = job_name(
                    self.statements
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    sql,
                );
                let state = self.ctx.state_ref();
                let mut state = state.write();
                // The key exists in every Ballista session.
                let options = state.config_mut().options_mut();
                let _ = options.set("ballista.job.name", &name);
                // Outputs planned on the scheduler record the statement.
                let _ = options.set("swath.statement", sql);
                record.on_cluster(base, &name);
                (base.clone(), name)
            });
            let df = self.ctx.sql(sql).await.map_err(one_line)?;
            let plan = df.create_physical_plan().await.map_err(one_line)?;
            record.running(&plan, Some(&self.ctx.runtime_env().memory_pool));
            // COPY's one row is the count of rows it wrote.
            let writes = plan
                .downcast_ref::<datafusion::datasource::sink::DataSinkExec>()
                .is_some();
            let bar = self
                .progress_delay
                .map(|d| progress::Bar::start(Arc::clone(&plan), d, job));
            let result = async {
                let mut stream = execute_stream(Arc::clone(&plan), self.ctx.task_ctx())
                    .map_err(one_line)?;
                let mut kept = Vec::new();
                let (mut total, mut kept_rows) = (0usize, 0usize);
                while let Some(batch) = stream.next().await {
                    let batch = batch.map_err(one_line)?;
                    total += batch.num_rows();
                    record.add_rows(if writes {
                        written(&batch)
                    } else {
                        batch.num_rows()
                    });
                    let room = limit.map_or(usize::MAX, |l| l.saturating_sub(kept_rows));
                    if room > 0 && batch.num_rows() > 0 {
                        let take = room.min(batch.num_rows());
                        kept_rows += take;
                        kept.push(batch.slice(0, take));
                    } else if kept.is_empty() {
                        kept.push(batch.slice(0, 0));
                    }
                }
                Ok::<_, String>((kept, total))
            }
            .await;
            drop(bar);
            result
        });
        let work = monitor::with_query(record.query(), work);
        let result = tokio::select! {
            r = work => r.map_err(Failure::Error),
            _ = tokio::signal::ctrl_c() => Err(Failure::Cancelled),
        };
        match &result {
            Ok(_) => record.end(monitor::State::Done, None),
            Err(Failure::Error(e)) => record.end(monitor::State::Failed, Some(e.clone())),
            Err(_) => {
                record.end(monitor::State::Cancelled, Some("cancelled (Ctrl-C)".into()))
            }
        }
        result
    }

    /// Refresh what completion offers from the session's catalog.
    pub async fn refresh_names(&self) {
        let state = self.ctx.state();
        let mut names = Names::default();
        let mut functions: Vec<String> =
            state.scalar_functions().keys().cloned().collect();
        functions.extend(state.aggregate_functions().keys().cloned());
        functions.extend(state.window_functions().keys().cloned());
        functions.sort();
        functions.dedup();
        names.functions = functions;
        for (table, schema) in self.tables() {
            names.tables.push(table.clone());
            if let Ok(Some(provider)) = schema.table(&table).await {
                names
                    .columns
                    .extend(provider.schema().fields().iter().map(|f| f.name().clone()));
            }
        }
        names.columns.sort();
        names.columns.dedup();
        if let Ok(mut n) = self.names.write() {
            *n = names;
        }
    }

    /// The user tables of the default catalog and schema, sorted.
    pub fn tables(&self) -> Vec<(String, Arc<dyn datafusion::catalog::SchemaProvider>)> {
        let state = self.ctx.state();
        let opts = &state.config_options().catalog;
        let Some(schema) = self
            .ctx
            .catalog(&opts.default_catalog)
            .and_then(|c| c.schema(&opts.default_schema))
        else {
            return Vec::new();
        };
        let mut names = schema.table_names();
        names.sort();
        names
            .into_iter()
            .map(|n| (n, Arc::clone(&schema)))
            .collect()
    }
}

/// The statements and meta-commands of `text`: a line starting with `\` is one
/// meta-command; the SQL between them is split on `;`.
pub fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut sql = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with('\\') && split::statements(&sql).is_empty() {
            sql.clear();
            out.push(line.trim().to_string());
        } else if line.trim_start().starts_with('\\') && split::is_complete(&sql) {
            out.extend(split::statements(&sql));
            sql.clear();
            out.push(line.trim().to_string());
        } else {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    out.extend(split::statements(&sql));
    out
}

/// Where history is kept: `$SWATH_HISTORY`, else `$XDG_STATE_HOME/swath/history`,
/// else `~/.local/state/swath/history`.
pub fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SWATH_HISTORY") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("swath").join("history"))
}

/// The interactive loop: read, run, print, until `\q` or Ctrl-D.
pub async fn interactive(mut shell: Shell) -> Result<(), String> {
    use rustyline::error::ReadlineError;
    let config = rustyline::Config::builder()
        .auto_add_history(true)
        .max_history_size(10_000)
        .map_err(|e| e.to_string())?
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut editor: rustyline::Editor<
        complete::ShellHelper,
        rustyline::history::FileHistory,
    > = rustyline::Editor::with_config(config).map_err(|e| e.to_string())?;
    editor.set_helper(Some(complete::ShellHelper::new(Arc::clone(&shell.names))));
    let history = history_path();
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.load_history(h);
    }
    shell.timing = true;
    shell.progress_delay = Some(Duration::from_millis(500));
    println!(
        "Swath {} — SQL over satellite raster datacubes. \\? for help, \\q to quit.",
        env!("CARGO_PKG_VERSION")
    );
    loop {
        match editor.readline("swath> ") {
            Ok(line) => {
                if let Some(h) = &history {
                    let _ = editor.append_history(h);
                }
                let mut quit = false;
                for piece in pieces(&line) {
                    match shell.run_one(&piece).await {
                        Ok(true) => {}
                        Ok(false) => {
                            quit = true;
                            break;
                        }
                        Err(e) => {
                            eprintln!("Error: {e}");
                            break;
                        }
                    }
                }
                if quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => {
                println!("^C");
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// `swath [-c SQL] [-f FILE] [--init FILE]`: run what was asked, then the interactive
/// loop if nothing non-interactive was given.
pub async fn run(args: &ShellArgs) -> Result<(), String> {
    let mut shell = Shell::new(args).await?;
    if let Some(init) = &args.init {
        run_file(&mut shell, init).await?;
    }
    if args.command.is_empty() && args.file.is_empty() {
        return interactive(shell).await;
    }
    for sql in &args.command {
        match shell.run_text(sql).await {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
    for file in &args.file {
        run_file(&mut shell, file).await?;
    }
    Ok(())
}

/// Run a file's statements, stopping at the first error.
pub async fn run_file(shell: &mut Shell, file: &std::path::Path) -> Result<(), String> {
    let text =
        std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    shell
        .run_text(&text)
        .await
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", file.display()))
}

/// The rows a COPY reports in its result batch.
fn written(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .first()
        .and_then(|c| c.as_any().downcast_ref::<arrow::array::UInt64Array>())
        .map_or(0, |c| c.iter().flatten().sum::<u64>() as usize)
}

/// Who runs the shell, for `swath.queries`: `$USER`, or `local`.
fn local_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "local".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("4G").unwrap(), 4 << 30);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
        assert!(parse_size("4Q").unwrap_err().contains("unit"));
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn pieces_keep_meta_commands_in_order() {
        let text = "SELECT 1;\n\\timing\nSELECT 'a;b'\n  FROM t;\n\\q\n";
        assert_eq!(
            pieces(text),
            vec!["SELECT 1", "\\timing", "SELECT 'a;b'\n  FROM t", "\\q"]
        );
    }

    #[test]
    fn errors_fold_to_one_line() {
        assert_eq!(one_line("a\n  b\n\nc"), "a b c");
    }
}
