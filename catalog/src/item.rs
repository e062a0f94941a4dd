//! A STAC item as the engine needs it: when, where, which assets, on which grid.
//!
//! Items are read from the JSON (a file, an ItemCollection feature, an API page, a
//! stac-geoparquet row rebuilt as JSON) by [`Item::from_json`], which checks the
//! fields the engine relies on and names the field when one is wrong.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde_json::{Map, Value};
use url::Url;

use crate::error::{Error, Result};
use crate::json::{Obj, kind};

/// A lon/lat bounding box (WGS84 degrees). `west > east` crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    /// Minimum longitude.
    pub west: f64,
    /// Minimum latitude.
    pub south: f64,
    /// Maximum longitude.
    pub east: f64,
    /// Maximum latitude.
    pub north: f64,
}

impl Bbox {
    /// A bbox from `[west, south, east, north]` (or the 6-value 3D form), checked.
    pub fn from_slice(values: &[f64]) -> std::result::Result<Bbox, String> {
        let [west, south, east, north] = match values {
            [w, s, e, n] | [w, s, _, e, n, _] => [*w, *s, *e, *n],
            _ => return Err(format!("expected 4 or 6 numbers, found {}", values.len())),
        };
        let bbox = Bbox {
            west,
            south,
            east,
            north,
        };
        if !values.iter().all(|v| v.is_finite()) {
            return Err("non-finite coordinate".into());
        }
        if south > north {
            return Err(format!("south {south} is north of north {north}"));
        }
        if !(-90.0..=90.0).contains(&south) || !(-90.0..=90.0).contains(&north) {
            return Err("latitude outside [-90, 90]".into());
        }
        if !(-180.0..=180.0).contains(&west) || !(-180.0..=180.0).contains(&east) {
            return Err("longitude outside [-180, 180]".into());
        }
        Ok(bbox)
    }

    /// The longitude ranges the box covers (two when it crosses the antimeridian).
    fn lon_ranges(&self) -> [(f64, f64); 2] {
        if self.west <= self.east {
            [(self.west, self.east), (f64::NAN, f64::NAN)]
        } else {
            [(self.west, 180.0), (-180.0, self.east)]
        }
    }

    /// Whether two boxes share at least a point (edges included).
    pub fn intersects(&self, other: &Bbox) -> bool {
        if self.south > other.north || other.south > self.north {
            return false;
        }
        self.lon_ranges().iter().any(|&(a0, a1)| {
            other
                .lon_ranges()
                .iter()
                .any(|&(b0, b1)| a0 <= b1 && b0 <= a1)
        })
    }

    /// The centre longitude (antimeridian-aware), in [-180, 180).
    pub fn center_lon(&self) -> f64 {
        let east = if self.west > self.east {
            self.east + 360.0
        } else {
            self.east
        };
        let c = (self.west + east) / 2.0;
        if c >= 180.0 { c - 360.0 } else { c }
    }
}

/// A coordinate reference system as STAC's projection extension gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Crs {
    /// An EPSG code (`proj:epsg`, or `proj:code` `EPSG:n`).
    Epsg(u32),
    /// Another authority code (`proj:code`, e.g. `IAU_2015:30100`).
    Code(String),
    /// A WKT2 string (`proj:wkt2`).
    Wkt2(String),
    /// A PROJJSON object (`proj:projjson`), as JSON text.
    ProjJson(String),
}

impl Crs {
    /// The EPSG code, if the CRS is one.
    pub fn epsg(&self) -> Option<u32> {
        match self {
            Crs::Epsg(code) => Some(*code),
            _ => None,
        }
    }
}

impl std::fmt::Display for Crs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Crs::Epsg(code) => write!(f, "EPSG:{code}"),
            Crs::Code(code) => f.write_str(code),
            Crs::Wkt2(_) => f.write_str("(WKT2)"),
            Crs::ProjJson(_) => f.write_str("(PROJJSON)"),
        }
    }
}

/// The raster grid of an asset: CRS, affine transform and shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// The CRS of the pixel coordinates.
    pub crs: Crs,
    /// The affine transform `[a, b, c, d, e, f]` (rasterio order: x = a·col + b·row + c,
    /// y = d·col + e·row + f).
    pub transform: [f64; 6],
    /// `[height, width]` in pixels (STAC's `proj:shape` order).
    pub shape: [u64; 2],
}

