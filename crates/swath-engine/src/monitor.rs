//! What this process is running: its statements (running and recent, with live
//! progress read from their plans' metrics), its memory pools, and counters of
//! bytes fetched and decoded. The dashboard (`swath serve --http`) and the system
//! table `swath.queries` read it; the shell and `swath serve` record into it.
//!
//! Recording costs a lock per statement and two relaxed atomic adds per tile read:
//! progress is computed only when someone looks (from the plan's metrics).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use datafusion::execution::memory_pool::MemoryPool;
use datafusion::physical_plan::metrics::{MetricValue, MetricsSet};
use datafusion::physical_plan::{ExecutionPlan, displayable};
use serde::Serialize;

use crate::cube::{CubeScanExec, PixelScanExec};

/// Bytes of pixel data fetched from stores since the process started.
pub static FETCHED_BYTES: AtomicU64 = AtomicU64::new(0);
/// Bytes of band tiles decoded (and warped) since the process started.
pub static DECODED_BYTES: AtomicU64 = AtomicU64::new(0);

/// Finished statements kept for the dashboard and `swath.queries`.
const KEEP_FINISHED: usize = 200;
/// Longest statement text kept (the rest is cut, with a mark).
const MAX_SQL: usize = 16 * 1024;
/// Most catalogue items listed for one statement.
const MAX_ITEMS: usize = 500;
/// Longest operator line kept in a plan tree.
const MAX_OPERATOR: usize = 400;
/// Longest side of a statement's live quicklook, pixels.
const QUICKLOOK_SIZE: u32 = 256;
/// Finished statements that keep their quicklook (the newest).
const KEEP_QUICKLOOKS: usize = 10;

tokio::task_local! {
    static CURRENT: Arc<Query>;
}

/// Run `fut` (executing `query`'s statement) so that what it writes can show
/// itself on the statement ([`current`]): the COG output's live quicklook.
pub async fn with_query<F: std::future::Future>(query: &Arc<Query>, fut: F) -> F::Output {
    CURRENT.scope(Arc::clone(query), fut).await
}

/// The statement being run, when the front end said (see [`with_query`]).
pub fn current() -> Option<Arc<Query>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// A downsampled picture of the chunks a raster output has received so far.
struct LiveQuicklook {
    canvas: swath_plot::Canvas,
    chunks: u64,
}

/// The monitor of this process.
pub fn global() -> &'static Monitor {
    static MONITOR: OnceLock<Monitor> = OnceLock::new();
    MONITOR.get_or_init(Monitor::default)
}

/// Statements and memory pools of one process.
#[derive(Default)]
pub struct Monitor {
    next_id: AtomicU64,
    quicklooks: std::sync::atomic::AtomicBool,
    queries: Mutex<VecDeque<Arc<Query>>>,
    pools: Mutex<Vec<Weak<dyn MemoryPool>>>,
}

/// Where a statement is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Planned, not yet running (a Flight SQL ticket not yet fetched).
    Planned,
    /// Running.
    Running,
    /// Finished with its whole result.
    Done,
    /// Ended by an error.
    Failed,
    /// Cancelled, timed out, or its client went away.
    Cancelled,
}

impl State {
    /// The state's name, as in `swath.queries`.
    pub fn name(self) -> &'static str {
        match self {
            State::Planned => "planned",
            State::Running => "running",
            State::Done => "done",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }

    /// Whether the statement has ended.
    pub fn ended(self) -> bool {
        matches!(self, State::Done | State::Failed | State::Cancelled)
    }
}

/// How far the datacube scans of a plan are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Chunk rows (chunk × observation) read.
    pub chunks_done: u64,
    /// Chunk rows the scans will read (the plan's estimate, as EXPLAIN shows).
    pub chunks_total: u64,
    /// Scan partitions that have read all their rows.
    pub partitions_done: u64,
    /// Scan partitions.
    pub partitions_total: u64,
    /// Bytes of pixel data fetched.
    pub bytes_fetched: u64,
    /// Range requests made for pixel data.
    pub range_requests: u64,
    /// Time spent decoding and warping, nanoseconds (summed over threads).
    pub decode_nanos: u64,
}

/// The progress of every datacube scan in `plan`.
pub fn progress_of(plan: &Arc<dyn ExecutionPlan>) -> Progress {
    let mut p = Progress::default();
    visit_scans(plan.as_ref(), &mut |scan| add_scan(scan, &mut p));
    p
}

