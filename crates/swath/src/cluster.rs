//! `swath scheduler` and `swath executor`: Apache Ballista's scheduler and executor
//! processes with Swath's functions, table factories and codecs registered. Each
//! process has its own runtime, object stores (credentials from its own
//! environment) and memory pool. Clients connect with `swath --cluster
//! df://HOST:PORT` (docs/cluster.md).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{
    ExecutorProcessConfig, start_executor_process,
};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use datafusion::prelude::SessionConfig;
use swath_engine::cube::read::HeaderCache;
use swath_engine::output::OutputRoots;
use swath_engine::session::{cluster_config, cluster_runtime, cluster_state};
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
fn address(what: &str, text: &str) -> Result<SocketAddr, String> {
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
    config.expire_dead_executor_interval_seconds = (args.executor_timeout / 3).max(1);
    config.no_executors_grace_period_seconds = config.executor_timeout_seconds;
    config.override_config_producer = Some(Arc::new(move || producer_base.clone()));
    config.override_logical_codec =
        Some(Arc::new(SwathLogicalCodec::with_roots(roots.clone())));
    config.override_session_builder = Some(Arc::new(move |c: SessionConfig| {
        cluster_state(c, Arc::clone(&runtime), &roots)
    }));
    config.override_physical_codec = Some(Arc::new(SwathPhysicalCodec::default()));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| format!("scheduler: {e}"))?;
    eprintln!("swath scheduler listening on {addr}");
    let server = ballista_scheduler::scheduler_process::start_server(
        cluster,
        addr,
        Arc::new(config),
    );
    tokio::select! {
        result = server => result.map_err(|e| format!("scheduler: {e}")),
        _ = stop_signal() => {
            eprintln!("swath scheduler: stopping");
            Ok(())
        }
    }
}

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
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
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| format!("executor: {e}"))
}