impl Grid {
    /// The pixel size `(x, y)` in CRS units (absolute values).
    pub fn resolution(&self) -> (f64, f64) {
        let [a, b, _, d, e, _] = self.transform;
        (a.hypot(d), b.hypot(e))
    }
}

/// What the projection extension says about an asset (asset fields override the
/// item's properties).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    /// `proj:code` / `proj:epsg` / `proj:wkt2` / `proj:projjson`.
    pub crs: Option<Crs>,
    /// `proj:transform` (the first 6 of 9 values when 9 are given).
    pub transform: Option<[f64; 6]>,
    /// `proj:shape` as `[height, width]`.
    pub shape: Option<[u64; 2]>,
    /// `proj:bbox` in the asset's CRS.
    pub bbox: Option<[f64; 4]>,
}

impl Projection {
    /// The grid, when CRS, shape and a transform (or a `proj:bbox` to derive it
    /// from) are all known.
    pub fn grid(&self) -> Option<Grid> {
        let crs = self.crs.clone()?;
        let shape = self.shape?;
        let transform = match (self.transform, self.bbox) {
            (Some(t), _) => t,
            (None, Some([xmin, ymin, xmax, ymax])) if shape[0] > 0 && shape[1] > 0 => [
                (xmax - xmin) / shape[1] as f64,
                0.0,
                xmin,
                0.0,
                -(ymax - ymin) / shape[0] as f64,
                ymax,
            ],
            _ => return None,
        };
        Some(Grid {
            crs,
            transform,
            shape,
        })
    }
}

/// One band of an asset (from `eo:bands` + `raster:bands`, or STAC 1.1 `bands`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Band {
    /// The band's name (`B04`).
    pub name: Option<String>,
    /// The common name (`red`, `nir`, `swir16`).
    pub common_name: Option<String>,
    /// The nodata value (may be NaN).
    pub nodata: Option<f64>,
    /// The data type (`uint16`, `float32`, …).
    pub data_type: Option<String>,
    /// Multiply DN by this to get physical values.
    pub scale: Option<f64>,
    /// Add this after scaling.
    pub offset: Option<f64>,
    /// The unit of the physical values.
    pub unit: Option<String>,
}

/// An asset of an item.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// The asset key (`B04`, `red`, `SCL`).
    pub key: String,
    /// The href, resolved to an absolute URL.
    pub href: Url,
    /// The media type.
    pub media_type: Option<String>,
    /// The roles (`data`, `overview`, `thumbnail`, …).
    pub roles: Vec<String>,
    /// The bands, in file order; empty when the catalogue describes none.
    pub bands: Vec<Band>,
    /// The projection fields (asset over item).
    pub projection: Projection,
}

impl Asset {
    /// Whether the asset is raster data one can read pixels from: a GeoTIFF (or
    /// unknown type) that is not a thumbnail/overview/metadata.
    pub fn is_raster_data(&self) -> bool {
        let type_ok = match &self.media_type {
            None => true,
            Some(t) => {
                let t = t.to_ascii_lowercase();
                t.starts_with("image/tiff") || t.starts_with("image/vnd.stac.geotiff")
            }
        };
        let roles_ok = !self.roles.iter().any(|r| {
            matches!(r.as_str(), "thumbnail" | "overview" | "metadata" | "visual")
        });
        type_ok && roles_ok
    }

    /// Whether the media type says Cloud-Optimized GeoTIFF.
    fn is_cog(&self) -> bool {
        self.media_type
            .as_deref()
            .is_some_and(|t| t.contains("cloud-optimized"))
    }
}

/// A STAC item: the fields the engine uses, checked, and all properties kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The item id.
    pub id: String,
    /// The collection id.
    pub collection: Option<String>,
    /// The STAC version it declares.
    pub stac_version: String,
    /// The nominal time (`datetime`, else `start_datetime`).
    pub datetime: DateTime<Utc>,
    /// The start of the time range (= `datetime` for an instant).
    pub start_datetime: DateTime<Utc>,
    /// The end of the time range (= `datetime` for an instant).
    pub end_datetime: DateTime<Utc>,
    /// The lon/lat bbox (`None` for an item without geometry).
    pub bbox: Option<Bbox>,
    /// The footprint (lon/lat), if the item has a geometry.
    pub geometry: Option<geo_types::Geometry<f64>>,
    /// All properties, as published (`eo:cloud_cover`, `platform`, `s2:*`, …).
    pub properties: Map<String, Value>,
    /// The assets, in document order.
    pub assets: Vec<Asset>,
    /// Where the item was read from (file URL, `url#features[3]`, `file.parquet#row=7`).
    pub location: String,
}

