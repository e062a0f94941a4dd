//! Georeferencing: GeoTIFF keys, the affine transform, GDAL's nodata and metadata tags.

use crate::error::{Result, malformed};
use crate::ifd::{Tags, tag};

/// GeoKey ids this crate reads or writes.
#[expect(missing_docs, reason = "the names are the GeoTIFF key names")]
pub mod key {
    pub const GT_MODEL_TYPE: u16 = 1024;
    pub const GT_RASTER_TYPE: u16 = 1025;
    pub const GT_CITATION: u16 = 1026;
    pub const GEOGRAPHIC_TYPE: u16 = 2048;
    pub const GEOG_CITATION: u16 = 2049;
    pub const GEOG_ANGULAR_UNITS: u16 = 2054;
    pub const PROJECTED_CS_TYPE: u16 = 3072;
    pub const PROJ_CITATION: u16 = 3073;
    pub const PROJ_LINEAR_UNITS: u16 = 3076;
}

/// How pixel coordinates relate to the model: GeoTIFF's `GTRasterTypeGeoKey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RasterType {
    /// A pixel covers an area; the transform maps its top-left corner (the default).
    #[default]
    PixelIsArea,
    /// A pixel is a point sample; the tie point refers to its centre.
    PixelIsPoint,
}

/// The kind of coordinate system: GeoTIFF's `GTModelTypeGeoKey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelType {
    /// Projected (e.g. UTM).
    Projected,
    /// Geographic longitude/latitude.
    Geographic,
    /// Geocentric.
    Geocentric,
}

/// An affine transform in rasterio's order: `x = c + a·col + b·row`, `y = f + d·col + e·row`,
/// mapping the top-left corner of pixel (col, row) to model coordinates.
pub type Transform = [f64; 6];

/// Everything that places a raster on the Earth.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Georeference {
    /// The EPSG code of the CRS, when it is one (projected or geographic).
    pub epsg: Option<u32>,
    /// Projected, geographic or geocentric, when stated.
    pub model: Option<ModelType>,
    /// Pixel-is-area or pixel-is-point.
    pub raster_type: RasterType,
    /// The corner-based transform as GDAL reports it (a pixel-is-point tie point is
    /// shifted by half a pixel, as GDAL does), when the file has one.
    pub transform: Option<Transform>,
    /// The citation text (CRS name) when the file gives one.
    pub citation: Option<String>,
}

/// One GeoKey value.
#[derive(Debug, Clone, PartialEq)]
enum KeyValue {
    Short(u16),
    Doubles(Vec<f64>),
    Ascii(String),
}

fn geokeys(tags: &Tags) -> Result<Vec<(u16, KeyValue)>> {
    let Some(dir) = tags.unsigned(tag::GEO_KEY_DIRECTORY)? else {
        return Ok(Vec::new());
    };
    if dir.len() < 4 {
        return Err(malformed!(
            "GeoKeyDirectory has {} values, needs at least 4",
            dir.len()
        ));
    }
    let n = dir[3] as usize;
    let doubles = tags.floats(tag::GEO_DOUBLE_PARAMS)?.unwrap_or_default();
    let ascii = tags.ascii(tag::GEO_ASCII_PARAMS).unwrap_or("");
    let mut out = Vec::new();
    for i in 0..n {
        let Some(entry) = dir.get(4 + 4 * i..8 + 4 * i) else {
            return Err(malformed!(
                "GeoKeyDirectory declares {n} keys but holds {}",
                (dir.len() - 4) / 4
            ));
        };
        let (id, location, count, value) = (
            entry[0] as u16,
            entry[1] as u16,
            entry[2] as usize,
            entry[3] as usize,
        );
        let v = match location {
            0 => KeyValue::Short(value as u16),
            tag::GEO_DOUBLE_PARAMS => match doubles
                .get(value..value.saturating_add(count))
            {
                Some(d) => KeyValue::Doubles(d.to_vec()),
                None => {
                    return Err(malformed!("GeoKey {id} points outside GeoDoubleParams"));
                }
            },
            tag::GEO_ASCII_PARAMS => {
                let text = ascii
                    .get(value..value.saturating_add(count))
                    .unwrap_or_default();
                KeyValue::Ascii(text.trim_end_matches(['|', '\0']).to_string())
            }
            tag::GEO_KEY_DIRECTORY => match dir.get(value..value.saturating_add(count)) {
                Some([first, ..]) => KeyValue::Short(*first as u16),
                _ => return Err(malformed!("GeoKey {id} points outside the directory")),
            },
            other => return Err(malformed!("GeoKey {id} stored in unknown tag {other}")),
        };
        out.push((id, v));
    }
    Ok(out)
}

