//! Sessions: one place that builds Swath's DataFusion session — table factories,
//! functions, codecs, memory limit — for the embedded engine and for Ballista
//! (client, scheduler and executors get the same functions and codecs).

use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionState;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::{SessionConfig, SessionContext};
use swath_udfs::TileOperatorPlanner;

use crate::codec::{SwathLogicalCodec, SwathPhysicalCodec};
use crate::factory::{GeoTiffTableFactory, StacTableFactory};
use crate::output::{CogFormatFactory, OutputRoots, PngFormatFactory, ZarrFormatFactory};

/// How a session runs its queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// In this process (the default).
    Embedded,
    /// On an in-process Ballista scheduler and executor (over loopback gRPC).
    Standalone,
    /// On a remote Ballista scheduler, `df://host:port`.
    Remote(String),
}

/// Session settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Partitions per scan and per shuffle (default: the number of cores).
    pub target_partitions: Option<usize>,
    /// Memory limit of the pool, in bytes (default: none).
    pub memory_limit: Option<usize>,
    /// Where queries run.
    pub mode: Mode,
    /// Where `COPY … STORED AS COG | ZARR` may write (paths or URLs; empty: anywhere).
    pub output_roots: Vec<String>,
    /// Where the session's stores may read and write at all (a server's
    /// `--allow-root` and `--output-root`; default: anywhere).
    pub roots: swath_store::AccessRoots,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            target_partitions: None,
            memory_limit: None,
            mode: Mode::Embedded,
            output_roots: Vec::new(),
            roots: swath_store::AccessRoots::anywhere(),
        }
    }
}

/// Every scalar function Swath adds to DataFusion's: the `rs_*` raster functions and
/// the `st_*` geometry functions.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    let ctx = SessionContext::new();
    let builtin: std::collections::HashSet<String> =
        ctx.state().scalar_functions().keys().cloned().collect();
    geodatafusion::register(&ctx);
    let state = ctx.state();
    let mut out: Vec<Arc<ScalarUDF>> = state
        .scalar_functions()
        .iter()
        .filter(|(name, _)| !builtin.contains(*name))
        .map(|(_, f)| Arc::clone(f))
        .collect();
    out.extend(swath_udfs::scalar_functions());
    out.sort_by(|a, b| a.name().cmp(b.name()));
    out
}

/// Every aggregate function Swath adds: the `rs_*` temporal reducers.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    swath_udfs::aggregate_functions()
}

/// Register Swath's functions, table factories and output formats on a state.
pub fn register(state: &mut SessionState) -> Result<()> {
    register_with(state, &OutputRoots::default())
}

/// [`register`], with outputs allowed under `roots` only.
pub fn register_with(state: &mut SessionState, roots: &OutputRoots) -> Result<()> {
    for f in scalar_functions() {
        state.register_udf(f)?;
    }
    for f in aggregate_functions() {
        state.register_udaf(f)?;
    }
    if !state
        .expr_planners()
        .iter()
        .any(|p| format!("{p:?}") == format!("{:?}", TileOperatorPlanner))
    {
        state.register_expr_planner(Arc::new(TileOperatorPlanner))?;
    }
    let roots = roots.clone();
    state.register_file_format(
        Arc::new(CogFormatFactory {
            roots: roots.clone(),
        }),
        true,
    )?;
    state.register_file_format(
        Arc::new(ZarrFormatFactory {
            roots: roots.clone(),
        }),
        true,
    )?;
    state.register_file_format(Arc::new(PngFormatFactory { roots }), true)?;
    let factories = state.table_factories_mut();
    factories.insert("STAC".into(), Arc::new(StacTableFactory));
    factories.insert("GEOTIFF".into(), Arc::new(GeoTiffTableFactory));
    Ok(())
}

/// The session configuration Swath starts from.
pub fn session_config(cfg: &EngineConfig) -> SessionConfig {
    let base = match cfg.mode {
        Mode::Embedded => SessionConfig::new(),
        _ => SessionConfig::new_with_ballista()
            .with_ballista_logical_extension_codec(Arc::new(SwathLogicalCodec::default()))
            .with_ballista_physical_extension_codec(Arc::new(
                SwathPhysicalCodec::default(),
            )),
    };
    let mut config = base.with_information_schema(true);
    if cfg.mode != Mode::Embedded {
        // Ballista's adaptive planner plans with its own fixed list of physical
        // optimizer rules, without Swath's (tile batches sized in bytes, CSV
        // sinks that keep their settings): use the static distributed planner.
        let _ = config
            .options_mut()
            .set("ballista.planner.adaptive.enabled", "false");
    }
    config
        .options_mut()
        .extensions
        .insert(crate::stores::SessionStoreSettings::default());
    if let Some(n) = cfg.target_partitions {
        config = config.with_target_partitions(n.max(1));
        if cfg.mode == Mode::Standalone {
            config = config.with_ballista_standalone_parallelism(n.max(1));
        }
    }
    config
}