/// A band of an item resolved for reading: the asset, the band in it, and all the
/// engine needs to decode and place it.
#[derive(Debug, Clone, PartialEq)]
pub struct BandSource {
    /// The stable name of the band (the column name): the request in snake_case.
    pub name: String,
    /// The asset key it resolved to.
    pub asset_key: String,
    /// The asset's URL.
    pub href: Url,
    /// The band's index in the asset (0-based).
    pub band_index: usize,
    /// The grid from `proj:*`, when the catalogue gives it (else read the header).
    pub grid: Option<Grid>,
    /// Band metadata (nodata, type, scale, offset, names).
    pub band: Band,
}

impl Item {
    /// Read an item from its JSON. `base` resolves relative hrefs (the document's
    /// URL; else the item's `self` link); `location` names it in errors.
    pub fn from_json(value: &Value, base: Option<&Url>, location: &str) -> Result<Item> {
        let obj = Obj::root(value, location)?;
        let item_type = obj.string("type")?;
        if item_type != "Feature" {
            return Err(
                obj.error("type", format!("expected \"Feature\", found {item_type:?}"))
            );
        }
        let stac_version = check_version(&obj)?.to_string();
        let id = obj.string("id")?;
        if id.is_empty() {
            return Err(obj.error("id", "must not be empty"));
        }
        let collection = obj.opt_string("collection")?.map(str::to_string);
        let properties = obj.object("properties")?;
        let props = Obj {
            map: properties,
            location,
            path: "properties",
        };
        let (datetime, start_datetime, end_datetime) = read_times(&props)?;

        let geometry = match obj.map.get("geometry") {
            None => return Err(obj.error("geometry", "required field is missing")),
            Some(Value::Null) => None,
            Some(g) => Some(read_geometry(g).map_err(|m| obj.error("geometry", m))?),
        };
        let bbox = match obj.opt_numbers("bbox")? {
            Some(values) => {
                Some(Bbox::from_slice(&values).map_err(|m| obj.error("bbox", m))?)
            }
            None => geometry.as_ref().and_then(bbox_of),
        };

        let self_href = self_link(&obj);
        let base = base.or(self_href.as_ref());
        let item_projection = read_projection(&props)?;
        // STAC 0.9 / 1.0.0-beta: the bands are listed once in the properties and
        // assets name them by index (`"eo:bands": [3]`).
        let item_bands: Vec<Band> = props
            .opt_objects("eo:bands")
            .unwrap_or_default()
            .iter()
            .map(|(path, map)| {
                read_band(
                    &Obj {
                        map,
                        location,
                        path,
                    },
                    &Band::default(),
                )
            })
            .collect::<Result<_>>()?;
        let assets_map = obj.object("assets")?;
        let assets_path = obj.path_of("assets");
        let mut assets = Vec::with_capacity(assets_map.len());
        for (key, value) in assets_map {
            let path = format!("{assets_path}.{key}");
            let asset = match value {
                Value::Object(map) => Obj {
                    map,
                    location,
                    path: &path,
                },
                other => {
                    return Err(Error::field(
                        location,
                        path,
                        format!("expected an object, found {}", kind(other)),
                    ));
                }
            };
            assets.push(read_asset(
                key,
                &asset,
                base,
                &item_projection,
                &item_bands,
            )?);
        }

        Ok(Item {
            id: id.to_string(),
            collection,
            stac_version,
            datetime,
            start_datetime,
            end_datetime,
            bbox,
            geometry,
            properties: properties.clone(),
            assets,
            location: location.to_string(),
        })
    }

    /// The solar day: the local calendar date at the item's centre longitude
    /// (UTC time + longitude / 15 hours). Items without a bbox use the UTC date.
    pub fn solar_day(&self) -> NaiveDate {
        solar_day(self.datetime, self.bbox.map(|b| b.center_lon()))
    }

    /// A property, `None` when absent or null. `id`, `collection` and `datetime`
    /// answer from the item's own fields.
    pub fn property(&self, name: &str) -> Option<Value> {
        match name {
            "id" => Some(Value::String(self.id.clone())),
            "collection" => self.collection.clone().map(Value::String),
            _ => self.properties.get(name).filter(|v| !v.is_null()).cloned(),
        }
    }