fn visit_scans(plan: &dyn ExecutionPlan, f: &mut dyn FnMut(&CubeScanExec)) {
    if let Some(scan) = plan.downcast_ref::<CubeScanExec>() {
        f(scan);
    } else if let Some(scan) = plan.downcast_ref::<PixelScanExec>() {
        f(scan.chunk_scan());
    }
    for child in plan.children() {
        visit_scans(child.as_ref(), f);
    }
}

fn add_scan(scan: &CubeScanExec, p: &mut Progress) {
    let planned: Vec<u64> = scan
        .spec()
        .partitions
        .iter()
        .map(|tasks| tasks.iter().map(|t| t.observations.len() as u64).sum())
        .collect();
    let mut done = vec![0u64; planned.len()];
    if let Some(metrics) = scan.metrics() {
        for m in metrics.iter() {
            match (m.value(), m.partition()) {
                (MetricValue::OutputRows(count), Some(part)) => {
                    if let Some(d) = done.get_mut(part) {
                        *d += count.value() as u64;
                    }
                }
                (MetricValue::Count { name, count }, _) if name == "bytes_fetched" => {
                    p.bytes_fetched += count.value() as u64
                }
                (MetricValue::Count { name, count }, _) if name == "range_requests" => {
                    p.range_requests += count.value() as u64
                }
                (MetricValue::Time { name, time }, _) if name == "decode_warp_time" => {
                    p.decode_nanos += time.value() as u64
                }
                _ => {}
            }
        }
    }
    p.chunks_total += planned.iter().sum::<u64>();
    p.chunks_done += done.iter().sum::<u64>();
    p.partitions_total += planned.len() as u64;
    p.partitions_done += planned
        .iter()
        .zip(&done)
        .filter(|(want, got)| got >= want)
        .count() as u64;
}

/// The catalogue items the datacube scans of `plan` read (at most 500), and how
/// many there are.
pub fn items_of(plan: &Arc<dyn ExecutionPlan>) -> (Vec<String>, usize) {
    let mut items = std::collections::BTreeSet::new();
    visit_scans(plan.as_ref(), &mut |scan| {
        let def = &scan.spec().def;
        // Observations first (a chunk list repeats them), then their scenes.
        let observations: std::collections::HashSet<u32> = scan
            .spec()
            .partitions
            .iter()
            .flatten()
            .flat_map(|task| task.observations.iter().copied())
            .collect();
        for o in observations {
            let Some(obs) = def.observations.get(o as usize) else {
                continue;
            };
            for scene in obs.scenes.iter().filter_map(|&s| def.scenes.get(s)) {
                if !items.contains(&scene.item_id) {
                    items.insert(scene.item_id.clone());
                }
            }
        }
    });
    let total = items.len();
    (items.into_iter().take(MAX_ITEMS).collect(), total)
}

/// One operator of a plan with its metrics (EXPLAIN ANALYZE's numbers, summed over
/// partitions), and its inputs.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Operator {
    /// The operator as EXPLAIN prints it.
    pub name: String,
    /// Metric name and value, as EXPLAIN ANALYZE prints them.
    pub metrics: Vec<(String, String)>,
    /// Its inputs.
    pub children: Vec<Operator>,
}

/// The operator tree of `plan` with its metrics now.
pub fn operators_of(plan: &Arc<dyn ExecutionPlan>) -> Operator {
    operator(plan.as_ref(), &mut |p| p.metrics())
}

/// The operator tree of `plan` with `metrics` gathered elsewhere: one set per
/// operator that has metrics, in pre-order (as a cluster's stage reports them).
pub fn operators_with(plan: &dyn ExecutionPlan, metrics: &[MetricsSet]) -> Operator {
    let mut next = metrics.iter();
    operator(plan, &mut |p| {
        p.metrics().and_then(|_| next.next().cloned())
    })
}

