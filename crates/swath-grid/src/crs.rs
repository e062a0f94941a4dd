//! Coordinate reference systems and point transformations (pure Rust, `proj4rs`).

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use proj4rs::Proj;

use crate::error::{Error, Result, misuse};

/// A coordinate reference system: a `proj4rs` projection and the definition it was
/// built from.
///
/// Cheap to clone (the projection is shared). Two CRSs are equal when their PROJ
/// definitions are the same token for token, so `EPSG:32633` equals the string
/// `+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs`.
#[derive(Clone)]
pub struct Crs {
    inner: Arc<CrsInner>,
}

struct CrsInner {
    proj: Proj,
    /// The PROJ string, whitespace-normalised.
    definition: String,
    epsg: Option<u32>,
}

impl Crs {
    /// The CRS with this EPSG code, defined by the `crs-definitions` table.
    ///
    /// EPSG:3857 uses the table's `+proj=merc +a=6378137 +b=6378137 +nadgrids=@null`
    /// form, which gives the same coordinates as PROJ's Web Mercator.
    pub fn from_epsg(code: u32) -> Result<Crs> {
        let def = u16::try_from(code)
            .ok()
            .and_then(crs_definitions::from_code)
            .ok_or(Error::UnknownEpsg(code))?;
        let proj = build_proj(def.proj4).map_err(|e| match e {
            Error::InvalidCrs { definition, reason } => Error::InvalidCrs {
                definition: format!("EPSG:{code} ({definition})"),
                reason,
            },
            other => other,
        })?;
        Ok(Crs {
            inner: Arc::new(CrsInner {
                proj,
                definition: normalise(def.proj4),
                epsg: Some(code),
            }),
        })
    }

    /// The CRS of a PROJ string such as `+proj=utm +zone=33 +datum=WGS84`.
    pub fn from_proj_string(s: &str) -> Result<Crs> {
        let s = s.trim();
        if !s.starts_with('+') {
            return Err(Error::InvalidCrs {
                definition: s.to_string(),
                reason: "a PROJ string starts with '+', e.g. \"+proj=longlat \
                         +datum=WGS84\""
                    .to_string(),
            });
        }
        let proj = build_proj(s)?;
        Ok(Crs {
            inner: Arc::new(CrsInner {
                proj,
                definition: normalise(s),
                epsg: None,
            }),
        })
    }

    /// Parse `"EPSG:32633"` (any case), a bare code `"32633"`, `"WGS84"` or a PROJ
    /// string.
    pub fn parse(s: &str) -> Result<Crs> {
        let t = s.trim();
        if t.starts_with('+') {
            return Crs::from_proj_string(t);
        }
        if t.eq_ignore_ascii_case("wgs84") {
            return Crs::from_epsg(4326);
        }
        let code = match t.get(..5) {
            Some(prefix) if prefix.eq_ignore_ascii_case("epsg:") => &t[5..],
            _ => t,
        };
        match code.trim().parse::<u32>() {
            Ok(code) => Crs::from_epsg(code),
            Err(_) => Err(Error::InvalidCrs {
                definition: s.to_string(),
                reason: "expected \"EPSG:<code>\", a bare EPSG code, \"WGS84\" or a \
                         PROJ string"
                    .to_string(),
            }),
        }
    }

    /// WGS84 longitude/latitude (EPSG:4326), in degrees at this crate's API.
    #[expect(
        clippy::expect_used,
        reason = "EPSG:4326 is a constant definition that proj4rs parses; covered by \
                  a unit test"
    )]
    pub fn wgs84() -> Crs {
        Crs::from_epsg(4326).expect("EPSG:4326 is in the definitions table")
    }

    /// The EPSG code, when the CRS was built from one.
    pub fn epsg(&self) -> Option<u32> {
        self.inner.epsg
    }

    /// Whether coordinates are longitude/latitude (degrees at this crate's API).
    pub fn is_geographic(&self) -> bool {
        self.inner.proj.is_latlong()
    }

    /// The PROJ string the CRS was built from (whitespace-normalised).
    pub fn proj_string(&self) -> &str {
        &self.inner.definition
    }

    pub(crate) fn proj(&self) -> &Proj {
        &self.inner.proj
    }
}