    /// The asset with this key.
    pub fn asset(&self, key: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.key == key)
    }

    /// Resolve a band the user names — by asset key (`B04`, `SCL`, `red`), by common
    /// name (`red`, `nir`), or by band name (`B04`), all case-insensitively — to the
    /// asset and band to read.
    ///
    /// Order: an asset key match wins; then single-band raster data assets whose
    /// band has that common name or name, preferring COGs over other formats; then
    /// a band of a multi-band data asset.
    pub fn band(&self, requested: &str) -> Result<BandSource> {
        let name = column_name(requested);
        let wanted = requested.trim();
        let source = |asset: &Asset, index: usize| BandSource {
            name: name.clone(),
            asset_key: asset.key.clone(),
            href: asset.href.clone(),
            band_index: index,
            grid: asset.projection.grid(),
            band: asset.bands.get(index).cloned().unwrap_or_default(),
        };
        if let Some(asset) = self
            .assets
            .iter()
            .find(|a| a.key.eq_ignore_ascii_case(wanted))
        {
            return Ok(source(asset, 0));
        }
        let band_matches = |b: &Band| {
            b.common_name
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(wanted))
                || b.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
        };
        let mut best: Option<(u8, &Asset, usize)> = None;
        for asset in self.assets.iter().filter(|a| a.is_raster_data()) {
            for (index, band) in asset.bands.iter().enumerate() {
                if !band_matches(band) {
                    continue;
                }
                let rank =
                    u8::from(asset.bands.len() > 1) * 2 + u8::from(!asset.is_cog());
                if best.is_none_or(|(r, _, _)| rank < r) {
                    best = Some((rank, asset, index));
                }
            }
        }
        match best {
            Some((_, asset, index)) => Ok(source(asset, index)),
            None => Err(Error::Band {
                item: self.id.clone(),
                band: requested.to_string(),
                available: self.describe_assets(),
            }),
        }
    }

    /// The asset keys with their common names, for messages (`B04 (red), SCL`).
    pub fn describe_assets(&self) -> String {
        let names: Vec<String> = self
            .assets
            .iter()
            .filter(|a| a.is_raster_data() || a.roles.iter().any(|r| r == "data"))
            .map(|a| {
                let unreadable = if a.is_raster_data() {
                    ""
                } else {
                    " [not a GeoTIFF]"
                };
                let common: Vec<&str> = a
                    .bands
                    .iter()
                    .filter_map(|b| b.common_name.as_deref())
                    .collect();
                if common.is_empty() {
                    format!("{}{unreadable}", a.key)
                } else {
                    format!("{} ({}){unreadable}", a.key, common.join(", "))
                }
            })
            .collect();
        if names.is_empty() {
            "none that hold raster data".to_string()
        } else {
            names.join(", ")
        }
    }
}

/// The stable column name of a requested band: lower case, with anything but
/// letters, digits and `_` turned into `_` (`B04` → `b04`, `nir08` → `nir08`).
pub fn column_name(requested: &str) -> String {
    requested
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The solar day of an acquisition at `datetime` and longitude `lon` (degrees):
/// the date of UTC time + lon / 15 hours.
pub fn solar_day(datetime: DateTime<Utc>, lon: Option<f64>) -> NaiveDate {
    let seconds = lon.map_or(0.0, |lon| lon / 15.0 * 3600.0).round() as i64;
    (datetime + TimeDelta::seconds(seconds)).date_naive()
}

fn check_version<'a>(obj: &Obj<'a>) -> Result<&'a str> {
    let version = obj.string("stac_version")?;
    // 0.9 and the 1.0.0 betas and release candidates are still served by public
    // catalogues; their items read the same way.
    let known = ["0.9.0", "1.0.0", "1.1.0"].iter().any(|v| {
        version == *v
            || version
                .strip_prefix(v)
                .is_some_and(|rest| rest.starts_with('-'))
    });
    if known {
        Ok(version)
    } else {
        Err(Error::Version {
            location: obj.location.to_string(),
            version: version.to_string(),
        })
    }
}

/// Check the `stac_version` of a catalogue or collection document.
pub(crate) fn check_document_version(obj: &Obj<'_>) -> Result<()> {
    check_version(obj).map(|_| ())
}

fn parse_time(props: &Obj<'_>, key: &str) -> Result<Option<DateTime<Utc>>> {
    match props.opt_string(key)? {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| {
                props.error(key, format!("{s:?} is not an RFC 3339 date-time ({e})"))
            }),
    }
}

