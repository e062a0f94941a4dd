//! `CubeTable`: the `TableProvider` of a datacube table.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arrow::array::Int32Array;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::hash_utils::create_hashes;
use datafusion::common::{Result, plan_err};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::repartition::REPARTITION_RANDOM_STATE;

use super::exec::{ChunkTask, CubeScanExec, ScanSpec, ScanSummary};
use super::model::CubeDef;
use super::pixels::PixelScanExec;
use super::read::{HeaderCache, known_headers, planned_fetch};
use super::{prune, schema};
use crate::options::View;

/// The most (chunk × observation) rows one scan plans; beyond it, the query asks
/// for a `bbox` or a coarser `resolution`.
pub const MAX_SCAN_ROWS: usize = 20_000_000;

/// Headers that opened with no request, by href.
pub type KnownHeaders = std::collections::HashMap<String, Arc<swath_geotiff::GeoTiff>>;

/// How many searches a STAC API table remembers (by search body).
const SEARCHES_KEPT: usize = 16;

/// Recent searches of a STAC API table: the body sent, and the table with the
/// items found.
type Searches = Arc<Mutex<Vec<(String, Arc<CubeDef>)>>>;

/// A datacube table: a resolved catalogue on a grid.
#[derive(Debug, Clone)]
pub struct CubeTable {
    def: Arc<CubeDef>,
    schema: SchemaRef,
    /// A STAC API table's recent searches: the body sent and the scenes found.
    searches: Searches,
}

impl CubeTable {
    /// The table of `def`.
    pub fn new(def: Arc<CubeDef>) -> Self {
        let schema = match def.options.view {
            View::Chunks => schema::chunk_schema(&def),
            View::Pixels => schema::pixel_schema(&def),
        };
        CubeTable {
            def,
            schema,
            searches: Arc::default(),
        }
    }

    /// A STAC API table's scenes for a query: its filters sent to the API's
    /// search (the same search again within the session is answered from memory).
    async fn searched(
        &self,
        state: &dyn Session,
        conjuncts: &[Expr],
    ) -> Result<Arc<CubeDef>> {
        let Some(filter) = prune::search_filter(state, &self.def, conjuncts)? else {
            // The query's filters and the table's exclude each other.
            return Ok(Arc::new(crate::cube::build::populate(
                &self.def,
                Vec::new(),
            )?));
        };
        let key = filter
            .to_search_body(0)
            .map_err(|e| datafusion::common::plan_datafusion_err!("{e}"))?
            .to_string();
        if let Some((_, def)) = self
            .searches
            .lock()
            .map_err(|_| {
                datafusion::common::internal_datafusion_err!("search cache poisoned")
            })?
            .iter()
            .find(|(k, _)| *k == key)
        {
            return Ok(Arc::clone(def));
        }
        let def =
            Arc::new(crate::factory::search_scenes(state, &self.def, filter).await?);
        let mut kept = self.searches.lock().map_err(|_| {
            datafusion::common::internal_datafusion_err!("search cache poisoned")
        })?;
        if kept.len() >= SEARCHES_KEPT {
            kept.remove(0);
        }
        kept.push((key, Arc::clone(&def)));
        Ok(def)
    }

    /// The resolved definition.
    pub fn def(&self) -> &Arc<CubeDef> {
        &self.def
    }
}

#[async_trait]
impl TableProvider for CubeTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Filters prune observations and chunks; the rows are filtered again above.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let partitions = state.config().target_partitions().max(1);
        let conjuncts = prune::conjuncts(filters)?;
        let def = if self.def.searches_at_query_time() {
            self.searched(state, &conjuncts).await?
        } else {
            Arc::clone(&self.def)
        };
        // Files whose headers open with no request: EXPLAIN counts their tiles.
        let known = match state.config().get_extension::<HeaderCache>() {
            Some(cache) => {
                let hrefs: Vec<String> = def
                    .scenes
                    .iter()
                    .flat_map(|s| s.assets.iter().flatten())
                    .map(|a| a.href.clone())
                    .filter(|h| cache.is_known(h))
                    .collect();
                known_headers(state.runtime_env(), &cache, hrefs).await
            }
            None => KnownHeaders::new(),
        };
        match def.options.view {
            View::Chunks => {
                let projection = projection
                    .cloned()
                    .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
                let spec = plan(state, &def, &conjuncts, projection, partitions, &known)?;
                Ok(Arc::new(CubeScanExec::try_new(spec)?))
            }
            View::Pixels => {
                let exec = PixelScanExec::plan(
                    state, &def, &conjuncts, projection, partitions, &known,
                )?;
                Ok(Arc::new(exec))
            }
        }
    }
}

impl CubeTable {
    /// For downcasting from a `dyn TableProvider`.
    pub fn from_provider(p: &dyn TableProvider) -> Option<&CubeTable> {
        (p as &dyn Any).downcast_ref::<CubeTable>()
    }
}

