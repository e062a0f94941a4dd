//! Point extraction: which pixel of which chunk holds a point.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array};
use datafusion::common::{DataFusionError, Result, exec_err};

use serde::{Deserialize, Serialize};
use swath_grid::{Crs, Grid, Transformer};

use crate::scalar::Args;

/// Field metadata key of the table grid a band's tiles lie on.
pub const GRID_KEY: &str = "swath:grid";

/// The grid a table's tiles lie on, as the datacube table writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TileGrid {
    /// `EPSG:n` or a PROJ string.
    pub crs: String,
    /// Affine transform, rasterio order.
    pub transform: [f64; 6],
    /// Grid columns.
    pub width: u64,
    /// Grid rows.
    pub height: u64,
    /// Chunk width.
    pub chunk_width: u32,
    /// Chunk height.
    pub chunk_height: u32,
}

impl TileGrid {
    /// The grid in a tile's metadata, if any.
    pub fn from_metadata(md: &HashMap<String, String>) -> Option<TileGrid> {
        serde_json::from_str(md.get(GRID_KEY)?).ok()
    }

    /// The grid as swath-grid's type (its CRS parsed).
    pub fn grid(&self) -> Result<Grid, swath_grid::Error> {
        Ok(Grid {
            crs: Crs::parse(&self.crs)?,
            transform: self.transform,
            width: self.width,
            height: self.height,
        })
    }

    /// The index within chunk `(cx, cy)` of the pixel holding grid coordinates
    /// `(x, y)`, or None when the point is not in that chunk.
    pub fn pixel_in_chunk(
        &self,
        grid: &Grid,
        cx: i64,
        cy: i64,
        x: f64,
        y: f64,
    ) -> Option<usize> {
        let (col, row) = grid.xy_to_pixel(x, y)?;
        if !(col.is_finite() && row.is_finite()) {
            return None;
        }
        let (col, row) = (col.floor() as i64, row.floor() as i64);
        let (w, h) = (i64::from(self.chunk_width), i64::from(self.chunk_height));
        let (lc, lr) = (col - cx * w, row - cy * h);
        if (0..w).contains(&lc) && (0..h).contains(&lr) {
            Some((lr * w + lc) as usize)
        } else {
            None
        }
    }
}

/// Transform lon/lat (degrees) to the grid's CRS.
pub fn lonlat_to_grid(
    grid: &Grid,
    lon: &mut [f64],
    lat: &mut [f64],
) -> Result<(), swath_grid::Error> {
    let t = Transformer::new(&Crs::wgs84(), &grid.crs)?;
    t.transform_points(lon, lat)
}

/// The physical value at a point of each row's tile (`rs_value` with `lonlat`,
/// `rs_value_xy` without): arguments tile, chunk_x, chunk_y, then the point.
pub fn extract(args: &Args, name: &str, lonlat: bool) -> Result<ArrayRef> {
    let (values, meta) = args.physical(0)?;
    let Some(tg) = TileGrid::from_metadata(&meta.extra) else {
        return exec_err!(
            "{name}: the tile carries no grid (swath:grid metadata); pass a band column of a datacube table"
        );
    };
    let grid = tg
        .grid()
        .map_err(|e| DataFusionError::Execution(format!("{name}: {e}")))?;
    let (cx, cy, a, b) = (
        args.number(1)?,
        args.number(2)?,
        args.number(3)?,
        args.number(4)?,
    );
    let rows = args.rows;
    let mut xs: Vec<f64> = (0..rows).map(|r| a.at(r)).collect();
    let mut ys: Vec<f64> = (0..rows).map(|r| b.at(r)).collect();
    if lonlat {
        lonlat_to_grid(&grid, &mut xs, &mut ys)
            .map_err(|e| DataFusionError::Execution(format!("{name}: {e}")))?;
    }
    let (list, _) = args.tile(0)?;
    let len = meta.len();
    let out: Float64Array = (0..rows)
        .map(|r| {
            if list.is_null(r) || !(cx.at(r).is_finite() && cy.at(r).is_finite()) {
                return None;
            }
            let p =
                tg.pixel_in_chunk(&grid, cx.at(r) as i64, cy.at(r) as i64, xs[r], ys[r])?;
            let v = values[r * len + p];
            (!v.is_nan()).then_some(f64::from(v))
        })
        .collect();
    Ok(Arc::new(out))
}