fn read_times(props: &Obj<'_>) -> Result<(DateTime<Utc>, DateTime<Utc>, DateTime<Utc>)> {
    let datetime = parse_time(props, "datetime")?;
    let start = parse_time(props, "start_datetime")?;
    let end = parse_time(props, "end_datetime")?;
    match (datetime, start, end) {
        (Some(t), s, e) => {
            let (s, e) = (s.unwrap_or(t), e.unwrap_or(t));
            if s > e {
                return Err(props.error("start_datetime", "is after end_datetime"));
            }
            Ok((t, s, e))
        }
        (None, Some(s), Some(e)) if s <= e => Ok((s, s, e)),
        (None, Some(_), Some(_)) => {
            Err(props.error("start_datetime", "is after end_datetime"))
        }
        (None, _, _) => Err(props.error(
            "datetime",
            "required field is missing (null needs start_datetime and end_datetime)",
        )),
    }
}

fn read_geometry(value: &Value) -> std::result::Result<geo_types::Geometry<f64>, String> {
    let geometry: geojson::Geometry = serde_json::from_value(value.clone())
        .map_err(|e| format!("not a GeoJSON geometry ({e})"))?;
    geo_types::Geometry::<f64>::try_from(geometry).map_err(|e| e.to_string())
}

fn bbox_of(geometry: &geo_types::Geometry<f64>) -> Option<Bbox> {
    use geo::BoundingRect;
    let rect = geometry.bounding_rect()?;
    Bbox::from_slice(&[rect.min().x, rect.min().y, rect.max().x, rect.max().y]).ok()
}

fn self_link(obj: &Obj<'_>) -> Option<Url> {
    let links = obj.get("links")?.as_array()?;
    links.iter().find_map(|link| {
        let link = link.as_object()?;
        (link.get("rel")?.as_str()? == "self")
            .then(|| Url::parse(link.get("href")?.as_str()?).ok())
            .flatten()
    })
}

/// Resolve an href against `base` (absolute hrefs stand alone).
pub(crate) fn resolve_href(
    href: &str,
    base: Option<&Url>,
) -> std::result::Result<Url, String> {
    match Url::parse(href) {
        Ok(url) => Ok(url),
        Err(url::ParseError::RelativeUrlWithoutBase) => match base {
            Some(base) => base
                .join(href)
                .map_err(|e| format!("cannot resolve {href:?} against {base}: {e}")),
            None => Err(format!(
                "relative href {href:?} and no base URL to resolve it against"
            )),
        },
        Err(e) => Err(format!("{href:?} is not a valid URL ({e})")),
    }
}

fn read_projection(obj: &Obj<'_>) -> Result<Projection> {
    let crs = if let Some(code) = obj.opt_string("proj:code")? {
        Some(parse_code(code).ok_or_else(|| {
            obj.error("proj:code", format!("{code:?} is not AUTHORITY:CODE"))
        })?)
    } else if let Some(epsg) = obj.get("proj:epsg") {
        let code = epsg
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| {
                obj.error("proj:epsg", format!("expected an EPSG code, found {epsg}"))
            })?;
        Some(Crs::Epsg(code))
    } else if let Some(wkt) = obj.opt_string("proj:wkt2")? {
        Some(Crs::Wkt2(wkt.to_string()))
    } else {
        obj.opt_object("proj:projjson")?
            .map(|p| Crs::ProjJson(Value::Object(p.clone()).to_string()))
    };
    let transform = match obj.opt_numbers("proj:transform")? {
        None => None,
        Some(v) if v.len() == 6 || (v.len() == 9 && v[6..] == [0.0, 0.0, 1.0]) => {
            Some([v[0], v[1], v[2], v[3], v[4], v[5]])
        }
        Some(v) => {
            return Err(obj.error(
                "proj:transform",
                format!(
                    "expected 6 numbers (or 9 ending 0, 0, 1), found {}",
                    v.len()
                ),
            ));
        }
    };
    let shape = match obj.opt_numbers("proj:shape")? {
        None => None,
        Some(v) => match v[..] {
            [h, w] if h >= 0.0 && w >= 0.0 && h.fract() == 0.0 && w.fract() == 0.0 => {
                Some([h as u64, w as u64])
            }
            _ => {
                return Err(obj.error(
                    "proj:shape",
                    "expected [height, width] as two non-negative integers",
                ));
            }
        },
    };
    let bbox = match obj.opt_numbers("proj:bbox")? {
        None => None,
        Some(v) => match v[..] {
            [a, b, c, d] | [a, b, _, c, d, _] => Some([a, b, c, d]),
            _ => return Err(obj.error("proj:bbox", "expected 4 or 6 numbers")),
        },
    };
    Ok(Projection {
        crs,
        transform,
        shape,
        bbox,
    })
}

