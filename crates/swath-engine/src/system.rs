//! System tables: `swath.executors` (what runs tasks), `swath.queries` (the
//! statements this process runs and ran, with their progress:
//! [`crate::monitor`]) and, on a cluster, `swath.jobs` (the scheduler's jobs with
//! their stage and task counts).
//!
//! On a cluster the rows come from the scheduler's status API
//! (`GET http://HOST:PORT/api/swath/executors` and `…/jobs`, served by `swath
//! scheduler` next to Ballista's own `/api/*`), read when the table is scanned.
//! A query over system tables only is planned and run in the client: it takes no
//! task slot, so it answers while the cluster is busy. Embedded, `swath.executors`
//! is one row for this process.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use async_trait::async_trait;
use datafusion::catalog::{MemorySchemaProvider, Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source_as_provider;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::{LogicalPlan, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion::prelude::{Expr, SessionContext};
use serde::{Deserialize, Serialize};

/// The schema system tables live in.
pub const SCHEMA: &str = "swath";

/// Path of the scheduler's executor list, under its `http://HOST:PORT`.
pub const EXECUTORS_PATH: &str = "/api/swath/executors";
/// Path of the scheduler's job list, under its `http://HOST:PORT`.
pub const JOBS_PATH: &str = "/api/swath/jobs";
/// Path executors report their counters to ([`ExecutorReport`]).
pub const EXECUTOR_REPORT_PATH: &str = "/api/swath/executor-report";
/// Route of a job's stages with their plans and metrics (`{id}`: the job id).
pub const JOB_STAGES_PATH: &str = "/api/swath/jobs/{id}/stages";

/// One executor as the scheduler knows it (a row of `swath.executors`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorInfo {
    /// Ballista's executor id.
    pub id: String,
    /// Host the executor is reached at.
    pub host: String,
    /// Its data (Arrow Flight) port.
    pub port: Option<u32>,
    /// Its gRPC port.
    pub grpc_port: Option<u32>,
    /// Task slots (tasks it runs at once).
    pub slots: u32,
    /// Tasks running on it now.
    pub running_tasks: Option<u32>,
    /// Resident memory of the process, bytes, at its last heartbeat.
    pub rss_bytes: Option<u64>,
    /// Peak resident memory of the process, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Memory limit of its tasks, bytes (known embedded only).
    pub memory_limit_bytes: Option<u64>,
    /// Its last heartbeat, milliseconds since the Unix epoch.
    pub last_heartbeat_ms: Option<i64>,
    /// Pixel data it fetched and band tiles it decoded per second, over the
    /// last minutes (a sample a second; a cluster's executors report them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throughput: Vec<Throughput>,
    /// Pixel data it fetched since it started, bytes (a cluster's executors
    /// report it).
    #[serde(default)]
    pub fetched_bytes: Option<u64>,
    /// Band tiles it decoded since it started, bytes.
    #[serde(default)]
    pub decoded_bytes: Option<u64>,
}

/// Bytes an executor fetched and decoded per second, at one time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Milliseconds since the Unix epoch.
    pub t_ms: i64,
    /// Pixel data fetched per second, bytes.
    pub fetch_bytes_per_s: f64,
    /// Band tiles decoded per second, bytes.
    pub decode_bytes_per_s: f64,
}

/// What an executor reports to its scheduler every second
/// (`POST` [`EXECUTOR_REPORT_PATH`]): its counters since it started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorReport {
    /// The host it is reached at (as it registered).
    pub host: String,
    /// Its data (Arrow Flight) port.
    pub port: u16,
    /// Pixel data fetched since it started, bytes.
    pub fetched_bytes: u64,
    /// Band tiles decoded since it started, bytes.
    pub decoded_bytes: u64,
    /// Its `--memory-limit`, bytes.
    pub memory_limit_bytes: Option<u64>,
}

/// One job of the scheduler (a row of `swath.jobs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    /// Ballista's job id.
    pub job_id: String,
    /// The job's name (`ballista.job.name`; the shell names its statements).
    pub name: String,
    /// `queued`, `running`, `successful` or `failed`.
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub started_ms: Option<i64>,
    /// Milliseconds since the Unix epoch; none while it runs.
    pub ended_ms: Option<i64>,
    /// Stages of its plan.
    pub stages: u32,
    /// Stages finished.
    pub stages_done: u32,
    /// Tasks of the stages that are running or finished (known while it runs).
    pub tasks: Option<u32>,
    /// Tasks finished (known while it runs).
    pub tasks_done: Option<u32>,
    /// Tasks running now (known while it runs).
    pub tasks_running: Option<u32>,
}

