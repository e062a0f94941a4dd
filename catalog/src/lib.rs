//! STAC catalogues to the observations a datacube table is built from.
//!
//! Swath reads catalogues from local paths and any object store URL:
//! static catalogues and collections (links followed recursively, concurrently),
//! ItemCollections, single items, directories and globs of item files,
//! stac-geoparquet files (filters pushed into the Parquet scan), and STAC APIs
//! (`POST /search` with paging and retries). Every source answers the same
//! [`Filter`] with the same [`Item`]s: time, lon/lat bbox or geometry, collection,
//! and property predicates, without reading a pixel. An item then resolves the
//! bands a query names (`red`, `B04`, `scl`) to an asset href, its grid from
//! `proj:*` (or the COG header, read once, see [`GridCache`]), nodata and
//! scale/offset; [`Item::solar_day`] gives the date used to fuse duplicates.
//!
//! Documents are read field by field ([`Item::from_json`], no STAC object model
//! crate) so that a wrong field is reported by its path, the raster extension's
//! string nodata values are accepted, and older STAC (0.9, 1.0.0 betas: index-style
//! `eo:bands`, `proj:epsg`) reads too.
//!
//! How to add a new source: write a module that turns the location into items
//! through [`Stores`] (STAC APIs use their own HTTP client, `api.rs`, for `POST
//! /search`; files never a direct read), apply the [`Filter`] as
//! early as the format allows, call [`Item::from_json`] for each item, and add a
//! [`SourceKind`] with its detection rule in `load.rs`.
#![warn(missing_docs)]

mod api;
mod error;
mod filter;
mod geoparquet;
mod grid;
mod item;
mod json;
mod load;
mod stores;
mod walk;

pub use api::{ApiOptions, collection_bbox};
pub use error::{Error, Result, Warning};
pub use filter::{Filter, Op, Predicate, TimeRange};
pub use grid::GridCache;
pub use item::{
    Asset, Band, BandSource, Bbox, Crs, Grid, Item, Projection, column_name, solar_day,
};
pub use load::{Limits, LoadOptions, LoadStats, Loaded, OnError, SourceKind, load};
pub use stores::{Resolver, Stores, location_url, store_key};