fn operator(
    plan: &dyn ExecutionPlan,
    metrics_of: &mut dyn FnMut(&dyn ExecutionPlan) -> Option<MetricsSet>,
) -> Operator {
    let mut name = displayable(plan).one_line().to_string();
    if name.len() > MAX_OPERATOR {
        let mut cut = MAX_OPERATOR;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
        name.push('…');
    }
    let metrics = metrics_of(plan)
        .map(|m| {
            m.aggregate_by_name()
                .sorted_for_display()
                .timestamps_removed()
                .iter()
                .map(|m| (m.value().name().to_string(), m.value().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Operator {
        name: name.trim_end().to_string(),
        metrics,
        children: plan
            .children()
            .into_iter()
            .map(|c| operator(c.as_ref(), metrics_of))
            .collect(),
    }
}

/// One statement this process runs or ran.
pub struct Query {
    /// Its number in this process (from 1).
    pub id: u64,
    /// Who ran it.
    pub user: String,
    /// What ran it: `shell` or `serve`.
    pub origin: String,
    /// Its text, secrets masked ([`redact_sql`]).
    pub sql: String,
    /// When it started, milliseconds since the Unix epoch.
    pub started_ms: i64,
    started: Instant,
    rows_out: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Option<State>,
    ended_ms: Option<i64>,
    elapsed: Option<Duration>,
    error: Option<String>,
    plan: Option<Arc<dyn ExecutionPlan>>,
    job: Option<(String, String)>,
    memory: Option<Weak<dyn MemoryPool>>,
    last: Progress,
    operators: Option<Operator>,
    items: (Vec<String>, usize),
    cancel: Option<Box<dyn FnOnce() + Send>>,
    quicklook: Option<LiveQuicklook>,
}

/// A statement as the dashboard and `swath.queries` show it.
#[derive(Debug, Clone, Serialize)]
pub struct QueryInfo {
    /// Its number in this process.
    pub id: u64,
    /// Who ran it.
    pub user: String,
    /// `shell` or `serve`.
    pub origin: String,
    /// `planned`, `running`, `done`, `failed` or `cancelled`.
    pub state: State,
    /// Its text, secrets masked.
    pub sql: String,
    /// Milliseconds since the Unix epoch.
    pub started_ms: i64,
    /// Milliseconds since the Unix epoch; none while it runs.
    pub ended_ms: Option<i64>,
    /// Milliseconds it ran (so far).
    pub elapsed_ms: u64,
    /// Its scans' progress.
    #[serde(flatten)]
    pub progress: Progress,
    /// Rows it returned (or wrote, for COPY).
    pub rows_out: u64,
    /// On a cluster: tasks of its job finished, and known so far.
    pub tasks_done: Option<u32>,
    /// On a cluster: tasks of its job known so far.
    pub tasks_total: Option<u32>,
    /// The cluster job's name (`swath.jobs`).
    pub job: Option<String>,
    /// Memory its session's pool holds now, bytes (while it runs).
    pub memory_bytes: Option<u64>,
    /// From 0 to 1: chunk rows read of those planned, or on a cluster tasks done;
    /// 1 once done.
    pub fraction: f64,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
}

impl Query {
    /// Its state now.
    pub fn state(&self) -> State {
        self.lock().state.unwrap_or(State::Planned)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The statement as shown now; `job` is its cluster job as the scheduler
    /// reports it, if known.
    pub fn info(&self, job: Option<&crate::system::JobInfo>) -> QueryInfo {
        let inner = self.lock();
        let state = inner.state.unwrap_or(State::Planned);
        let progress = match (&inner.plan, state.ended()) {
            (Some(plan), false) => progress_of(plan),
            _ => inner.last,
        };
        let elapsed = inner.elapsed.unwrap_or_else(|| self.started.elapsed());
        let memory_bytes = inner
            .memory
            .as_ref()
            .filter(|_| !state.ended())
            .and_then(Weak::upgrade)
            .map(|p| p.reserved() as u64);
        let (tasks_done, tasks_total) = match job {
            Some(j) => (j.tasks_done, j.tasks),
            None => (None, None),
        };
        let fraction = if state == State::Done {
            1.0
        } else if let (Some(done), Some(total)) = (tasks_done, tasks_total)
            && total > 0
        {
            f64::from(done) / f64::from(total)
        } else if progress.chunks_total > 0 {
            progress.chunks_done as f64 / progress.chunks_total as f64
        } else {
            0.0
        };
        QueryInfo {
            id: self.id,
            user: self.user.clone(),
            origin: self.origin.clone(),
            state,
            sql: self.sql.clone(),
            started_ms: self.started_ms,
            ended_ms: inner.ended_ms,
            elapsed_ms: elapsed.as_millis() as u64,
            progress,
            rows_out: self.rows_out.load(Ordering::Relaxed),
            tasks_done,
            tasks_total,
            job: inner.job.as_ref().map(|(_, name)| name.clone()),
            memory_bytes,
            fraction: fraction.clamp(0.0, 1.0),
            error: inner.error.clone(),
        }
    }

    /// Its operator tree with metrics (live while it runs, as it ended after).
    pub fn operators(&self) -> Option<Operator> {
        let inner = self.lock();
        match (&inner.plan, &inner.operators) {
            (_, Some(ops)) => Some(ops.clone()),
            (Some(plan), None) => Some(operators_of(plan)),
            (None, None) => None,
        }
    }

    /// The catalogue items its scans read (at most 500) and how many there are.
    pub fn items(&self) -> (Vec<String>, usize) {
        self.lock().items.clone()
    }

    /// Its cluster job: the scheduler's status API and the job's name.
    pub fn job(&self) -> Option<(String, String)> {
        self.lock().job.clone()
    }

    /// Start its live quicklook: a raster output of `width × height` pixels with
    /// `bands` (1 grey, 3 RGB) bands. False if the size is refused.
    pub fn start_quicklook(&self, width: u64, height: u64, bands: usize) -> bool {
        match swath_plot::Canvas::new(width, height, bands, QUICKLOOK_SIZE) {
            Ok(canvas) => {
                self.lock().quicklook = Some(LiveQuicklook { canvas, chunks: 0 });
                true
            }
            Err(_) => false,
        }
    }

    /// Paste a chunk of `w × h` pixels at `(x0, y0)` of the output into its
    /// quicklook (one slice of physical values per band, NaN missing).
    pub fn quicklook_chunk(
        &self,
        x0: i64,
        y0: i64,
        w: usize,
        h: usize,
        bands: &[&[f32]],
    ) {
        let mut inner = self.lock();
        if let Some(q) = inner.quicklook.as_mut()
            && q.canvas.put(x0, y0, w, h, bands).is_ok()
        {
            q.chunks += 1;
        }
    }

    /// Chunks its quicklook holds, if it has one.
    pub fn quicklook_chunks(&self) -> Option<u64> {
        self.lock().quicklook.as_ref().map(|q| q.chunks)
    }

    /// Its quicklook as a PNG (2–98 % stretch), if it has one.
    pub fn quicklook_png(&self) -> Option<Result<Vec<u8>, String>> {
        let canvas = self.lock().quicklook.as_ref()?.canvas.clone();
        Some(
            canvas
                .render(&swath_plot::Stretch::default())
                .and_then(|image| image.to_png())
                .map_err(|e| e.to_string()),
        )
    }

    /// What cancelling it does (called at most once, by [`Query::cancel`]).
    pub fn on_cancel(&self, cancel: impl FnOnce() + Send + 'static) {
        self.lock().cancel = Some(Box::new(cancel));
    }

    /// Cancel it: true if it was running (or planned) and is now told to stop.
    pub fn cancel(&self) -> bool {
        let cancel = {
            let mut inner = self.lock();
            if inner.state.unwrap_or(State::Planned).ended() {
                return false;
            }
            inner.cancel.take()
        };
        match cancel {
            Some(f) => {
                f();
                true
            }
            None => false,
        }
    }
}

impl Monitor {
    /// Record a statement starting; it is shown until [`QueryHandle`] ends it.
    pub fn start(&self, user: &str, origin: &str, sql: &str) -> QueryHandle {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let query = Arc::new(Query {
            id,
            user: user.to_string(),
            origin: origin.to_string(),
            sql: redact_sql(sql),
            started_ms: chrono::Utc::now().timestamp_millis(),
            started: Instant::now(),
            rows_out: AtomicU64::new(0),
            inner: Mutex::default(),
        });
        let mut queries = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        queries.push_back(Arc::clone(&query));
        // Forget the oldest finished statements past the limit.
        let finished = queries.iter().filter(|q| q.state().ended()).count();
        let mut excess = finished.saturating_sub(KEEP_FINISHED);
        queries.retain(|q| {
            if excess > 0 && q.state().ended() {
                excess -= 1;
                false
            } else {
                true
            }
        });
        // Quicklooks of all but the newest finished statements go.
        let mut with_quicklook = 0;
        for q in queries.iter().rev() {
            let mut inner = q.lock();
            if inner.state.is_some_and(State::ended) && inner.quicklook.is_some() {
                with_quicklook += 1;
                if with_quicklook > KEEP_QUICKLOOKS {
                    inner.quicklook = None;
                }
            }
        }
        QueryHandle(query)
    }

    /// Every statement kept, newest first.
    pub fn queries(&self) -> Vec<Arc<Query>> {
        let queries = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        queries.iter().rev().cloned().collect()
    }

    /// The statement numbered `id`, if kept.
    pub fn query(&self, id: u64) -> Option<Arc<Query>> {
        let queries = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        queries.iter().find(|q| q.id == id).cloned()
    }

    /// Every statement kept as shown now, newest first, with cluster jobs'
    /// task counts read from their schedulers (one request per scheduler).
    pub async fn infos(&self) -> Vec<QueryInfo> {
        let queries = self.queries();
        let jobs = cluster_jobs(&queries).await;
        queries
            .iter()
            .map(|q| {
                let job = q.job().and_then(|(base, name)| {
                    jobs.iter()
                        .filter(|(b, _)| *b == base)
                        .flat_map(|(_, js)| js.iter())
                        .rfind(|j| j.name == name)
                });
                q.info(job)
            })
            .collect()
    }

    /// Draw live quicklooks of raster outputs from now on (a dashboard shows
    /// them; without one they are not drawn).
    pub fn enable_quicklooks(&self) {
        self.quicklooks.store(true, Ordering::Relaxed);
    }

    /// Whether raster outputs draw live quicklooks.
    pub fn quicklooks(&self) -> bool {
        self.quicklooks.load(Ordering::Relaxed)
    }

    /// Count a session's memory pool in [`Monitor::memory`].
    pub fn add_pool(&self, pool: &Arc<dyn MemoryPool>) {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools.retain(|p| p.strong_count() > 0);
        pools.push(Arc::downgrade(pool));
    }

    /// Memory the live sessions' pools hold now, bytes, and how many sessions
    /// there are.
    pub fn memory(&self) -> (u64, usize) {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let live: Vec<_> = pools.iter().filter_map(Weak::upgrade).collect();
        (live.iter().map(|p| p.reserved() as u64).sum(), live.len())
    }

    /// Statements running now.
    pub fn running(&self) -> usize {
        let queries = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        queries.iter().filter(|q| !q.state().ended()).count()
    }
}

/// The jobs of every scheduler a running statement of `queries` runs on.
async fn cluster_jobs(
    queries: &[Arc<Query>],
) -> Vec<(String, Vec<crate::system::JobInfo>)> {
    let mut bases: Vec<String> = queries
        .iter()
        .filter(|q| !q.state().ended())
        .filter_map(|q| q.job().map(|(base, _)| base))
        .collect();
    bases.sort();
    bases.dedup();
    let mut out = Vec::new();
    for base in bases {
        if let Ok(jobs) = crate::system::fetch(&base, crate::system::JOBS_PATH).await {
            out.push((base, jobs));
        }
    }
    out
}

/// A statement being recorded: what runs it reports through this; dropped
/// before it ends, the statement is marked cancelled (its client went away).
pub struct QueryHandle(Arc<Query>);

impl QueryHandle {
    /// The statement.
    pub fn query(&self) -> &Arc<Query> {
        &self.0
    }

    /// It runs `plan` (read for progress and metrics) with memory from `pool`.
    pub fn running(
        &self,
        plan: &Arc<dyn ExecutionPlan>,
        pool: Option<&Arc<dyn MemoryPool>>,
    ) {
        let mut inner = self.0.lock();
        inner.items = items_of(plan);
        inner.plan = Some(Arc::clone(plan));
        inner.memory = pool.map(Arc::downgrade);
        inner.state = Some(State::Running);
    }

    /// It runs as cluster job `name` of the scheduler whose status API is `base`.
    pub fn on_cluster(&self, base: &str, name: &str) {
        self.0.lock().job = Some((base.to_string(), name.to_string()));
    }

    /// `n` more rows returned.
    pub fn add_rows(&self, n: usize) {
        self.0.rows_out.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// It ended: done, or failed / cancelled with `error`.
    pub fn end(&self, state: State, error: Option<String>) {
        let mut inner = self.0.lock();
        if inner.state.is_some_and(State::ended) {
            return;
        }
        if let Some(plan) = inner.plan.take() {
            inner.last = progress_of(&plan);
            inner.operators = Some(operators_of(&plan));
        }
        inner.state = Some(state);
        inner.error = error;
        inner.ended_ms = Some(chrono::Utc::now().timestamp_millis());
        inner.elapsed = Some(self.0.started.elapsed());
        inner.cancel = None;
        inner.memory = None;
    }
}

impl Drop for QueryHandle {
    fn drop(&mut self) {
        self.end(
            State::Cancelled,
            Some(
                "the statement was dropped before it ended (its client went away)".into(),
            ),
        );
    }
}

/// `sql` with the values of secret-looking options masked: a quoted string that
/// follows a quoted key naming a secret, password, token or credential becomes
/// `'***'`. Cut to 16 KiB.
pub fn redact_sql(sql: &str) -> String {
    const SECRET: [&str; 5] = ["secret", "password", "token", "credential", "sas"];
    let mut out = String::with_capacity(sql.len().min(MAX_SQL));
    let mut mask_next = false;
    let mut rest = sql;
    while let Some(open) = rest.find('\'') {
        out.push_str(&rest[..open]);
        let body = &rest[open + 1..];
        // The closing quote ('' is an escaped quote inside the string).
        let mut end = None;
        let bytes = body.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\'' {
                if bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                end = Some(i);
                break;
            }
            i += 1;
        }
        let Some(end) = end else {
            // Unterminated: mask what follows if a secret was announced.
            out.push('\'');
            out.push_str(if mask_next { "***" } else { body });
            rest = "";
            break;
        };
        let text = &body[..end];
        if mask_next {
            out.push_str("'***'");
            mask_next = false;
        } else {
            out.push('\'');
            out.push_str(text);
            out.push('\'');
            let lower = text.to_ascii_lowercase();
            mask_next = SECRET.iter().any(|s| lower.contains(s));
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    if out.len() > MAX_SQL {
        let mut cut = MAX_SQL;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str(" …");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_options_are_masked() {
        let sql = "CREATE EXTERNAL TABLE t STORED AS STAC LOCATION 's3://b/c.json' \
                   OPTIONS ('aws.access_key_id' 'AKIA', 'aws.secret_access_key' 'it''s-secret', \
                   'aws.session_token' 'tok', 'bands' 'red')";
        let out = redact_sql(sql);
        assert!(
            !out.contains("it''s-secret") && !out.contains("'tok'"),
            "{out}"
        );
        assert!(out.contains("'aws.secret_access_key' '***'"), "{out}");
        assert!(out.contains("'aws.session_token' '***'"), "{out}");
        assert!(out.contains("'aws.access_key_id' 'AKIA'"), "{out}");
        assert!(out.contains("'bands' 'red'"), "{out}");
        assert_eq!(redact_sql("SELECT 'a''b', 1"), "SELECT 'a''b', 1");
        assert_eq!(redact_sql("SELECT 'password' 'x"), "SELECT 'password' '***");
    }

    #[test]
    fn finished_statements_are_kept_to_a_limit_and_dropped_handles_cancel() {
        let monitor = Monitor::default();
        let running = monitor.start("u", "shell", "SELECT 0");
        for i in 0..KEEP_FINISHED + 5 {
            let h = monitor.start("u", "shell", &format!("SELECT {i}"));
            h.end(State::Done, None);
        }
        // Trimmed when a statement starts: the last one ended after that.
        let kept = monitor.queries();
        assert_eq!(kept.len(), KEEP_FINISHED + 2);
        // The running one stays, the oldest finished ones went.
        assert!(kept.iter().any(|q| q.id == running.query().id));
        assert_eq!(kept[0].sql, format!("SELECT {}", KEEP_FINISHED + 4));
        assert_eq!(monitor.running(), 1);
        let id = running.query().id;
        drop(running);
        let q = monitor.query(id).expect("kept");
        assert_eq!(q.state(), State::Cancelled);
        assert!(q.info(None).error.is_some_and(|e| e.contains("went away")));
        assert_eq!(monitor.running(), 0);
    }

    #[test]
    fn cancel_calls_the_canceller_once_and_not_after_the_end() {
        let monitor = Monitor::default();
        let h = monitor.start("u", "serve", "SELECT 1");
        let (tx, rx) = std::sync::mpsc::channel();
        h.query().on_cancel(move || tx.send(()).unwrap_or_default());
        assert!(h.query().cancel());
        assert!(rx.try_recv().is_ok());
        assert!(!h.query().cancel(), "the canceller runs once");
        h.end(State::Cancelled, Some("cancelled".into()));
        let h2 = monitor.start("u", "serve", "SELECT 2");
        h2.query().on_cancel(|| {});
        h2.end(State::Done, None);
        assert!(
            !h2.query().cancel(),
            "a finished statement is not cancelled"
        );
        assert_eq!(h2.query().info(None).fraction, 1.0);
    }
}
