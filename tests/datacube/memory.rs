//! Memory: decode buffers are reserved in DataFusion's pool; over the limit a query
//! fails cleanly; a GROUP BY chunk query's peak stays flat as the area grows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::execution::memory_pool::{
    GreedyMemoryPool, MemoryPool, MemoryReservation, UnboundedMemoryPool,
};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionContext;
use swath_engine::EngineConfig;
use swath_synth::SynthSpec;

use crate::{create, generate, sql, sql_err, tiny};

#[tokio::test]
async fn a_query_over_the_memory_limit_fails_with_resources_exhausted() {
    let cat = tiny();
    let ctx = swath_engine::context(&EngineConfig {
        target_partitions: Some(1),
        memory_limit: Some(16 * 1024),
        ..EngineConfig::default()
    })
    .await
    .expect("context");
    create(
        &ctx,
        "s2",
        &cat.collection,
        "bands 'red,nir', batch_rows '8'",
    )
    .await;
    let err = sql_err(&ctx, "SELECT red, nir FROM s2").await;
    assert!(err.contains("Resources exhausted"), "{err}");
    assert!(err.contains("CubeScanExec"), "{err}");
}

/// A pool that remembers its peak.
#[derive(Debug, Default)]
struct PeakPool {
    inner: UnboundedMemoryPool,
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl std::fmt::Display for PeakPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeakPool")
    }
}

impl MemoryPool for PeakPool {
    fn name(&self) -> &str {
        "PeakPool"
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        let now = self.now.fetch_add(additional, Ordering::SeqCst) + additional;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink);
        self.now.fetch_sub(shrink, Ordering::SeqCst);
    }

    fn try_grow(
        &self,
        reservation: &MemoryReservation,
        additional: usize,
    ) -> datafusion::common::Result<()> {
        self.inner.try_grow(reservation, additional)?;
        let now = self.now.fetch_add(additional, Ordering::SeqCst) + additional;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }
}

async fn peak_for(spec: &SynthSpec) -> (usize, i64) {
    let cat = generate(spec);
    let pool = Arc::new(PeakPool::default());
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::clone(&pool) as Arc<dyn MemoryPool>)
        .build_arc()
        .expect("runtime");
    let state = swath_engine::session_state(&EngineConfig {
        target_partitions: Some(2),
        ..EngineConfig::default()
    })
    .expect("state");
    let state = datafusion::execution::SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(runtime)
        .build();
    let ctx = SessionContext::new_with_state(state);
    create(&ctx, "s2", &cat.collection, "bands 'red,nir'").await;
    let rows = sql(
        &ctx,
        "SELECT chunk_x, chunk_y, count(*) AS n, \
         first_value(red ORDER BY datetime) AS r, last_value(nir ORDER BY datetime) AS v \
         FROM s2 GROUP BY chunk_x, chunk_y",
    )
    .await;
    let chunks: i64 = rows.iter().map(|b| b.num_rows() as i64).sum();
    (pool.peak.load(Ordering::SeqCst), chunks)
}

#[tokio::test]
async fn peak_memory_of_a_chunk_aggregate_stays_flat_as_the_area_grows() {
    let small = SynthSpec::tiny();
    let mut large = SynthSpec::tiny();
    large.size *= 2;
    let (peak1, chunks1) = peak_for(&small).await;
    let (peak4, chunks4) = peak_for(&large).await;
    assert!(
        chunks4 >= chunks1 * 3,
        "area grew: {chunks1} → {chunks4} chunks"
    );
    assert!(peak1 > 0);
    assert!(
        (peak4 as f64) < (peak1 as f64) * 1.5,
        "peak {peak1} B at {chunks1} chunks, {peak4} B at {chunks4} chunks"
    );
    let _ = GreedyMemoryPool::new(1);
}

/// A filter over tile rows passes them on by bytes (about 16 MiB), not after
/// `batch_size` (8192) rows: memory does not grow with the rows of the scan.
#[tokio::test]
async fn a_filter_over_tile_rows_does_not_hold_the_scan() {
    let cat = crate::tiny();
    let ctx = crate::context(1).await;
    // 2048² u16 tiles of two bands: 16 MiB a row, so one row a batch.
    crate::create(
        &ctx,
        "s2",
        &cat.collection,
        "bands 'red,nir', chunk_size '2048', batch_rows '1'",
    )
    .await;
    let q = "SELECT datetime, red FROM s2 WHERE rs_tile_count(nir) >= 0";
    let df = ctx.sql(q).await.expect("plan");
    let plan = df.create_physical_plan().await.expect("physical plan");
    let text = datafusion::physical_plan::displayable(plan.as_ref())
        .indent(true)
        .to_string();
    assert!(text.contains("FilterExec"), "{text}");
    let batches = datafusion::physical_plan::collect(plan, ctx.task_ctx())
        .await
        .expect("run");
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert!(rows > 1, "the table has several observations ({rows})");
    assert_eq!(
        batches.len(),
        rows,
        "one batch per row, not one for all {rows}"
    );
}