/// A session state with Swath's functions, table factories and memory limit.
pub fn session_state(cfg: &EngineConfig) -> Result<SessionState> {
    let registry =
        Arc::new(swath_store::Registry::from_env().with_roots(cfg.roots.clone()));
    let mut runtime = RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(
        crate::stores::SwathObjectStores(Arc::clone(&registry)),
    ));
    if let Some(limit) = cfg.memory_limit {
        runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(limit)));
    }
    let mut state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(
            session_config(cfg)
                .with_extension(registry)
                .with_extension(Arc::new(crate::cube::read::HeaderCache::new())),
        )
        .with_runtime_env(runtime.build_arc()?)
        .with_physical_optimizer_rule(Arc::new(crate::batches::TileBatches))
        .build();
    register_with(&mut state, &OutputRoots::new(&cfg.output_roots)?)?;
    if cfg.mode != Mode::Embedded
        && let Some(rule) = crate::geoliterals::GeometryLiteralsLogical::new(&state)
    {
        state = SessionStateBuilder::new_from_existing(state)
            .with_optimizer_rule(Arc::new(rule))
            .build();
    }
    Ok(state)
}

/// A session context for `cfg.mode`, with Swath registered wherever queries run.
pub async fn context(cfg: &EngineConfig) -> Result<SessionContext> {
    let state = session_state(cfg)?;
    let ctx = match &cfg.mode {
        Mode::Embedded => {
            let slots = state.config().target_partitions();
            let ctx = SessionContext::new_with_state(state);
            crate::monitor::global().add_pool(&ctx.runtime_env().memory_pool);
            crate::system::register(
                &ctx,
                crate::system::Source::Process {
                    slots,
                    memory_limit: cfg.memory_limit,
                },
            )?;
            return Ok(ctx);
        }
        Mode::Standalone => SessionContext::standalone_with_state(state).await?,
        Mode::Remote(url) => {
            let ctx = SessionContext::remote_with_state(url, state).await?;
            // Queries over system tables run here; the rest on the cluster.
            let state = ctx.state();
            let cluster = Arc::clone(state.query_planner());
            let state = SessionStateBuilder::new_from_existing(state)
                .with_query_planner(Arc::new(crate::system::SystemTablesHere { cluster }))
                .build();
            let ctx = SessionContext::new_with_state(state);
            let base = crate::system::status_base(url);
            crate::system::register(&ctx, crate::system::Source::Scheduler(base))?;
            ctx
        }
    };
    // Ballista's client upgrade replaces the function lists: register them again so
    // the client can plan (scheduler and executor were built from the full state).
    {
        let state_ref = ctx.state_ref();
        let mut st = state_ref.write();
        register_with(&mut st, &OutputRoots::new(&cfg.output_roots)?)?;
    }
    Ok(ctx)
}

/// The session configuration of a cluster process (`swath scheduler`, `swath
/// executor`): Ballista's, with Swath's codecs and `swath.*` settings, and this
/// process's store registry and header cache (shared by its tasks and queries).
pub fn cluster_config(
    registry: &Arc<swath_store::Registry>,
    headers: &Arc<crate::cube::read::HeaderCache>,
) -> SessionConfig {
    let engine = EngineConfig {
        mode: Mode::Remote(String::new()),
        ..EngineConfig::default()
    };
    session_config(&engine)
        .with_extension(Arc::clone(registry))
        .with_extension(Arc::clone(headers))
}

/// The runtime of a cluster process: its own stores (credentials from its own
/// environment, never from plans), spill files under `work_dir`.
pub fn cluster_runtime(
    registry: &Arc<swath_store::Registry>,
    work_dir: Option<&std::path::Path>,
) -> Result<Arc<datafusion::execution::runtime_env::RuntimeEnv>> {
    let mut runtime = RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(
        crate::stores::SwathObjectStores(Arc::clone(registry)),
    ));
    if let Some(dir) = work_dir {
        runtime = runtime.with_temp_file_path(dir);
    }
    runtime.build_arc()
}

/// A cluster process's session for `config` (a client's settings over
/// [`cluster_config`]): Swath's functions, table factories and output formats,
/// COPY allowed under `roots` only.
pub fn cluster_state(
    config: SessionConfig,
    runtime: Arc<datafusion::execution::runtime_env::RuntimeEnv>,
    roots: &OutputRoots,
) -> Result<SessionState> {
    let mut state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_physical_optimizer_rule(Arc::new(crate::batches::TileBatches))
        .with_physical_optimizer_rule(Arc::new(crate::output::csv::PortableCsv))
        .build();
    register_with(&mut state, roots)?;
    if let Some(rule) = crate::geoliterals::GeometryLiterals::new(&state) {
        state = SessionStateBuilder::new_from_existing(state)
            .with_physical_optimizer_rule(Arc::new(rule))
            .build();
    }
    Ok(state)
}
