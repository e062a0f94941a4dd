//! `swath scheduler` and `swath executor`: Apache Ballista's scheduler and executor
//! processes with Swath's functions, table factories and codecs registered. Each
//! process has its own runtime, object stores (credentials from its own
//! environment) and memory pool. Clients connect with `swath --cluster
//! df://HOST:PORT` (docs/cluster.md).

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;

use arrow_flight::flight_service_server::FlightServiceServer;
use ballista_core::flight_proxy_service::BallistaFlightProxyService;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpcServer;
use ballista_executor::executor_process::{
    ExecutorProcessConfig, start_executor_process,
};
use ballista_scheduler::cluster::{BallistaCluster, JobState};
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::create_scheduler;
use ballista_scheduler::scheduler_server::SchedulerServer;
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use swath_engine::cube::read::HeaderCache;
use swath_engine::output::OutputRoots;
use swath_engine::session::{cluster_config, cluster_runtime, cluster_state};
use swath_engine::system;
use swath_engine::{SwathLogicalCodec, SwathPhysicalCodec};

/// `swath scheduler`.
#[derive(Debug, Clone, clap::Args)]
pub struct SchedulerArgs {
    /// Address to listen on for clients and executors (loopback unless told
    /// otherwise).
    #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
    pub bind: String,
    /// Host name or address executors and clients reach this scheduler at
    /// (default: the bind host).
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,
    /// Seconds without a heartbeat after which an executor is lost and its tasks
    /// run elsewhere.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub executor_timeout: u64,
    /// Directories or URLs COPY may write into; may be repeated (default: anywhere).
    #[arg(long = "output-root", value_name = "PATH")]
    pub output_root: Vec<String>,
    /// Clients fetch results through the scheduler's port instead of from the
    /// executors (for clients that cannot reach executors: outside a compose
    /// network or a Kubernetes cluster).
    #[arg(long)]
    pub flight_proxy: bool,
    /// Serve the dashboard (the cluster's jobs and executors; docs/dashboard.md)
    /// on this address. Another address than loopback needs --tokens.
    #[arg(long, value_name = "HOST:PORT")]
    pub http: Option<String>,
    /// Users and their tokens for the dashboard, one `user:token` a line.
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
}

/// `swath executor`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExecutorArgs {
    /// The scheduler to register with.
    #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
    pub scheduler: String,
    /// Address of this executor's data (Arrow Flight) service; its gRPC service
    /// listens on the next port.
    #[arg(long, default_value = "127.0.0.1:50051", value_name = "HOST:PORT")]
    pub bind: String,
    /// Host name or address the scheduler and other executors reach this executor
    /// at (default: the bind host).
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,
    /// Tasks run at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub concurrent_tasks: Option<usize>,
    /// Memory of this executor's tasks, e.g. 2G, split evenly among its task
    /// slots; a task over its share spills or fails (default: none).
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Directory for shuffle files and spills (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Seconds between heartbeats to the scheduler.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub heartbeat: u64,
    /// Directories or URLs COPY may write into; may be repeated (default: anywhere).
    #[arg(long = "output-root", value_name = "PATH")]
    pub output_root: Vec<String>,
}

/// `HOST:PORT` as a socket address (the first the host resolves to).
pub(crate) fn address(what: &str, text: &str) -> Result<SocketAddr, String> {
    text.to_socket_addrs()
        .map_err(|e| format!("{what} {text:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{what} {text:?}: no address"))
}

/// `HOST:PORT` split.
fn host_port(what: &str, text: &str) -> Result<(String, u16), String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{what} {text:?}: expected HOST:PORT"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{what} {text:?}: {port:?} is not a port"))?;
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

