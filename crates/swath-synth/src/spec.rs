//! What to generate: [`SynthSpec`] and its presets.

use serde::{Deserialize, Serialize};

use crate::time::is_valid_date;
use crate::{Error, Result};

/// What to generate: the granule size, the dates, the COG layout and the seed.
///
/// Two generations with equal specs write byte-identical files.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SynthSpec {
    /// Granule width = height in 10 m pixels (even; the 20 m SCL has half as many).
    pub size: u32,
    /// Number of acquisition dates.
    pub dates: u32,
    /// The first acquisition date as (year, month, day).
    pub start: (i32, u32, u32),
    /// Days between acquisitions (Sentinel-2A and 2B together revisit every 5 days).
    pub revisit_days: u32,
    /// COG internal tile size in pixels (a multiple of 16).
    pub block_size: u32,
    /// Seed of the landscape, the clouds and the noise.
    pub seed: u64,
    /// Add granule C in the next UTM zone (EPSG:32634).
    pub second_zone: bool,
}

impl SynthSpec {
    /// Unit tests: 64×64-pixel granules, 4 dates in June 2023, both zones (12 items).
    pub fn tiny() -> Self {
        SynthSpec {
            size: 64,
            dates: 4,
            start: (2023, 6, 1),
            revisit_days: 5,
            block_size: 32,
            seed: 1,
            second_zone: true,
        }
    }

    /// Integration tests: 256×256-pixel granules, 12 dates from May to July 2023.
    pub fn small() -> Self {
        SynthSpec {
            size: 256,
            dates: 12,
            start: (2023, 5, 1),
            revisit_days: 5,
            block_size: 128,
            seed: 7,
            second_zone: true,
        }
    }

    /// `swath demo`: 512×512-pixel granules, every 5 days through 2023 (73 dates).
    pub fn demo() -> Self {
        SynthSpec {
            size: 512,
            dates: 73,
            start: (2023, 1, 3),
            revisit_days: 5,
            block_size: 256,
            seed: 2023,
            second_zone: true,
        }
    }

    /// Granule width in metres.
    pub(crate) fn width_m(&self) -> f64 {
        f64::from(self.size) * 10.0
    }

    /// Check the spec; every generator entry point calls this first.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidSpec(msg));
        if self.size < 16 || self.size > 10_980 || !self.size.is_multiple_of(2) {
            return bad(format!(
                "size {} must be even and within 16..=10980 pixels",
                self.size
            ));
        }
        if self.dates == 0 || self.dates > 10_000 {
            return bad(format!("dates {} must be within 1..=10000", self.dates));
        }
        if self.revisit_days == 0 || self.revisit_days > 366 {
            return bad(format!(
                "revisit_days {} must be within 1..=366",
                self.revisit_days
            ));
        }
        if self.block_size < 16
            || self.block_size > 4096
            || !self.block_size.is_multiple_of(16)
        {
            return bad(format!(
                "block_size {} must be a multiple of 16 within 16..=4096",
                self.block_size
            ));
        }
        let (y, m, d) = self.start;
        if !(1970..=9000).contains(&y) || !is_valid_date(y, m, d) {
            return bad(format!(
                "start {y:04}-{m:02}-{d:02} is not a date in 1970..9000"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for spec in [SynthSpec::tiny(), SynthSpec::small(), SynthSpec::demo()] {
            assert!(spec.validate().is_ok(), "{spec:?}");
        }
    }

    #[test]
    fn bad_specs_are_refused() {
        let bad = [
            SynthSpec {
                size: 63,
                ..SynthSpec::tiny()
            },
            SynthSpec {
                dates: 0,
                ..SynthSpec::tiny()
            },
            SynthSpec {
                block_size: 40,
                ..SynthSpec::tiny()
            },
            SynthSpec {
                revisit_days: 0,
                ..SynthSpec::tiny()
            },
            SynthSpec {
                start: (2023, 2, 29),
                ..SynthSpec::tiny()
            },
        ];
        for spec in bad {
            assert!(
                matches!(spec.validate(), Err(Error::InvalidSpec(_))),
                "{spec:?}"
            );
        }
    }
}
