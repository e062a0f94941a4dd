//! The assets an item carries: the reflectance bands (10 m, uint16) and the scene
//! classification (20 m, uint8), with the metadata Earth Search v1 gives them.

/// A reflectance band: its asset key (the Earth Search v1 name, also the common
/// name), the Sentinel-2 band id, and its `eo:bands` description.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BandDef {
    /// Asset key and common name (`red`).
    pub key: &'static str,
    /// The Sentinel-2 band id (`B04`).
    pub id: &'static str,
    /// Asset title.
    pub title: &'static str,
    /// `eo:bands` description.
    pub description: &'static str,
    /// Centre wavelength (µm).
    pub center_wavelength: f64,
    /// Full width at half maximum (µm).
    pub fwhm: f64,
}

/// The reflectance bands, in the order of every per-band array of the generator.
pub(crate) const BANDS: [BandDef; 4] = [
    BandDef {
        key: "blue",
        id: "B02",
        title: "Blue (band 2) - 10m",
        description: "Blue (band 2)",
        center_wavelength: 0.49,
        fwhm: 0.098,
    },
    BandDef {
        key: "green",
        id: "B03",
        title: "Green (band 3) - 10m",
        description: "Green (band 3)",
        center_wavelength: 0.56,
        fwhm: 0.045,
    },
    BandDef {
        key: "red",
        id: "B04",
        title: "Red (band 4) - 10m",
        description: "Red (band 4)",
        center_wavelength: 0.665,
        fwhm: 0.038,
    },
    BandDef {
        key: "nir",
        id: "B08",
        title: "NIR 1 (band 8) - 10m",
        description: "NIR 1 (band 8)",
        center_wavelength: 0.842,
        fwhm: 0.145,
    },
];

/// Number of reflectance bands.
pub(crate) const NB: usize = BANDS.len();

/// Index of `blue` in [`BANDS`].
pub(crate) const BLUE: usize = 0;
/// Index of `green` in [`BANDS`].
pub(crate) const GREEN: usize = 1;
/// Index of `red` in [`BANDS`].
pub(crate) const RED: usize = 2;
/// Index of `nir` in [`BANDS`].
pub(crate) const NIR: usize = 3;

/// DN → reflectance scale (processing baseline 04.00 and later).
pub(crate) const SCALE: f64 = 0.0001;
/// DN → reflectance offset (`BOA_ADD_OFFSET` −1000 × scale).
pub(crate) const OFFSET: f64 = -0.1;

/// The SCL asset key.
pub(crate) const SCL: &str = "scl";

/// The COG media type.
pub(crate) const COG_TYPE: &str =
    "image/tiff; application=geotiff; profile=cloud-optimized";

/// Scene classification classes (Sentinel-2 L2A SCL).
pub(crate) mod scl {
    /// No data.
    pub const NODATA: u8 = 0;
    /// Cloud shadow.
    pub const SHADOW: u8 = 3;
    /// Vegetation.
    pub const VEGETATION: u8 = 4;
    /// Not vegetated (bare soil, built-up).
    pub const NOT_VEGETATED: u8 = 5;
    /// Water.
    pub const WATER: u8 = 6;
    /// Unclassified (here: the semi-transparent edges of clouds).
    pub const UNCLASSIFIED: u8 = 7;
    /// Cloud, medium probability.
    pub const CLOUD_MEDIUM: u8 = 8;
    /// Cloud, high probability.
    pub const CLOUD_HIGH: u8 = 9;
    /// Thin cirrus.
    pub const CIRRUS: u8 = 10;
}

/// Reflectance to a digital number: `(r - OFFSET) / SCALE`, rounded; never 0
/// (nodata) for a valid pixel.
#[inline]
pub(crate) fn to_dn(r: f32) -> u16 {
    // `as` saturates and truncates: adding 0.5 to a value clamped to [1, 65535]
    // rounds half up.
    let dn = (r - OFFSET as f32) * (1.0 / SCALE as f32) + 0.5;
    dn.clamp(1.0, 65535.0) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digital_numbers_round_and_never_hit_nodata() {
        assert_eq!(to_dn(0.0), 1000);
        assert_eq!(to_dn(0.1234), 2234);
        assert_eq!(to_dn(0.43), 5300);
        assert_eq!(to_dn(-0.2), 1);
        assert_eq!(to_dn(9.0), 65535);
    }
}