/// Where system tables read their rows.
#[derive(Debug, Clone)]
pub enum Source {
    /// This process: the embedded engine.
    Process {
        /// Partitions a query runs at once.
        slots: usize,
        /// The session's memory limit.
        memory_limit: Option<usize>,
    },
    /// A scheduler's status API at `http://HOST:PORT`.
    Scheduler(String),
}

/// Which system table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `swath.executors`.
    Executors,
    /// `swath.jobs`.
    Jobs,
    /// `swath.queries`.
    Queries,
}

/// A system table: rows read from [`Source`] when it is scanned.
#[derive(Debug)]
pub struct SystemTable {
    kind: Kind,
    source: Source,
    schema: SchemaRef,
}

fn ms() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

impl SystemTable {
    /// `kind` over `source`.
    pub fn new(kind: Kind, source: Source) -> Self {
        let fields = match kind {
            Kind::Executors => vec![
                Field::new("id", DataType::Utf8, false),
                Field::new("host", DataType::Utf8, false),
                Field::new("port", DataType::Int32, true),
                Field::new("grpc_port", DataType::Int32, true),
                Field::new("slots", DataType::Int32, false),
                Field::new("running_tasks", DataType::Int32, true),
                Field::new("rss_bytes", DataType::Int64, true),
                Field::new("peak_rss_bytes", DataType::Int64, true),
                Field::new("memory_limit_bytes", DataType::Int64, true),
                Field::new("last_heartbeat", ms(), true),
            ],
            Kind::Jobs => vec![
                Field::new("job_id", DataType::Utf8, false),
                Field::new("name", DataType::Utf8, false),
                Field::new("status", DataType::Utf8, false),
                Field::new("error", DataType::Utf8, true),
                Field::new("started", ms(), true),
                Field::new("ended", ms(), true),
                Field::new("stages", DataType::Int32, false),
                Field::new("stages_done", DataType::Int32, false),
                Field::new("tasks", DataType::Int32, true),
                Field::new("tasks_done", DataType::Int32, true),
                Field::new("tasks_running", DataType::Int32, true),
            ],
            Kind::Queries => vec![
                Field::new("id", DataType::Int64, false),
                Field::new("user", DataType::Utf8, false),
                Field::new("origin", DataType::Utf8, false),
                Field::new("state", DataType::Utf8, false),
                Field::new("sql", DataType::Utf8, false),
                Field::new("started", ms(), false),
                Field::new("ended", ms(), true),
                Field::new("elapsed_ms", DataType::Int64, false),
                Field::new("chunks_done", DataType::Int64, false),
                Field::new("chunks_total", DataType::Int64, false),
                Field::new("partitions_done", DataType::Int64, false),
                Field::new("partitions_total", DataType::Int64, false),
                Field::new("bytes_fetched", DataType::Int64, false),
                Field::new("rows_out", DataType::Int64, false),
                Field::new("tasks_done", DataType::Int32, true),
                Field::new("tasks_total", DataType::Int32, true),
                Field::new("job", DataType::Utf8, true),
                Field::new("memory_bytes", DataType::Int64, true),
                Field::new("fraction", DataType::Float64, false),
                Field::new("error", DataType::Utf8, true),
            ],
        };
        SystemTable {
            kind,
            source,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// The table's rows now.
    pub async fn batch(&self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = match self.kind {
            Kind::Executors => executor_columns(&self.executors().await?),
            Kind::Jobs => job_columns(&self.jobs().await?),
            Kind::Queries => query_columns(&crate::monitor::global().infos().await),
        };
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }

    async fn executors(&self) -> Result<Vec<ExecutorInfo>> {
        match &self.source {
            Source::Process {
                slots,
                memory_limit,
            } => Ok(vec![local_executor(*slots, *memory_limit)]),
            Source::Scheduler(url) => fetch(url, EXECUTORS_PATH).await,
        }
    }

    async fn jobs(&self) -> Result<Vec<JobInfo>> {
        match &self.source {
            Source::Process { .. } => Ok(Vec::new()),
            Source::Scheduler(url) => fetch(url, JOBS_PATH).await,
        }
    }
}

/// The status API (`http://HOST:PORT`) of the scheduler at `df://HOST:PORT`.
pub fn status_base(url: &str) -> String {
    url.strip_prefix("df://")
        .map_or_else(|| url.to_string(), |rest| format!("http://{rest}"))
}

/// `GET {base}{path}` as JSON, with bounded timeouts.
pub async fn fetch<T: serde::de::DeserializeOwned>(base: &str, path: &str) -> Result<T> {
    let url = format!("{base}{path}");
    let failed = |e: &dyn std::fmt::Display| {
        DataFusionError::Execution(format!(
            "cannot read the scheduler's status at {url}: {e}"
        ))
    };
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| failed(&e))?;
    let response = client.get(&url).send().await.map_err(|e| failed(&e))?;
    if !response.status().is_success() {
        return Err(failed(&format!(
            "HTTP {} (is this a `swath scheduler`?)",
            response.status()
        )));
    }
    // A status list is small; a body past this is not a scheduler's answer.
    const LIMIT: u64 = 64 << 20;
    if response.content_length().is_some_and(|n| n > LIMIT) {
        return Err(failed(&"the answer is larger than 64 MiB"));
    }
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(&e))? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > LIMIT {
            return Err(failed(&"the answer is larger than 64 MiB"));
        }
    }
    serde_json::from_slice(&body).map_err(|e| failed(&e))
}

