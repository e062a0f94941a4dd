//! Mask kernels: dilation by a disk.

/// Dilate a `rows × cols` mask (nonzero = set) by a disk of `radius` pixels (the
/// pixels with dy² + dx² ≤ radius², as `skimage.morphology.disk`), within the tile.
/// Returns 0/1. Each disk row is a horizontal run, computed from prefix counts, so
/// the cost is O(pixels × (2·radius + 1)).
pub fn dilate(mask: &[u8], rows: usize, cols: usize, radius: usize) -> Vec<u8> {
    let mut out = vec![0u8; rows * cols];
    if radius == 0 {
        for (o, m) in out.iter_mut().zip(mask) {
            *o = u8::from(*m != 0);
        }
        return out;
    }
    // prefix[r][c] = set pixels of row r in columns < c
    let mut prefix = vec![0u32; rows * (cols + 1)];
    for r in 0..rows {
        let p = &mut prefix[r * (cols + 1)..(r + 1) * (cols + 1)];
        for c in 0..cols {
            p[c + 1] = p[c] + u32::from(mask[r * cols + c] != 0);
        }
    }
    let r2 = (radius * radius) as i64;
    let half: Vec<usize> = (0..=radius)
        .map(|dy| {
            let dy = dy as i64;
            ((r2 - dy * dy) as f64).sqrt().floor() as usize
        })
        .collect();
    for r in 0..rows {
        for (dy, w) in half.iter().enumerate() {
            for src in [r as i64 - dy as i64, r as i64 + dy as i64] {
                if src < 0 || src >= rows as i64 || (dy == 0 && src != r as i64) {
                    continue;
                }
                let p =
                    &prefix[src as usize * (cols + 1)..(src as usize + 1) * (cols + 1)];
                let row = &mut out[r * cols..(r + 1) * cols];
                for (c, o) in row.iter_mut().enumerate() {
                    if *o == 0 {
                        let lo = c.saturating_sub(*w);
                        let hi = (c + w + 1).min(cols);
                        if p[hi] > p[lo] {
                            *o = 1;
                        }
                    }
                }
                if dy == 0 {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dilation_by_a_disk_by_hand() {
        // one set pixel in the middle of a 5×5 tile, radius 1: a plus sign
        let mut m = vec![0u8; 25];
        m[12] = 1;
        let d = dilate(&m, 5, 5, 1);
        let expected = [
            0, 0, 0, 0, 0, //
            0, 0, 1, 0, 0, //
            0, 1, 1, 1, 0, //
            0, 0, 1, 0, 0, //
            0, 0, 0, 0, 0,
        ];
        assert_eq!(d, expected);
        // radius 2: disk(2) has 13 pixels
        assert_eq!(dilate(&m, 5, 5, 2).iter().filter(|v| **v == 1).count(), 13);
        // a corner pixel stays inside the tile
        let mut c = vec![0u8; 9];
        c[0] = 255;
        assert_eq!(dilate(&c, 3, 3, 1), [1, 1, 0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(dilate(&c, 3, 3, 0), [1, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
}