fn parse_code(code: &str) -> Option<Crs> {
    let (authority, value) = code.split_once(':')?;
    if authority.eq_ignore_ascii_case("EPSG") {
        return value.trim().parse().ok().map(Crs::Epsg);
    }
    (!authority.is_empty() && !value.is_empty()).then(|| Crs::Code(code.to_string()))
}

fn read_band(obj: &Obj<'_>, defaults: &Band) -> Result<Band> {
    let string = |key: &str| -> Result<Option<String>> {
        Ok(obj.opt_string(key)?.map(str::to_string))
    };
    Ok(Band {
        name: string("name")?.or_else(|| defaults.name.clone()),
        common_name: string("eo:common_name")?
            .or(string("common_name")?)
            .or_else(|| defaults.common_name.clone()),
        nodata: obj.opt_nodata("nodata")?.or(defaults.nodata),
        data_type: string("data_type")?.or_else(|| defaults.data_type.clone()),
        scale: obj
            .opt_f64("raster:scale")?
            .or(obj.opt_f64("scale")?)
            .or(defaults.scale),
        offset: obj
            .opt_f64("raster:offset")?
            .or(obj.opt_f64("offset")?)
            .or(defaults.offset),
        unit: string("unit")?.or_else(|| defaults.unit.clone()),
    })
}

fn read_bands(asset: &Obj<'_>, item_bands: &[Band]) -> Result<Vec<Band>> {
    // Index-style `eo:bands` (STAC 0.9 / 1.0.0-beta): indices into the item's list.
    if let Some(Value::Array(values)) = asset.get("eo:bands")
        && !values.is_empty()
        && values.iter().all(Value::is_u64)
    {
        return values
            .iter()
            .map(|v| {
                let i = v.as_u64().unwrap_or(u64::MAX);
                usize::try_from(i)
                    .ok()
                    .and_then(|i| item_bands.get(i))
                    .cloned()
                    .ok_or_else(|| {
                        asset.error(
                            "eo:bands",
                            format!(
                                "band index {i} is not in the item's properties.eo:bands ({} bands)",
                                item_bands.len()
                            ),
                        )
                    })
            })
            .collect();
    }
    // Asset-level fields (STAC 1.1 puts single-band values on the asset itself).
    let defaults = Band {
        name: None,
        common_name: asset.opt_string("eo:common_name")?.map(str::to_string),
        nodata: asset.opt_nodata("nodata")?,
        data_type: asset.opt_string("data_type")?.map(str::to_string),
        scale: asset.opt_f64("raster:scale")?,
        offset: asset.opt_f64("raster:offset")?,
        unit: asset.opt_string("unit")?.map(str::to_string),
    };
    let band_objs = |key: &str| -> Result<Vec<Band>> {
        asset
            .opt_objects(key)?
            .iter()
            .map(|(path, map)| {
                read_band(
                    &Obj {
                        map,
                        location: asset.location,
                        path,
                    },
                    &defaults,
                )
            })
            .collect()
    };
    // STAC 1.1 `bands`.
    let bands = band_objs("bands")?;
    if !bands.is_empty() {
        return Ok(bands);
    }
    // STAC 1.0 `eo:bands` and `raster:bands`, zipped by index.
    let eo = band_objs("eo:bands")?;
    let raster = band_objs("raster:bands")?;
    let n = eo.len().max(raster.len());
    if n == 0 {
        let has_defaults = defaults != Band::default();
        return Ok(if has_defaults {
            vec![defaults]
        } else {
            Vec::new()
        });
    }
    Ok((0..n)
        .map(|i| {
            let e = eo.get(i).cloned().unwrap_or_else(|| defaults.clone());
            let r = raster.get(i).cloned().unwrap_or_else(|| defaults.clone());
            Band {
                name: e.name.or(r.name),
                common_name: e.common_name.or(r.common_name),
                nodata: r.nodata.or(e.nodata),
                data_type: r.data_type.or(e.data_type),
                scale: r.scale.or(e.scale),
                offset: r.offset.or(e.offset),
                unit: r.unit.or(e.unit),
            }
        })
        .collect())
}