/// This process as the one executor of the embedded engine: `slots` partitions
/// at once, `memory_limit` per session.
pub fn local_executor(slots: usize, memory_limit: Option<usize>) -> ExecutorInfo {
    let (rss, peak) = process_memory();
    ExecutorInfo {
        id: "local".into(),
        host: "localhost".into(),
        port: None,
        grpc_port: None,
        slots: slots as u32,
        running_tasks: None,
        rss_bytes: rss,
        peak_rss_bytes: peak,
        memory_limit_bytes: memory_limit.map(|m| m as u64),
        last_heartbeat_ms: Some(chrono::Utc::now().timestamp_millis()),
        throughput: Vec::new(),
        fetched_bytes: Some(
            crate::monitor::FETCHED_BYTES.load(std::sync::atomic::Ordering::Relaxed),
        ),
        decoded_bytes: Some(
            crate::monitor::DECODED_BYTES.load(std::sync::atomic::Ordering::Relaxed),
        ),
    }
}

/// Resident and peak resident memory of this process, from /proc (Linux).
pub fn process_memory() -> (Option<u64>, Option<u64>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|k| k * 1024)
    };
    (kib("VmRSS:"), kib("VmHWM:"))
}

fn int32(values: impl Iterator<Item = Option<u32>>) -> ArrayRef {
    Arc::new(Int32Array::from_iter(
        values.map(|v| v.map(|v| v.min(i32::MAX as u32) as i32)),
    ))
}

fn int64(values: impl Iterator<Item = Option<u64>>) -> ArrayRef {
    Arc::new(Int64Array::from_iter(
        values.map(|v| v.map(|v| v.min(i64::MAX as u64) as i64)),
    ))
}

fn time(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMillisecondArray::from_iter(values).with_timezone("UTC"))
}

fn executor_columns(rows: &[ExecutorInfo]) -> Vec<ArrayRef> {
    vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.id))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.host))),
        int32(rows.iter().map(|r| r.port)),
        int32(rows.iter().map(|r| r.grpc_port)),
        int32(rows.iter().map(|r| Some(r.slots))),
        int32(rows.iter().map(|r| r.running_tasks)),
        int64(rows.iter().map(|r| r.rss_bytes)),
        int64(rows.iter().map(|r| r.peak_rss_bytes)),
        int64(rows.iter().map(|r| r.memory_limit_bytes)),
        time(rows.iter().map(|r| r.last_heartbeat_ms)),
    ]
}

fn job_columns(rows: &[JobInfo]) -> Vec<ArrayRef> {
    vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| &r.job_id),
        )),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.name))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| &r.status),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.error.as_deref()),
        )),
        time(rows.iter().map(|r| r.started_ms)),
        time(rows.iter().map(|r| r.ended_ms)),
        int32(rows.iter().map(|r| Some(r.stages))),
        int32(rows.iter().map(|r| Some(r.stages_done))),
        int32(rows.iter().map(|r| r.tasks)),
        int32(rows.iter().map(|r| r.tasks_done)),
        int32(rows.iter().map(|r| r.tasks_running)),
    ]
}