/// Read the georeferencing of an IFD (usually the first).
pub fn georeference(tags: &Tags) -> Result<Georeference> {
    let keys = geokeys(tags)?;
    let short = |id: u16| {
        keys.iter().find_map(|(k, v)| match v {
            KeyValue::Short(s) if *k == id => Some(*s),
            _ => None,
        })
    };
    let text = |id: u16| {
        keys.iter().find_map(|(k, v)| match v {
            KeyValue::Ascii(s) if *k == id && !s.is_empty() => Some(s.clone()),
            _ => None,
        })
    };
    let model = match short(key::GT_MODEL_TYPE) {
        Some(1) => Some(ModelType::Projected),
        Some(2) => Some(ModelType::Geographic),
        Some(3) => Some(ModelType::Geocentric),
        _ => None,
    };
    let raster_type = match short(key::GT_RASTER_TYPE) {
        Some(2) => RasterType::PixelIsPoint,
        _ => RasterType::PixelIsArea,
    };
    // 0 is "undefined" and 32767 "user-defined"; neither is an EPSG code.
    let code = |id: u16| short(id).filter(|&c| c != 0 && c != 32767).map(u32::from);
    let epsg = match model {
        Some(ModelType::Projected) => code(key::PROJECTED_CS_TYPE),
        Some(ModelType::Geographic) => code(key::GEOGRAPHIC_TYPE),
        _ => code(key::PROJECTED_CS_TYPE).or_else(|| code(key::GEOGRAPHIC_TYPE)),
    };
    let citation = text(key::PROJ_CITATION)
        .or_else(|| text(key::GT_CITATION))
        .or_else(|| text(key::GEOG_CITATION));
    let mut transform = model_transform(tags)?;
    if raster_type == RasterType::PixelIsPoint
        && let Some(t) = transform.as_mut()
    {
        t[2] -= 0.5 * t[0] + 0.5 * t[1];
        t[5] -= 0.5 * t[3] + 0.5 * t[4];
    }
    Ok(Georeference {
        epsg,
        model,
        raster_type,
        transform,
        citation,
    })
}

fn model_transform(tags: &Tags) -> Result<Option<Transform>> {
    if let Some(m) = tags.floats(tag::MODEL_TRANSFORMATION)? {
        if m.len() < 16 {
            return Err(malformed!(
                "ModelTransformation has {} values, needs 16",
                m.len()
            ));
        }
        return Ok(Some([m[0], m[1], m[3], m[4], m[5], m[7]]));
    }
    let tie = tags.floats(tag::MODEL_TIEPOINT)?;
    let scale = tags.floats(tag::MODEL_PIXEL_SCALE)?;
    match (tie, scale) {
        (Some(tie), Some(scale)) if tie.len() == 6 => {
            if scale.len() < 2 {
                return Err(malformed!(
                    "ModelPixelScale has {} values, needs 3",
                    scale.len()
                ));
            }
            let (i, j, x, y) = (tie[0], tie[1], tie[3], tie[4]);
            let (sx, sy) = (scale[0], scale[1]);
            Ok(Some([sx, 0.0, x - i * sx, 0.0, -sy, y + j * sy]))
        }
        // Several tie points are ground control points, not a transform.
        _ => Ok(None),
    }
}

/// The GDAL_NODATA tag as a number (`nan`, `inf` and `-inf` included).
pub fn nodata(tags: &Tags) -> Result<Option<f64>> {
    let Some(text) = tags.ascii(tag::GDAL_NODATA) else {
        return Ok(None);
    };
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let v = match lower.as_str() {
        "nan" | "-nan" => f64::NAN,
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        _ => t
            .parse::<f64>()
            .map_err(|_| malformed!("GDAL_NODATA is {t:?}, not a number"))?,
    };
    Ok(Some(v))
}

/// Per-band values from GDAL's metadata XML (tag 42112).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BandMetadata {
    /// Multiply a sample by this…
    pub scale: Option<f64>,
    /// …then add this, to get the physical value.
    pub offset: Option<f64>,
    /// The band's description (name) when given.
    pub description: Option<String>,
}

/// Dataset- and band-level metadata GDAL stores in its XML tag.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GdalMetadata {
    /// Dataset items (`name` → value) of the default domain.
    pub items: Vec<(String, String)>,
    /// Per band (index = band number − 1).
    pub bands: Vec<BandMetadata>,
}

