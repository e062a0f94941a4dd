//! Deterministic randomness: the splitmix64 mixer as a stateless hash of integer
//! coordinates (so a value depends only on where and when it is, never on the order
//! of evaluation) and as a small sequential generator.

/// The splitmix64 increment (the golden ratio in 64 bits).
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// splitmix64's finaliser: a bijective avalanche of 64 bits.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 64-bit hash of `seed` and a few integers.
#[inline]
pub(crate) fn hash(seed: u64, parts: &[i64]) -> u64 {
    hash_from(start(seed), parts)
}

/// The state [`hash`] starts from for `seed`, to hoist out of loops.
#[inline]
pub(crate) fn start(seed: u64) -> u64 {
    mix(seed ^ GAMMA)
}

/// [`hash`] of `seed` and `parts`, given `start(seed)`.
#[inline]
pub(crate) fn hash_from(mut h: u64, parts: &[i64]) -> u64 {
    for &p in parts {
        h = mix(h.wrapping_add(p as u64).wrapping_add(GAMMA));
    }
    h
}

/// The top 53 bits of `h` as a float in `[0, 1)`.
#[inline]
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform float in `[0, 1)` from `seed` and integer coordinates.
#[inline]
pub(crate) fn unit_at(seed: u64, parts: &[i64]) -> f64 {
    unit(hash(seed, parts))
}

/// Sequential splitmix64 for per-date parameters.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    /// A generator for `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        mix(self.0)
    }

    /// A uniform float in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// A uniform float in `[lo, hi)`.
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // splitmix64 seeded with 0 (Vigna's reference implementation).
        let mut r = SplitMix::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn hash_is_order_sensitive_and_uniform() {
        assert_ne!(hash(1, &[1, 2]), hash(1, &[2, 1]));
        assert_ne!(hash(1, &[1, 2]), hash(2, &[1, 2]));
        let n = 100_000;
        let mean = (0..n).map(|i| unit_at(7, &[i, -i])).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
    }
}
