//! The pixel types a warp reads and writes.

mod sealed {
    pub trait Sealed {}
}

/// A pixel value type: `u8`, `i8`, `u16`, `i16`, `u32`, `i32`, `f32` or `f64`.
///
/// Resampled values are computed in `f64` and converted back as GDAL's warper does:
/// integers are rounded half up (`floor(v + 0.5)`, which for negative halves differs
/// from rounding away from zero) and clamped to the type's range; floats are cast.
pub trait Sample:
    Copy + PartialEq + PartialOrd + Send + Sync + std::fmt::Debug + sealed::Sealed + 'static
{
    /// Whether the type is a floating-point type (NaN counts as missing).
    const IS_FLOAT: bool;
    /// The value as `f64` (exact for every supported type but `f64` itself).
    fn to_f64(self) -> f64;
    /// A resampled value converted as GDAL does (round half up and clamp integers).
    fn from_f64(v: f64) -> Self;
    /// Whether the value is NaN (always `false` for integers).
    fn is_nan(self) -> bool;
    /// GDAL's rule for a resampled value that equals the destination nodata value,
    /// so that a valid pixel never reads as nodata: for integers the type minimum
    /// becomes minimum + 1 and anything else is decremented; floats are left alone.
    fn avoid_nodata(self, nodata: Self) -> Self;
}

macro_rules! int_sample {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Sample for $t {
            const IS_FLOAT: bool = false;
            #[inline]
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                if v < f64::from(<$t>::MIN) {
                    <$t>::MIN
                } else if v > f64::from(<$t>::MAX) {
                    <$t>::MAX
                } else {
                    // In range (or NaN, which `as` maps to 0): round half up.
                    (v + 0.5).floor() as $t
                }
            }
            #[inline]
            fn is_nan(self) -> bool {
                false
            }
            #[inline]
            fn avoid_nodata(self, nodata: Self) -> Self {
                if self != nodata {
                    self
                } else if self == <$t>::MIN {
                    <$t>::MIN + 1
                } else {
                    self - 1
                }
            }
        }
    )*};
}
int_sample!(u8, i8, u16, i16, u32, i32);

impl sealed::Sealed for f32 {}
impl Sample for f32 {
    const IS_FLOAT: bool = true;
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
    #[inline]
    fn avoid_nodata(self, _nodata: Self) -> Self {
        self
    }
}

impl sealed::Sealed for f64 {}
impl Sample for f64 {
    const IS_FLOAT: bool = true;
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
    #[inline]
    fn avoid_nodata(self, _nodata: Self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_matches_gdal() {
        assert_eq!(u8::from_f64(2.5), 3);
        assert_eq!(u8::from_f64(2.49), 2);
        assert_eq!(u8::from_f64(-3.0), 0);
        assert_eq!(u8::from_f64(255.6), 255);
        assert_eq!(u8::from_f64(f64::NAN), 0);
        assert_eq!(i16::from_f64(-2.5), -2);
        assert_eq!(i16::from_f64(-2.51), -3);
        assert_eq!(i16::from_f64(-40_000.0), i16::MIN);
        assert_eq!(u32::from_f64(4_294_967_294.7), u32::MAX);
        assert_eq!(i32::from_f64(1e300), i32::MAX);
        assert_eq!(f32::from_f64(0.1), 0.1_f32);
    }

    #[test]
    fn avoid_nodata() {
        assert_eq!(0_u16.avoid_nodata(0), 1);
        assert_eq!(7_u16.avoid_nodata(7), 6);
        assert_eq!(7_u16.avoid_nodata(0), 7);
        assert_eq!(i8::MIN.avoid_nodata(i8::MIN), i8::MIN + 1);
        assert_eq!((-9999.0_f32).avoid_nodata(-9999.0), -9999.0);
    }
}