/// Plan the chunk scan: prune observations and chunks, assign chunks to partitions.
pub fn plan(
    state: &dyn Session,
    def: &Arc<CubeDef>,
    conjuncts: &[Expr],
    projection: Vec<usize>,
    partitions: usize,
    known: &KnownHeaders,
) -> Result<ScanSpec> {
    let keep_obs = prune::observations(state, def, conjuncts)?;
    let mut by_chunk: BTreeMap<(i32, i32), Vec<u32>> = BTreeMap::new();
    let mut rows = 0usize;
    for (o, obs) in def.observations.iter().enumerate() {
        if !keep_obs[o] {
            continue;
        }
        let [x0, y0, x1, y1] = def.chunk_range(obs.window);
        for cy in y0..y1 {
            for cx in x0..x1 {
                let w = def.grid.chunk_window(cx, cy);
                // The observation's window touches the chunk only if one of its
                // scenes does.
                let touches = obs.scenes.iter().any(|&s| {
                    let sw = def.scenes[s].window;
                    sw[0] < w.col + w.width as i64
                        && w.col < sw[2]
                        && sw[1] < w.row + w.height as i64
                        && w.row < sw[3]
                });
                if touches {
                    by_chunk.entry((cy, cx)).or_default().push(o as u32);
                    rows += 1;
                }
            }
        }
        if rows > MAX_SCAN_ROWS {
            return plan_err!(
                "the scan would read more than {MAX_SCAN_ROWS} chunk rows; narrow it with \
                 a time or space filter, a table `bbox`, or a coarser `resolution`"
            );
        }
    }
    let positions: Vec<(i32, i32)> = by_chunk.keys().map(|&(cy, cx)| (cx, cy)).collect();
    let mut keep_chunk = prune::chunks(state, def, conjuncts, &positions)?;
    if def.options.view == View::Pixels {
        let px = prune::pixel_chunks(state, def, conjuncts, &positions)?;
        keep_chunk.iter_mut().zip(px).for_each(|(k, p)| *k &= p);
    }

    // Partition by DataFusion's repartitioning hash of (chunk_x, chunk_y).
    let xs = Int32Array::from(positions.iter().map(|p| p.0).collect::<Vec<_>>());
    let ys = Int32Array::from(positions.iter().map(|p| p.1).collect::<Vec<_>>());
    let mut hashes = vec![0u64; positions.len()];
    create_hashes(
        [
            &xs as &dyn arrow::array::Array,
            &ys as &dyn arrow::array::Array,
        ],
        REPARTITION_RANDOM_STATE.random_state(),
        &mut hashes,
    )?;
    let mut parts: Vec<Vec<ChunkTask>> = vec![Vec::new(); partitions];
    let mut summary = ScanSummary {
        items_total: def.scenes.len(),
        observations_total: def.observations.len(),
        ..ScanSummary::default()
    };
    let mut used_obs = vec![false; def.observations.len()];
    let mut used_scenes = vec![false; def.scenes.len()];
    let bands: Vec<usize> = {
        let first_band =
            schema::ITEM_COLUMNS.len() + def.props.len() + schema::CHUNK_COLUMNS.len();
        projection
            .iter()
            .filter_map(|&c| c.checked_sub(first_band))
            .collect()
    };
    let (tres, _) = def.grid.resolution();
    let table_grid = if known.is_empty() {
        None
    } else {
        Some(def.grid.grid()?)
    };
    for (i, ((cy, cx), observations)) in by_chunk.into_iter().enumerate() {
        if !keep_chunk[i] {
            continue;
        }
        summary.chunks += 1;
        summary.rows += observations.len();
        let w = def.grid.chunk_window(cx, cy);
        for &o in &observations {
            used_obs[o as usize] = true;
            for &s in &def.observations[o as usize].scenes {
                let scene = &def.scenes[s];
                let sw = scene.window;
                let touches = sw[0] < w.col + w.width as i64
                    && w.col < sw[2]
                    && sw[1] < w.row + w.height as i64
                    && w.row < sw[3];
                if !touches {
                    continue;
                }
                used_scenes[s] = true;
                for &b in &bands {
                    if let Some(a) = &scene.assets[b] {
                        summary.reads += 1;
                        if let (Some(tiff), Some(g)) = (known.get(&a.href), &table_grid) {
                            summary.reads_known += 1;
                            if let Some(p) =
                                planned_fetch(tiff, a, g, w, def.options.resampling)
                            {
                                summary.tiles += p.blocks;
                                summary.requests += p.requests;
                                summary.fetch_bytes += p.fetched_bytes;
                            }
                        }
                        let sres =
                            a.transform[0].hypot(a.transform[3]).max(f64::MIN_POSITIVE);
                        // Overviews serve coarser grids (about a chunk of pixels);
                        // a coarser source needs fewer.
                        let ratio = if a.grid_from_header {
                            1.0
                        } else {
                            (tres / sres).powi(2).min(1.0)
                        };
                        summary.bytes += (def.grid.chunk_pixels() as f64
                            * ratio
                            * def.bands[b].dtype.size() as f64)
                            as u64;
                    }
                }
            }
        }
        let p = (hashes[i] % partitions as u64) as usize;
        parts[p].push(ChunkTask {
            cx,
            cy,
            observations,
        });
    }
    summary.observations = used_obs.iter().filter(|u| **u).count();
    summary.items = used_scenes.iter().filter(|u| **u).count();
    Ok(ScanSpec {
        def: Arc::clone(def),
        projection,
        partitions: parts,
        summary,
    })
}
