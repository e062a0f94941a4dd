//! Asset grids the catalogue does not give: read from the COG header once, then
//! cached by href.

use std::collections::HashMap;
use std::sync::Mutex;

use url::Url;

use crate::error::{Error, Result};
use crate::item::{BandSource, Crs, Grid};
use crate::stores::Stores;

/// The grid of each asset whose item has no `proj:*` fields, read from the COG
/// header (one small range request) the first time it is asked for.
#[derive(Debug, Default)]
pub struct GridCache {
    grids: Mutex<HashMap<Url, Grid>>,
}

impl GridCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many headers have been read.
    pub fn len(&self) -> usize {
        self.grids.lock().map_or(0, |g| g.len())
    }

    /// Whether no header has been read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The grid of a band: from `proj:*` when the catalogue gives it, else from the
    /// asset's GeoTIFF header (cached).
    pub async fn grid(&self, source: &BandSource, stores: &Stores) -> Result<Grid> {
        if let Some(grid) = &source.grid {
            return Ok(grid.clone());
        }
        if let Some(grid) = self
            .grids
            .lock()
            .ok()
            .and_then(|g| g.get(&source.href).cloned())
        {
            return Ok(grid);
        }
        let (store, path) = stores.resolve(&source.href)?;
        let location = source.href.to_string();
        let tiff =
            swath_geotiff::open(store, path)
                .await
                .map_err(|e| Error::GeoTiff {
                    location: location.clone(),
                    source: e,
                })?;
        let georef = tiff.georeference();
        let crs = georef.epsg.map(Crs::Epsg).ok_or_else(|| {
            Error::field(
                &location,
                "(GeoTIFF header)",
                "no EPSG code in the GeoKeys and no proj:code in the catalogue",
            )
        })?;
        let transform = georef.transform.ok_or_else(|| {
            Error::field(
                &location,
                "(GeoTIFF header)",
                "no geotransform in the file and no proj:transform in the catalogue",
            )
        })?;
        let grid = Grid {
            crs,
            transform,
            shape: [tiff.height(), tiff.width()],
        };
        if let Ok(mut grids) = self.grids.lock() {
            grids.insert(source.href.clone(), grid.clone());
        }
        Ok(grid)
    }
}