/// Run a scheduler until the process is stopped (SIGTERM, Ctrl-C).
pub async fn scheduler(args: &SchedulerArgs) -> Result<(), String> {
    let addr = address("--bind", &args.bind)?;
    let tokens = args
        .tokens
        .as_deref()
        .map(crate::serve::auth::Tokens::load)
        .transpose()?;
    let http = args
        .http
        .as_deref()
        .map(|h| address("--http", h))
        .transpose()?;
    if let Some(h) = http
        && tokens.is_none()
        && !h.ip().is_loopback()
    {
        return Err(format!(
            "--http {h}: a dashboard without --tokens listens on loopback only (give \
             --tokens FILE to serve other hosts)"
        ));
    }
    let roots = OutputRoots::new(&args.output_root).map_err(|e| e.to_string())?;
    let registry = Arc::new(swath_store::Registry::from_env());
    let headers = Arc::new(HeaderCache::new());
    let runtime = cluster_runtime(&registry, None).map_err(|e| e.to_string())?;
    let base = cluster_config(&registry, &headers);
    let producer_base = base.clone();
    let mut config = SchedulerConfig::default()
        .with_hostname(
            args.external_host
                .clone()
                .unwrap_or_else(|| addr.ip().to_string()),
        )
        .with_port(addr.port());
    config.bind_host = addr.ip().to_string();
    config.executor_timeout_seconds = args.executor_timeout.max(2);
    config.enable_embedded_flight_proxy = args.flight_proxy;
    config.expire_dead_executor_interval_seconds = (args.executor_timeout / 3).max(1);
    config.no_executors_grace_period_seconds = config.executor_timeout_seconds;
    config.override_config_producer = Some(Arc::new(move || producer_base.clone()));
    config.override_logical_codec =
        Some(Arc::new(SwathLogicalCodec::with_roots(roots.clone())));
    config.override_session_builder = Some(Arc::new(move |c: SessionConfig| {
        cluster_state(c, Arc::clone(&runtime), &roots)
    }));
    config.override_physical_codec = Some(Arc::new(SwathPhysicalCodec::default()));
    config.validate().map_err(|e| format!("scheduler: {e}"))?;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| format!("scheduler: {e}"))?;
    let config = Arc::new(config);
    let jobs = cluster.job_state();
    let scheduler = create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(
        cluster,
        Arc::clone(&config),
    )
    .await
    .map_err(|e| format!("scheduler: {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("scheduler: --bind {addr}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("scheduler: {e}"))?;
    eprintln!("swath scheduler listening on {addr}");
    let _stop_dashboard = match http {
        Some(h) => {
            let listener = std::net::TcpListener::bind(h)
                .map_err(|e| format!("scheduler: --http {h}: {e}"))?;
            let shown = listener.local_addr().map_err(|e| e.to_string())?;
            // The dashboard reads this scheduler's status API on its own port.
            let ip = if local.ip().is_unspecified() {
                std::net::IpAddr::from([127, 0, 0, 1])
            } else {
                local.ip()
            };
            let base = format!("http://{}", SocketAddr::new(ip, local.port()));
            let board = crate::dashboard::Dashboard::new(
                Arc::new(crate::serve::auth::Authenticator::new(tokens)),
                crate::dashboard::Executors::Cluster(base.clone()),
                crate::dashboard::Statements::Scheduler(base),
            );
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            crate::dashboard::spawn(listener, board, async {
                let _ = stopped.await;
            })?;
            eprintln!("swath scheduler: dashboard on http://{shown}");
            Some(stop)
        }
        None => None,
    };
    let server = serve(listener, scheduler, &config, jobs);
    tokio::select! {
        result = server => result.map_err(|e| format!("scheduler: {e}")),
        _ = stop_signal() => {
            eprintln!("swath scheduler: stopping");
            Ok(())
        }
    }
}

/// The scheduler of `swath scheduler`.
type Scheduler = SchedulerServer<LogicalPlanNode, PhysicalPlanNode>;