impl PartialEq for Crs {
    fn eq(&self, other: &Crs) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
            || self.inner.definition == other.inner.definition
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.epsg {
            Some(code) => write!(f, "EPSG:{code}"),
            None => f.write_str(&self.inner.definition),
        }
    }
}

impl fmt::Debug for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Crs({self})")
    }
}

impl std::str::FromStr for Crs {
    type Err = Error;

    fn from_str(s: &str) -> Result<Crs> {
        Crs::parse(s)
    }
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Build a `proj4rs` projection, turning its errors (and, defensively, any panic in
/// its parser) into [`Error::InvalidCrs`].
fn build_proj(s: &str) -> Result<Proj> {
    let invalid = |reason: String| Error::InvalidCrs {
        definition: s.to_string(),
        reason,
    };
    let proj = catch_unwind(AssertUnwindSafe(|| Proj::from_proj_string(s)))
        .map_err(|_| invalid("the PROJ string parser failed".to_string()))?
        .map_err(|e| invalid(e.to_string()))?;
    if !proj.has_forward() || !proj.has_inverse() {
        return Err(invalid(
            "the projection lacks a forward or an inverse transformation".to_string(),
        ));
    }
    Ok(proj)
}

/// Transforms coordinates from one CRS to another.
///
/// Geographic coordinates are longitude/latitude in degrees (x = longitude); `proj4rs`
/// works in radians internally. Datum shifts use `+towgs84` parameters as PROJ.4 did
/// (no grids). Between equal CRSs the transformer is an identity and never calls
/// `proj4rs`.
#[derive(Clone, Debug)]
pub struct Transformer {
    src: Crs,
    dst: Crs,
    identity: bool,
}

impl Transformer {
    /// A transformer from `src` to `dst` coordinates.
    pub fn new(src: &Crs, dst: &Crs) -> Result<Transformer> {
        Ok(Transformer {
            src: src.clone(),
            dst: dst.clone(),
            identity: src == dst,
        })
    }

    /// The source CRS.
    pub fn src(&self) -> &Crs {
        &self.src
    }

    /// The destination CRS.
    pub fn dst(&self) -> &Crs {
        &self.dst
    }

    /// Whether source and destination are the same CRS (points pass unchanged).
    pub fn is_identity(&self) -> bool {
        self.identity
    }

    /// Transform points in place. A point that cannot be transformed (outside the
    /// projection's domain, non-finite input) becomes `(NaN, NaN)`; only slices of
    /// different lengths are an error.
    pub fn transform_points(&self, xs: &mut [f64], ys: &mut [f64]) -> Result<()> {
        if xs.len() != ys.len() {
            return Err(misuse!(
                "transform_points needs as many x as y values, got {} and {}",
                xs.len(),
                ys.len()
            ));
        }
        if self.identity {
            return Ok(());
        }
        for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
            (*x, *y) = self.transform_xy(*x, *y).unwrap_or((f64::NAN, f64::NAN));
        }
        Ok(())
    }

    /// Transform one point; `None` when it cannot be transformed.
    pub fn transform_xy(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        if !x.is_finite() || !y.is_finite() {
            return None;
        }
        if self.identity {
            return Some((x, y));
        }
        let mut p = if self.src.is_geographic() {
            (x.to_radians(), y.to_radians(), 0.0)
        } else {
            (x, y, 0.0)
        };
        proj4rs::transform::transform(self.src.proj(), self.dst.proj(), &mut p).ok()?;
        let (mut ox, mut oy) = (p.0, p.1);
        if self.dst.is_geographic() {
            ox = ox.to_degrees();
            oy = oy.to_degrees();
        }
        (ox.is_finite() && oy.is_finite()).then_some((ox, oy))
    }

    /// Transform many points in place with one `proj4rs` call (faster than one call
    /// per point). Returns `false`, leaving the points in an unspecified state, if
    /// any point fails; the caller then falls back to [`Transformer::transform_xy`].
    pub(crate) fn transform_batch(&self, pts: &mut [(f64, f64, f64)]) -> bool {
        if self.identity {
            return true;
        }
        if self.src.is_geographic() {
            for p in pts.iter_mut() {
                (p.0, p.1) = (p.0.to_radians(), p.1.to_radians());
            }
        }
        if proj4rs::transform::transform(self.src.proj(), self.dst.proj(), pts).is_err() {
            return false;
        }
        if self.dst.is_geographic() {
            for p in pts.iter_mut() {
                (p.0, p.1) = (p.0.to_degrees(), p.1.to_degrees());
            }
        }
        true
    }

    /// The bounding box `[minx, miny, maxx, maxy]` in the destination CRS of the box
    /// `b` in the source CRS, like `rasterio.warp.transform_bounds`: each edge gets
    /// `densify` extra points between the corners, all are transformed and the
    /// extremes of those that succeed are returned.
    ///
    /// Unlike GDAL's `OCTTransformBounds` there is no special handling of the
    /// antimeridian or of a pole inside the box.
    pub fn transform_bounds(&self, b: [f64; 4], densify: usize) -> Result<[f64; 4]> {
        let [minx, miny, maxx, maxy] = b;
        if !b.iter().all(|v| v.is_finite()) || minx > maxx || miny > maxy {
            return Err(misuse!(
                "bounds must be finite [minx, miny, maxx, maxy] with min <= max, got \
                 {b:?}"
            ));
        }
        if densify > 1_000_000 {
            return Err(misuse!("densify {densify} is unreasonably large"));
        }
        if self.identity {
            return Ok(b);
        }
        let ring = densified_ring(minx, miny, maxx, maxy, densify);
        let mut out = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut any = false;
        for (x, y) in ring {
            if let Some((tx, ty)) = self.transform_xy(x, y) {
                any = true;
                out[0] = out[0].min(tx);
                out[1] = out[1].min(ty);
                out[2] = out[2].max(tx);
                out[3] = out[3].max(ty);
            }
        }
        if !any {
            return Err(Error::Projection(format!(
                "no point of the bounds {b:?} could be transformed from {} to {}",
                self.src, self.dst
            )));
        }
        Ok(out)
    }
}

/// The outline of a box as points: each corner followed by `densify` evenly spaced
/// points towards the next corner (top edge left to right, then right, bottom, left).
pub(crate) fn densified_ring(
    minx: f64,
    miny: f64,
    maxx: f64,
    maxy: f64,
    densify: usize,
) -> Vec<(f64, f64)> {
    let corners = [(minx, maxy), (maxx, maxy), (maxx, miny), (minx, miny)];
    let steps = densify + 1;
    let mut pts = Vec::with_capacity(4 * steps);
    for k in 0..4 {
        let (x0, y0) = corners[k];
        let (x1, y1) = corners[(k + 1) % 4];
        for i in 0..steps {
            let t = i as f64 / steps as f64;
            pts.push((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t));
        }
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let a = Crs::parse("EPSG:32633").unwrap();
        assert_eq!(a.epsg(), Some(32633));
        assert_eq!(a.to_string(), "EPSG:32633");
        assert!(!a.is_geographic());
        let b = Crs::parse("epsg:32633").unwrap();
        let c = Crs::parse(" 32633 ").unwrap();
        let d = Crs::parse("+proj=utm +zone=33  +datum=WGS84 +units=m +no_defs").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert_eq!(d.epsg(), None);
        assert_eq!(
            d.to_string(),
            "+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs"
        );
        assert_ne!(a, Crs::parse("EPSG:32634").unwrap());
        assert!(Crs::wgs84().is_geographic());
        assert_eq!(Crs::parse("WGS84").unwrap(), Crs::wgs84());
        assert_eq!("EPSG:3035".parse::<Crs>().unwrap().epsg(), Some(3035));
    }

    #[test]
    fn unknown_epsg_names_the_code() {
        let e = Crs::from_epsg(999_999).unwrap_err();
        assert!(matches!(e, Error::UnknownEpsg(999_999)));
        assert!(e.to_string().contains("999999"), "{e}");
        let e = Crs::parse("EPSG:1").unwrap_err();
        assert!(e.to_string().contains("unknown EPSG code 1"), "{e}");
    }

    #[test]
    fn unsupported_epsg_projection_names_the_code() {
        // New Zealand Map Grid: in the table, but proj4rs has no `nzmg`.
        let e = Crs::from_epsg(27200).unwrap_err();
        assert!(e.to_string().contains("EPSG:27200"), "{e}");
    }

    #[test]
    fn bad_strings_are_errors() {
        for s in [
            "",
            "EPSG:",
            "EPSG:abc",
            "utm zone 33",
            "+proj=nosuchprojection",
            "+proj=utm +zone=33 +ellps=nosuchellipsoid",
            "+datum=WGS84",
            "+proj=\"unterminated",
            "+=",
        ] {
            let e = Crs::parse(s).expect_err(s);
            assert!(
                matches!(e, Error::InvalidCrs { .. } | Error::UnknownEpsg(_)),
                "{s}: {e}"
            );
        }
    }

    #[test]
    fn garbage_never_panics() {
        // A tiny deterministic fuzzer over PROJ-like tokens.
        let tokens = [
            "+proj=",
            "utm",
            "tmerc",
            "laea",
            "longlat",
            "merc",
            "+zone=",
            "61",
            "-1",
            "0",
            "+lat_0=",
            "91",
            "1e309",
            "nan",
            "+ellps=",
            "GRS80",
            "+towgs84=",
            "1,2",
            "1,2,3,4,5,6,7",
            "+units=",
            "us-ft",
            "\"",
            "=",
            "+",
            " ",
            "+k=",
            "+a=",
            "+b=",
            "+rf=",
            "+no_defs",
            "+south",
            "+axis=",
            "neu",
            "xyz",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..3000 {
            let mut s = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push_str(tokens[(state % tokens.len() as u64) as usize]);
            }
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            if let Ok(crs) = Crs::parse(&s) {
                let t = Transformer::new(&crs, &Crs::wgs84()).unwrap();
                let _ = t.transform_xy(500_000.0, 5_000_000.0);
                let _ = t.transform_bounds([0.0, 0.0, 1.0, 1.0], 3);
            }
        }
    }

    #[test]
    fn transform_points_lengths_and_failures() {
        let t = Transformer::new(&Crs::wgs84(), &Crs::from_epsg(32633).unwrap()).unwrap();
        let mut xs = [15.0, f64::NAN, 15.0];
        let mut ys = [45.0, 45.0];
        assert!(matches!(
            t.transform_points(&mut xs, &mut ys),
            Err(Error::Misuse(_))
        ));
        let mut ys = [45.0, 45.0, 91.0];
        t.transform_points(&mut xs, &mut ys).unwrap();
        assert!((xs[0] - 500_000.0).abs() < 1e-6, "{xs:?}");
        assert!(xs[1].is_nan() && ys[1].is_nan());
        assert!(xs[2].is_nan() && ys[2].is_nan());
    }

    #[test]
    fn identity_is_a_no_op() {
        let a = Crs::from_epsg(32633).unwrap();
        let t = Transformer::new(&a, &a.clone()).unwrap();
        assert!(t.is_identity());
        let mut xs = [1.5, 2.5];
        let mut ys = [3.5, -4.5];
        t.transform_points(&mut xs, &mut ys).unwrap();
        assert_eq!((xs, ys), ([1.5, 2.5], [3.5, -4.5]));
        assert_eq!(
            t.transform_bounds([0.0, 1.0, 2.0, 3.0], 5).unwrap(),
            [0.0, 1.0, 2.0, 3.0]
        );
    }

    #[test]
    fn transform_bounds_checks_input() {
        let t = Transformer::new(&Crs::from_epsg(32633).unwrap(), &Crs::wgs84()).unwrap();
        assert!(t.transform_bounds([1.0, 0.0, 0.0, 1.0], 3).is_err());
        assert!(t.transform_bounds([0.0, f64::NAN, 1.0, 1.0], 3).is_err());
        let b = t.transform_bounds([400_000.0, 4_900_000.0, 600_000.0, 5_100_000.0], 21);
        let b = b.unwrap();
        assert!(
            b[0] < 15.0 && b[2] > 15.0 && b[1] > 44.0 && b[3] < 46.5,
            "{b:?}"
        );
    }
}
