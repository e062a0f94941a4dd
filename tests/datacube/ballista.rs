//! Distribution: the table and its scans survive the codecs, and the canonical
//! queries give the same results on a Ballista cluster (scheduler and executor in
//! this process, over loopback gRPC) as embedded.

use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::datasource::TableProvider;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{
    DefaultPhysicalProtoConverter, PhysicalExtensionCodec,
};
use swath_engine::cube::{CubeScanExec, CubeTable};
use swath_engine::{EngineConfig, Mode, SwathLogicalCodec, SwathPhysicalCodec};

use crate::table::find_scan;
use crate::{context, create, def, sql, tiny};

#[tokio::test]
async fn table_and_scan_round_trip_through_the_codecs() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir'").await;
    let provider = ctx.table_provider("s2").await.expect("table");
    let codec = SwathLogicalCodec::default();
    let mut buf = Vec::new();
    codec
        .try_encode_table_provider(&"s2".into(), Arc::clone(&provider), &mut buf)
        .expect("encode table");
    let decoded = codec
        .try_decode_table_provider(&buf, &"s2".into(), provider.schema(), &ctx.task_ctx())
        .expect("decode table");
    let decoded = CubeTable::from_provider(decoded.as_ref()).expect("a cube table");
    assert_eq!(decoded.def(), &def(&ctx, "s2").await);
    assert_eq!(decoded.schema(), provider.schema());

    let plan = ctx
        .sql("SELECT chunk_x, chunk_y, red FROM s2 WHERE cloud_cover < 50")
        .await
        .expect("plan")
        .create_physical_plan()
        .await
        .expect("physical");
    let scan = find_scan(&plan).expect("scan");
    let codec = SwathPhysicalCodec::default();
    let mut buf = Vec::new();
    let node: Arc<dyn ExecutionPlan> =
        Arc::new(CubeScanExec::try_new(scan.spec().clone()).expect("scan"));
    codec
        .try_encode(
            Arc::clone(&node),
            &mut buf,
            &DefaultPhysicalProtoConverter {},
        )
        .expect("encode scan");
    let back = codec
        .try_decode(
            &buf,
            &[],
            &ctx.task_ctx(),
            &DefaultPhysicalProtoConverter {},
        )
        .expect("decode scan");
    let back_scan = find_scan(&back).expect("scan");
    assert_eq!(back_scan.spec(), scan.spec());
    // Partition by partition: same rows in the same order.
    let a = datafusion::physical_plan::collect_partitioned(node, ctx.task_ctx())
        .await
        .expect("run");
    let b = datafusion::physical_plan::collect_partitioned(back, ctx.task_ctx())
        .await
        .expect("run");
    assert_eq!(a, b);
}

fn canonical(location: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{location}' \
             OPTIONS (bands 'red,nir,scl')"
        ),
        format!(
            "CREATE EXTERNAL TABLE px STORED AS STAC LOCATION '{location}' \
             OPTIONS (bands 'red,nir,scl', view 'pixels')"
        ),
    ]
}

const QUERIES: &[&str] = &[
    "SELECT count(*) FROM s2",
    "SELECT item_id, datetime, item_count, cloud_cover FROM s2 \
     GROUP BY item_id, datetime, item_count, cloud_cover ORDER BY datetime",
    "SELECT chunk_x, chunk_y, count(*) AS n, min(datetime) AS first \
     FROM s2 GROUP BY chunk_x, chunk_y ORDER BY chunk_y, chunk_x",
    "SELECT datetime, count(*) AS n, avg(((nir * 1e-4 - 0.1) - (red * 1e-4 - 0.1)) \
       / ((nir * 1e-4 - 0.1) + (red * 1e-4 - 0.1))) AS ndvi \
     FROM px WHERE scl NOT IN (0, 3, 8, 9, 10) GROUP BY datetime ORDER BY datetime",
    "SELECT chunk_x, chunk_y, red FROM s2 WHERE chunk_x = 0 AND chunk_y = 0 \
     ORDER BY datetime",
    // the rs_* functions: scalar, operators, aggregates (workloads 1 to 4)
    "SELECT datetime, sum(rs_tile_sum(v)) / sum(rs_tile_count(v)) AS ndvi \
     FROM (SELECT datetime, rs_mask(rs_ndvi(nir, red), rs_class_mask(scl, 0, 3, 8, 9, 10)) AS v \
     FROM s2) GROUP BY datetime ORDER BY datetime",
    "SELECT datetime, chunk_x, chunk_y, (nir - red) / (nir + red) AS ndvi FROM s2 \
     ORDER BY datetime, chunk_y, chunk_x",
    "SELECT chunk_x, chunk_y, rs_median(rs_mask(red, rs_class_mask(scl, 0, 3, 8, 9, 10))) AS red, \
     rs_mean(red) AS mean, rs_std(red) AS std, rs_first(red) AS first \
     FROM s2 GROUP BY chunk_x, chunk_y ORDER BY chunk_y, chunk_x",
    "SELECT chunk_x, chunk_y, rs_geomedian_mads(red, nir) AS g \
     FROM s2 GROUP BY chunk_x, chunk_y ORDER BY chunk_y, chunk_x",
];

async fn run_all(
    ctx: &datafusion::prelude::SessionContext,
    location: &str,
) -> Vec<Vec<RecordBatch>> {
    for q in canonical(location) {
        sql(ctx, &q).await;
    }
    let mut out = Vec::new();
    for q in QUERIES {
        let batches = sql(ctx, q).await;
        // Compare content, not batch boundaries.
        let schema = batches.first().map(|b| b.schema());
        out.push(match schema {
            Some(s) => {
                vec![arrow::compute::concat_batches(&s, &batches).expect("concat")]
            }
            None => vec![],
        });
    }
    out
}

#[tokio::test]
async fn canonical_queries_give_the_same_results_on_ballista_standalone() {
    let cat = tiny();
    let location = cat.collection.display().to_string();
    let embedded = context(2).await;
    let want = run_all(&embedded, &location).await;
    let cluster = swath_engine::context(&EngineConfig {
        target_partitions: Some(2),
        mode: Mode::Standalone,
        ..EngineConfig::default()
    })
    .await
    .expect("standalone cluster");
    let got = run_all(&cluster, &location).await;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        for (gb, wb) in g.iter().zip(w) {
            assert_eq!(gb.schema(), wb.schema(), "query {}", QUERIES[i]);
            for (c, f) in wb.schema().fields().iter().enumerate() {
                assert!(
                    gb.column(c) == wb.column(c),
                    "query {}: column {} differs",
                    QUERIES[i],
                    f.name()
                );
            }
        }
        assert_eq!(g.len(), w.len(), "query {}", QUERIES[i]);
    }
    // The plan really ran distributed. (Not `count(*)`: the static planner
    // answers it from the scan's exact statistics, without a scan.)
    let rows = sql(
        &cluster,
        "EXPLAIN SELECT count(*) FROM s2 WHERE chunk_x >= 0",
    )
    .await;
    let text = arrow::util::pretty::pretty_format_batches(&rows)
        .expect("fmt")
        .to_string();
    assert!(
        text.contains("distributed_plan") && text.contains("CubeScanExec"),
        "{text}"
    );
}