/// Serve the scheduler on `listener`: Ballista's gRPC service, its REST API
/// (`/api/*`) and Swath's status API ([`status_routes`]), all on one port.
async fn serve(
    listener: tokio::net::TcpListener,
    scheduler: Scheduler,
    config: &SchedulerConfig,
    jobs: Arc<dyn JobState>,
) -> Result<(), String> {
    let grpc = SchedulerGrpcServer::new(scheduler.clone())
        .max_encoding_message_size(config.grpc_server_max_encoding_message_size as usize)
        .max_decoding_message_size(config.grpc_server_max_decoding_message_size as usize);
    let mut routes = tonic::service::RoutesBuilder::default();
    routes.add_service(grpc);
    if config.enable_embedded_flight_proxy {
        let max_decoding = config.grpc_server_max_decoding_message_size as usize;
        let max_encoding = config.grpc_server_max_encoding_message_size as usize;
        let proxy = BallistaFlightProxyService::new(
            max_decoding,
            max_encoding,
            config.use_tls,
            None,
        );
        routes.add_service(
            FlightServiceServer::new(proxy)
                .max_decoding_message_size(max_decoding)
                .max_encoding_message_size(max_encoding),
        );
    }
    let scheduler = Arc::new(scheduler);
    let app = status_routes(Arc::clone(&scheduler), jobs)
        .merge(ballista_scheduler::api::get_routes(scheduler))
        .merge(routes.routes().into_axum_router());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .map_err(|e| format!("scheduler: {e}"))
}

/// `GET /api/swath/executors` and `GET /api/swath/jobs`: the rows of
/// `swath.executors` and `swath.jobs` (swath_engine::system).
fn status_routes(scheduler: Arc<Scheduler>, jobs: Arc<dyn JobState>) -> axum::Router {
    use axum::routing::get;
    let stages = axum::Router::new()
        .route(system::JOB_STAGES_PATH, get(stages_json))
        .with_state((Arc::clone(&scheduler), jobs));
    let reports: Reports = Arc::default();
    let executors = axum::Router::new()
        .route(system::EXECUTORS_PATH, get(executors_json))
        .route(
            system::EXECUTOR_REPORT_PATH,
            axum::routing::post(report_json)
                .layer(axum::extract::DefaultBodyLimit::max(4096)),
        )
        .with_state((Arc::clone(&scheduler), reports));
    axum::Router::new()
        .route(system::JOBS_PATH, get(jobs_json))
        .with_state(scheduler)
        .merge(stages)
        .merge(executors)
}

/// What executors reported (`POST /api/swath/executor-report`), by host and
/// data port.
type Reports = Arc<std::sync::Mutex<HashMap<(String, u16), Reported>>>;

/// An executor's last report and its throughput over the last five minutes.
struct Reported {
    last: (std::time::Instant, u64, u64),
    memory_limit: Option<u64>,
    throughput: std::collections::VecDeque<system::Throughput>,
}

/// Throughput samples kept per executor (one a second: five minutes).
const THROUGHPUT_SAMPLES: usize = 300;

/// Take an executor's report: only from an executor registered with this
/// scheduler (by host and data port); the rates since its last one.
async fn report_json(
    axum::extract::State((scheduler, reports)): axum::extract::State<(
        Arc<Scheduler>,
        Reports,
    )>,
    axum::Json(report): axum::Json<system::ExecutorReport>,
) -> axum::http::StatusCode {
    let known = scheduler
        .state
        .executor_manager
        .get_executors_state()
        .await
        .unwrap_or_default()
        .into_iter()
        .any(|(meta, _, _)| meta.host == report.host && meta.port == report.port);
    if !known {
        return axum::http::StatusCode::NOT_FOUND;
    }
    let now = std::time::Instant::now();
    let mut reports = reports.lock().unwrap_or_else(|e| e.into_inner());
    // Executors gone for five minutes are forgotten.
    reports.retain(|_, r| now.duration_since(r.last.0).as_secs() < 300);
    let key = (report.host.clone(), report.port);
    let entry = reports.entry(key).or_insert_with(|| Reported {
        last: (now, report.fetched_bytes, report.decoded_bytes),
        memory_limit: report.memory_limit_bytes,
        throughput: std::collections::VecDeque::new(),
    });
    let secs = now.duration_since(entry.last.0).as_secs_f64();
    if secs > 0.0 {
        if entry.throughput.len() == THROUGHPUT_SAMPLES {
            entry.throughput.pop_front();
        }
        entry.throughput.push_back(system::Throughput {
            t_ms: chrono::Utc::now().timestamp_millis(),
            fetch_bytes_per_s: report.fetched_bytes.saturating_sub(entry.last.1) as f64
                / secs,
            decode_bytes_per_s: report.decoded_bytes.saturating_sub(entry.last.2) as f64
                / secs,
        });
    }
    entry.last = (now, report.fetched_bytes, report.decoded_bytes);
    entry.memory_limit = report.memory_limit_bytes;
    axum::http::StatusCode::NO_CONTENT
}