fn query_columns(rows: &[crate::monitor::QueryInfo]) -> Vec<ArrayRef> {
    let text = |f: &dyn Fn(&crate::monitor::QueryInfo) -> Option<&str>| -> ArrayRef {
        Arc::new(StringArray::from_iter(rows.iter().map(f)))
    };
    let count = |f: &dyn Fn(&crate::monitor::QueryInfo) -> u64| {
        int64(rows.iter().map(|r| Some(f(r))))
    };
    vec![
        count(&|r| r.id),
        text(&|r| Some(&r.user)),
        text(&|r| Some(&r.origin)),
        text(&|r| Some(r.state.name())),
        text(&|r| Some(&r.sql)),
        time(rows.iter().map(|r| Some(r.started_ms))),
        time(rows.iter().map(|r| r.ended_ms)),
        count(&|r| r.elapsed_ms),
        count(&|r| r.progress.chunks_done),
        count(&|r| r.progress.chunks_total),
        count(&|r| r.progress.partitions_done),
        count(&|r| r.progress.partitions_total),
        count(&|r| r.progress.bytes_fetched),
        count(&|r| r.rows_out),
        int32(rows.iter().map(|r| r.tasks_done)),
        int32(rows.iter().map(|r| r.tasks_total)),
        text(&|r| r.job.as_deref()),
        int64(rows.iter().map(|r| r.memory_bytes)),
        Arc::new(arrow::array::Float64Array::from_iter_values(
            rows.iter().map(|r| r.fraction),
        )),
        text(&|r| r.error.as_deref()),
    ]
}

#[async_trait]
impl TableProvider for SystemTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batch = self.batch().await?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            Arc::clone(&self.schema),
            projection.cloned(),
        )?)
    }
}

/// Register the `swath` schema and its system tables in `ctx`: `executors` and
/// `queries` always, `jobs` on a scheduler.
pub fn register(ctx: &SessionContext, source: Source) -> Result<()> {
    let catalog_name = ctx
        .state()
        .config()
        .options()
        .catalog
        .default_catalog
        .clone();
    let catalog = ctx
        .catalog(&catalog_name)
        .ok_or_else(|| DataFusionError::Internal(format!("no catalog {catalog_name}")))?;
    catalog.register_schema(SCHEMA, Arc::new(MemorySchemaProvider::new()))?;
    let mut kinds = vec![Kind::Executors, Kind::Queries];
    if matches!(source, Source::Scheduler(_)) {
        kinds.push(Kind::Jobs);
    }
    for kind in kinds {
        let name = match kind {
            Kind::Executors => "executors",
            Kind::Jobs => "jobs",
            Kind::Queries => "queries",
        };
        ctx.register_table(
            format!("{SCHEMA}.{name}"),
            Arc::new(SystemTable::new(kind, source.clone())),
        )?;
    }
    Ok(())
}

/// A cluster client's query planner: plans that read system tables only run
/// here (they need no executor); all others go to `cluster`.
#[derive(Debug)]
pub struct SystemTablesHere {
    /// The cluster's planner (Ballista's).
    pub cluster: Arc<dyn QueryPlanner + Send + Sync>,
}

/// Whether `plan` reads system tables only (true) or none (false); an error if
/// it mixes them with other tables.
fn system_only(plan: &LogicalPlan) -> Result<bool> {
    let (mut system, mut other) = (0usize, 0usize);
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            match source_as_provider(&scan.source) {
                Ok(p)
                    if (p.as_ref() as &dyn Any)
                        .downcast_ref::<SystemTable>()
                        .is_some() =>
                {
                    system += 1
                }
                _ => other += 1,
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    if system > 0 && other > 0 {
        return Err(DataFusionError::Plan(
            "swath.* system tables are read by the client and cannot be combined with \
             tables the cluster reads in one query"
                .into(),
        ));
    }
    Ok(system > 0)
}

#[async_trait]
impl QueryPlanner for SystemTablesHere {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        state: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if system_only(plan)? {
            DefaultPhysicalPlanner::default()
                .create_physical_plan(plan, state)
                .await
        } else {
            self.cluster.create_physical_plan(plan, state).await
        }
    }
}