fn read_asset(
    key: &str,
    obj: &Obj<'_>,
    base: Option<&Url>,
    item_projection: &Projection,
    item_bands: &[Band],
) -> Result<Asset> {
    let href = obj.string("href")?;
    let href = resolve_href(href, base).map_err(|m| obj.error("href", m))?;
    let roles = match obj.get("roles") {
        None => Vec::new(),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| obj.error("roles", "expected an array of strings"))?,
        Some(other) => {
            return Err(
                obj.error("roles", format!("expected an array, found {}", kind(other)))
            );
        }
    };
    let own = read_projection(obj)?;
    let projection = Projection {
        crs: own.crs.or_else(|| item_projection.crs.clone()),
        transform: own.transform.or(item_projection.transform),
        shape: own.shape.or(item_projection.shape),
        bbox: own.bbox.or(item_projection.bbox),
    };
    Ok(Asset {
        key: key.to_string(),
        href,
        media_type: obj.opt_string("type")?.map(str::to_string),
        roles,
        bands: read_bands(obj, item_bands)?,
        projection,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item_json() -> Value {
        json!({
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": "S2A_33UUP_20230612_0_L2A",
            "collection": "sentinel-2-l2a",
            "geometry": {"type": "Polygon", "coordinates": [[[14.0, 50.0], [15.5, 50.0], [15.5, 51.0], [14.0, 51.0], [14.0, 50.0]]]},
            "bbox": [14.0, 50.0, 15.5, 51.0],
            "properties": {
                "datetime": "2023-06-12T10:06:45.123Z",
                "platform": "sentinel-2a",
                "eo:cloud_cover": 12.5,
                "proj:epsg": 32633
            },
            "links": [],
            "assets": {
                "red": {
                    "href": "https://example.com/B04.tif",
                    "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                    "roles": ["data"],
                    "eo:bands": [{"name": "B04", "common_name": "red"}],
                    "raster:bands": [{"nodata": 0, "data_type": "uint16", "scale": 0.0001, "offset": -0.1}],
                    "proj:shape": [10980, 10980],
                    "proj:transform": [10, 0, 399960, 0, -10, 5700000]
                },
                "red-jp2": {
                    "href": "s3://bucket/B04.jp2",
                    "type": "image/jp2",
                    "roles": ["data"],
                    "eo:bands": [{"name": "B04", "common_name": "red"}]
                },
                "scl": {"href": "./SCL.tif", "roles": ["data"], "raster:bands": [{"nodata": "nan", "data_type": "uint8"}]}
            }
        })
    }

    #[test]
    fn reads_an_earth_search_style_item() {
        let base = Url::parse("file:///cat/items/x.json").unwrap();
        let item = Item::from_json(&item_json(), Some(&base), "x.json").unwrap();
        assert_eq!(item.id, "S2A_33UUP_20230612_0_L2A");
        assert_eq!(item.datetime.timestamp_millis(), 1_686_564_405_123);
        let red = item.band("red").unwrap();
        assert_eq!(red.asset_key, "red");
        assert_eq!(red.band.scale, Some(0.0001));
        assert_eq!(red.band.offset, Some(-0.1));
        assert_eq!(red.band.nodata, Some(0.0));
        let grid = red.grid.unwrap();
        assert_eq!(grid.crs, Crs::Epsg(32633));
        assert_eq!(grid.shape, [10980, 10980]);
        assert_eq!(
            grid.transform,
            [10.0, 0.0, 399960.0, 0.0, -10.0, 5_700_000.0]
        );
        // By band name, the COG wins over the JP2.
        assert_eq!(item.band("b04").unwrap().asset_key, "red");
        assert_eq!(item.band("b04").unwrap().name, "b04");
        let scl = item.band("SCL").unwrap();
        assert_eq!(scl.href.as_str(), "file:///cat/items/SCL.tif");
        assert!(scl.band.nodata.unwrap().is_nan());
        let err = item.band("nir").unwrap_err().to_string();
        assert!(
            err.contains("\"nir\"") && err.contains("red (red)"),
            "{err}"
        );
    }

    #[test]
    fn stac_0_9_index_style_bands_and_proj_epsg() {
        // As Earth Search's v0 `sentinel-s2-l2a-cogs` items were written.
        let value = json!({
            "type": "Feature", "stac_version": "0.9.0", "id": "S2B_33UUP_20200704_0_L2A",
            "collection": "sentinel-s2-l2a-cogs",
            "geometry": null, "bbox": [12.0, 52.0, 13.0, 53.0],
            "properties": {
                "datetime": "2020-07-04T10:20:31Z",
                "proj:epsg": 32633,
                "eo:bands": [
                    {"name": "B02", "common_name": "blue"},
                    {"name": "B03", "common_name": "green"},
                    {"name": "B04", "common_name": "red"}
                ]
            },
            "assets": {
                "B04": {
                    "href": "https://example.com/B04.tif", "type": "image/tiff",
                    "eo:bands": [2],
                    "proj:shape": [10980, 10980],
                    "proj:transform": [10, 0, 300000, 0, -10, 5900040, 0, 0, 1]
                },
                "B99": {"href": "https://example.com/B99.tif", "eo:bands": [7]}
            },
            "links": []
        });
        let err = Item::from_json(&value, None, "item.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("assets.B99.eo:bands") && err.contains("index 7"),
            "{err}"
        );
        let mut value = value;
        value["assets"].as_object_mut().unwrap().remove("B99");
        let item = Item::from_json(&value, None, "item.json").unwrap();
        let red = item.band("red").unwrap();
        assert_eq!(red.href.as_str(), "https://example.com/B04.tif");
        assert_eq!(red.band.name.as_deref(), Some("B04"));
        let grid = red.grid.expect("grid from proj:* on the asset and item");
        assert_eq!(grid.crs, Crs::Epsg(32633));
        assert_eq!(grid.shape, [10980, 10980]);
    }

    #[test]
    fn errors_name_the_field() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("/id", Value::Null, "field `id`: required field is missing"),
            (
                "/stac_version",
                json!("0.8.1"),
                "unsupported STAC version \"0.8.1\"",
            ),
            (
                "/properties/datetime",
                json!("yesterday"),
                "field `properties.datetime`: \"yesterday\" is not",
            ),
            (
                "/assets/red/href",
                Value::Null,
                "field `assets.red.href`: required",
            ),
            (
                "/assets/red/proj:transform",
                json!([1, 2, 3]),
                "field `assets.red.proj:transform`",
            ),
            ("/bbox", json!([1, 2, 3]), "field `bbox`: expected 4 or 6"),
            (
                "/type",
                json!("Collection"),
                "field `type`: expected \"Feature\"",
            ),
        ];
        for (pointer, value, expected) in cases {
            let mut json = item_json();
            *json.pointer_mut(pointer).unwrap() = value;
            let err = Item::from_json(&json, None, "x.json")
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("x.json: ") && err.contains(expected),
                "{pointer}: {err}"
            );
        }
        let mut json = item_json();
        json.as_object_mut().unwrap().remove("id");
        let err = Item::from_json(&json, None, "x.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("field `id`"), "{err}");
        // A relative href with no base.
        let err = Item::from_json(&item_json(), None, "x.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("assets.scl.href") && err.contains("no base"),
            "{err}"
        );
    }

    #[test]
    fn solar_day_shifts_by_longitude() {
        let t = DateTime::parse_from_rfc3339("2023-06-12T22:30:00Z")
            .unwrap()
            .to_utc();
        // 22:30 UTC at 30° E is 00:30 local on the next day.
        assert_eq!(solar_day(t, Some(30.0)).to_string(), "2023-06-13");
        assert_eq!(solar_day(t, Some(15.0)).to_string(), "2023-06-12");
        let t = DateTime::parse_from_rfc3339("2023-06-12T01:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(solar_day(t, Some(-20.0)).to_string(), "2023-06-11");
    }

    #[test]
    fn bboxes_intersect_across_the_antimeridian() {
        let a = Bbox::from_slice(&[170.0, -10.0, -170.0, 10.0]).unwrap();
        let b = Bbox::from_slice(&[-175.0, 0.0, -172.0, 5.0]).unwrap();
        let c = Bbox::from_slice(&[0.0, 0.0, 10.0, 5.0]).unwrap();
        assert!(a.intersects(&b) && b.intersects(&a));
        assert!(!a.intersects(&c) && !c.intersects(&a));
        assert_eq!(a.center_lon(), -180.0);
        assert!(Bbox::from_slice(&[0.0, 10.0, 1.0, 5.0]).is_err());
    }
}