/// `GET /api/swath/jobs/{id}/stages`: each stage of a job with its plan and the
/// metrics its finished tasks reported (the dashboard's job page).
async fn stages_json(
    axum::extract::State((scheduler, jobs)): axum::extract::State<(
        Arc<Scheduler>,
        Arc<dyn JobState>,
    )>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use ballista_scheduler::state::execution_graph::ExecutionGraph;
    use ballista_scheduler::state::execution_stage::ExecutionStage;
    let job_id = id.clone().into();
    let stages_of = |graph: &dyn ExecutionGraph| {
        let mut ids: Vec<&usize> = graph.stages().keys().collect();
        ids.sort();
        ids.into_iter()
            .filter_map(|n| graph.stages().get(n).map(|s| (n, s)))
            .map(|(n, stage)| {
                let metrics: &[datafusion::physical_plan::metrics::MetricsSet] =
                    match stage {
                        ExecutionStage::Running(s) => {
                            s.stage_metrics.as_deref().unwrap_or(&[])
                        }
                        ExecutionStage::Successful(s) => &s.stage_metrics,
                        ExecutionStage::Failed(s) => {
                            s.stage_metrics.as_deref().unwrap_or(&[])
                        }
                        _ => &[],
                    };
                swath_engine::monitor::Operator {
                    name: format!("Stage {n}: {}", stage.variant_name()),
                    metrics: Vec::new(),
                    children: vec![swath_engine::monitor::operators_with(
                        stage.plan(),
                        metrics,
                    )],
                }
            })
            .collect::<Vec<_>>()
    };
    let running = scheduler.state.task_manager.get_running_job_cache();
    if let Some(info) = running.get(&job_id) {
        let graph = info.execution_graph.read().await;
        return axum::Json(stages_of(graph.as_ref())).into_response();
    }
    match jobs.get_execution_graph(&job_id).await {
        Ok(Some(graph)) => axum::Json(stages_of(graph.as_ref())).into_response(),
        Ok(None) => axum::http::StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
        }
    }
}

/// Tasks running now on each executor, over the running jobs.
async fn running_tasks(scheduler: &Scheduler) -> HashMap<String, u32> {
    let mut running = HashMap::new();
    for job in scheduler
        .state
        .task_manager
        .get_running_job_cache()
        .values()
    {
        let graph = job.execution_graph.read().await;
        for task in graph.running_tasks() {
            *running.entry(task.executor_id).or_default() += 1;
        }
    }
    running
}