/// Parse GDAL's `<GDALMetadata><Item name=… sample=… role=…>…</Item></GDALMetadata>`.
pub fn gdal_metadata(tags: &Tags, bands: usize) -> Result<GdalMetadata> {
    let mut out = GdalMetadata {
        items: Vec::new(),
        bands: vec![BandMetadata::default(); bands],
    };
    let Some(xml) = tags.ascii(tag::GDAL_METADATA) else {
        return Ok(out);
    };
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    // name, sample, role and domain of the <Item> being read
    type Item = (String, Option<usize>, Option<String>, Option<String>);
    let mut current: Option<Item> = None;
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Err(e) => return Err(malformed!("GDAL_METADATA is not valid XML: {e}")),
            Ok(Event::Eof) => break,
            Ok(Event::Start(el)) if el.name().as_ref() == b"Item" => {
                let (mut name, mut sample, mut role, mut domain) =
                    (String::new(), None, None, None);
                for attr in el.attributes().flatten() {
                    let value = attr
                        .unescape_value()
                        .map_err(|e| malformed!("GDAL_METADATA attribute: {e}"))?
                        .to_string();
                    match attr.key.as_ref() {
                        b"name" => name = value,
                        b"sample" => sample = value.parse::<usize>().ok(),
                        b"role" => role = Some(value),
                        b"domain" => domain = Some(value),
                        _ => {}
                    }
                }
                current = Some((name, sample, role, domain));
                text.clear();
            }
            Ok(Event::Text(t)) if current.is_some() => {
                text.push_str(
                    &t.unescape()
                        .map_err(|e| malformed!("GDAL_METADATA text: {e}"))?,
                );
            }
            Ok(Event::End(el)) if el.name().as_ref() == b"Item" => {
                if let Some((name, sample, role, domain)) = current.take() {
                    let value = text.trim().to_string();
                    match (sample.and_then(|s| out.bands.get_mut(s)), role.as_deref()) {
                        (Some(band), Some("scale")) => band.scale = value.parse().ok(),
                        (Some(band), Some("offset")) => band.offset = value.parse().ok(),
                        (Some(band), Some("description")) => {
                            band.description = Some(value)
                        }
                        (None, None) if domain.is_none() && sample.is_none() => {
                            out.items.push((name, value))
                        }
                        _ => {}
                    }
                }
            }
            Ok(_) => {}
        }
    }
    Ok(out)
}

/// Encode the GeoKey directory for an EPSG code (projected, or geographic when
/// `geographic`), a raster type and an optional citation; returns the directory
/// and the ASCII params.
pub fn encode_geokeys(
    epsg: Option<u32>,
    geographic: bool,
    raster_type: RasterType,
    citation: Option<&str>,
) -> (Vec<u16>, String) {
    let mut keys: Vec<[u16; 4]> = Vec::new();
    let mut ascii = String::new();
    let model = if geographic { 2 } else { 1 };
    keys.push([key::GT_MODEL_TYPE, 0, 1, model]);
    let rt = match raster_type {
        RasterType::PixelIsArea => 1,
        RasterType::PixelIsPoint => 2,
    };
    keys.push([key::GT_RASTER_TYPE, 0, 1, rt]);
    if let Some(c) = citation {
        let start = ascii.len() as u16;
        ascii.push_str(c);
        ascii.push('|');
        keys.push([
            key::GT_CITATION,
            tag::GEO_ASCII_PARAMS,
            (c.len() + 1) as u16,
            start,
        ]);
    }
    if let Some(code) = epsg.and_then(|c| u16::try_from(c).ok()) {
        if geographic {
            keys.push([key::GEOGRAPHIC_TYPE, 0, 1, code]);
            keys.push([key::GEOG_ANGULAR_UNITS, 0, 1, 9102]);
        } else {
            keys.push([key::PROJECTED_CS_TYPE, 0, 1, code]);
            keys.push([key::PROJ_LINEAR_UNITS, 0, 1, 9001]);
        }
    }
    keys.sort_by_key(|k| k[0]);
    let mut dir = vec![1, 1, 0, keys.len() as u16];
    dir.extend(keys.into_iter().flatten());
    (dir, ascii)
}

/// Whether an EPSG code is a geographic (longitude/latitude) CRS, for the codes EO uses:
/// the 4xxx range of geographic 2D CRSs.
pub fn is_geographic_epsg(code: u32) -> bool {
    (4000..5000).contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geographic_codes() {
        assert!(is_geographic_epsg(4326));
        assert!(!is_geographic_epsg(32633));
        assert!(!is_geographic_epsg(3035));
    }
}