async fn executors_json(
    axum::extract::State((scheduler, reports)): axum::extract::State<(
        Arc<Scheduler>,
        Reports,
    )>,
) -> axum::Json<Vec<system::ExecutorInfo>> {
    use ballista_core::serde::protobuf::executor_metric::Metric;
    let running = running_tasks(&scheduler).await;
    let state = scheduler
        .state
        .executor_manager
        .get_executors_state()
        .await
        .unwrap_or_default();
    let reported = reports.lock().ok();
    let rows = state
        .into_iter()
        .map(|(meta, heartbeat, metrics)| {
            let mine = reported
                .as_ref()
                .and_then(|r| r.get(&(meta.host.clone(), meta.port)));
            let (mut rss, mut peak) = (None, None);
            for m in metrics.into_iter().filter_map(|m| m.metric) {
                match m {
                    Metric::ProcPhysicalMemory(v) => rss = Some(v),
                    Metric::PeakPhysicalMemory(v) if v > 0 => peak = Some(v),
                    _ => {}
                }
            }
            system::ExecutorInfo {
                running_tasks: Some(running.get(&meta.id).copied().unwrap_or(0)),
                id: meta.id,
                host: meta.host,
                port: Some(u32::from(meta.port)),
                grpc_port: Some(u32::from(meta.grpc_port)),
                slots: meta.specification.vcores,
                rss_bytes: rss,
                peak_rss_bytes: peak,
                memory_limit_bytes: mine.and_then(|r| r.memory_limit),
                throughput: mine
                    .map(|r| r.throughput.iter().copied().collect())
                    .unwrap_or_default(),
                fetched_bytes: mine.map(|r| r.last.1),
                decoded_bytes: mine.map(|r| r.last.2),
                last_heartbeat_ms: heartbeat
                    .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            }
        })
        .collect();
    axum::Json(rows)
}

/// Epoch milliseconds, none for 0 (not yet).
fn epoch_ms(v: u64) -> Option<i64> {
    (v > 0).then(|| i64::try_from(v).unwrap_or(i64::MAX))
}

async fn jobs_json(
    axum::extract::State(scheduler): axum::extract::State<Arc<Scheduler>>,
) -> axum::Json<Vec<system::JobInfo>> {
    use ballista_core::serde::protobuf::job_status::Status;
    use ballista_scheduler::state::execution_stage::ExecutionStage;
    let task_manager = &scheduler.state.task_manager;
    let running = task_manager.get_running_job_cache();
    let mut rows = Vec::new();
    for job in task_manager.get_all_jobs().await.unwrap_or_default() {
        let (status, error) = match &job.status.status {
            Some(Status::Queued(_)) | None => ("queued", None),
            Some(Status::Running(_)) => ("running", None),
            Some(Status::Successful(_)) => ("successful", None),
            Some(Status::Failed(f)) => ("failed", Some(f.error.clone())),
        };
        let mut row = system::JobInfo {
            job_id: job.job_id.to_string(),
            name: job.job_name.clone(),
            status: status.into(),
            error,
            started_ms: epoch_ms(job.start_time),
            ended_ms: epoch_ms(job.end_time),
            stages: u32::try_from(job.num_stages).unwrap_or(u32::MAX),
            stages_done: u32::try_from(job.completed_stages).unwrap_or(u32::MAX),
            tasks: None,
            tasks_done: None,
            tasks_running: None,
        };
        if let Some(info) = running.get(&job.job_id) {
            let graph = info.execution_graph.read().await;
            let (mut total, mut done) = (0usize, 0usize);
            for stage in graph.stages().values() {
                match stage {
                    ExecutionStage::Running(s) => {
                        total += s.partitions;
                        done += s
                            .task_infos
                            .iter()
                            .filter(|t| {
                                matches!(
                                    t.task_status,
                                    ballista_core::serde::protobuf::task_status::Status::Successful(_)
                                )
                            })
                            .count();
                    }
                    ExecutionStage::Successful(s) => {
                        total += s.partitions;
                        done += s.partitions;
                    }
                    _ => {}
                }
            }
            let as_u32 = |v: usize| Some(u32::try_from(v).unwrap_or(u32::MAX));
            row.tasks = as_u32(total);
            row.tasks_done = as_u32(done.min(total));
            row.tasks_running = as_u32(graph.running_tasks().len());
        }
        rows.push(row);
    }
    rows.sort_by(|a, b| (a.started_ms, &a.job_id).cmp(&(b.started_ms, &b.job_id)));
    axum::Json(rows)
}

/// SIGTERM or Ctrl-C.
pub(crate) async fn stop_signal() {
    let mut term =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Run an executor until the process is stopped (SIGTERM, Ctrl-C: it tells the
/// scheduler it leaves, and finishes).
pub async fn executor(args: &ExecutorArgs) -> Result<(), String> {
    let (scheduler_host, scheduler_port) = host_port("--scheduler", &args.scheduler)?;
    let bind = address("--bind", &args.bind)?;
    let grpc_port = bind
        .port()
        .checked_add(1)
        .ok_or_else(|| format!("--bind {}: no port after it for gRPC", args.bind))?;
    let memory = args
        .memory_limit
        .as_deref()
        .map(crate::shell::parse_size)
        .transpose()?;
    if args.concurrent_tasks == Some(0) {
        return Err("--concurrent-tasks must be at least 1".into());
    }
    let roots = OutputRoots::new(&args.output_root).map_err(|e| e.to_string())?;
    let registry = Arc::new(swath_store::Registry::from_env());
    let headers = Arc::new(HeaderCache::new());
    let base = cluster_config(&registry, &headers);
    let work_dir = args.work_dir.clone();
    let runtime =
        cluster_runtime(&registry, work_dir.as_deref()).map_err(|e| e.to_string())?;
    // The functions tasks may name: Swath's with DataFusion's.
    let state = cluster_state(base.clone(), Arc::clone(&runtime), &roots)
        .map_err(|e| e.to_string())?;
    let producer_registry = Arc::clone(&registry);
    let producer_dir = work_dir.clone();
    let config = ExecutorProcessConfig {
        bind_host: bind.ip().to_string(),
        external_host: Some(
            args.external_host
                .clone()
                .unwrap_or_else(|| bind.ip().to_string()),
        ),
        port: bind.port(),
        grpc_port,
        scheduler_host,
        scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        vcores: args.concurrent_tasks.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }),
        work_dir: work_dir.map(|d| d.display().to_string()),
        executor_heartbeat_interval_seconds: args.heartbeat.max(1),
        // No limit given: no pool (0 is Ballista's "unbounded").
        memory_pool_size: Some(memory.map_or(0, |m| m as u64)),
        print_thread_info: false,
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(
            &state,
        ))),
        override_logical_codec: Some(Arc::new(SwathLogicalCodec::with_roots(
            roots.clone(),
        ))),
        override_physical_codec: Some(Arc::new(SwathPhysicalCodec::default())),
        override_config_producer: Some(Arc::new(move || base.clone())),
        override_runtime_producer: Some(Arc::new(move |_: &SessionConfig| {
            cluster_runtime(&producer_registry, producer_dir.as_deref())
        })),
        ..ExecutorProcessConfig::default()
    };
    eprintln!(
        "swath executor on {bind} (gRPC {grpc_port}), scheduler {}",
        args.scheduler
    );
    let report = tokio::spawn(report_to_scheduler(
        format!("http://{}{}", args.scheduler, system::EXECUTOR_REPORT_PATH),
        system::ExecutorReport {
            host: config.external_host.clone().unwrap_or_default(),
            port: bind.port(),
            fetched_bytes: 0,
            decoded_bytes: 0,
            memory_limit_bytes: memory.map(|m| m as u64),
        },
    ));
    let result = start_executor_process(Arc::new(config))
        .await
        .map_err(|e| format!("executor: {e}"));
    report.abort();
    result
}

/// Every second, post this executor's fetch and decode counters to the
/// scheduler's status API (the dashboard's throughput charts). A scheduler that
/// does not answer is tried again the next second.
async fn report_to_scheduler(url: String, mut report: system::ExecutorReport) {
    use std::sync::atomic::Ordering;
    let Ok(client) = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(std::time::Duration::from_secs(2))
        .build()
    else {
        return;
    };
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        report.fetched_bytes =
            swath_engine::monitor::FETCHED_BYTES.load(Ordering::Relaxed);
        report.decoded_bytes =
            swath_engine::monitor::DECODED_BYTES.load(Ordering::Relaxed);
        let Ok(body) = serde_json::to_vec(&report) else {
            return;
        };
        let _ = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
    }
}
