//! A bounded quantile sketch: a log-linear histogram of `u64` values (the
//! layout of HdrHistogram with 64 sub-buckets per power of two).
//!
//! Values below 64 have a bucket each (exact). A value `v >= 64` falls in
//! a bucket `2^(e-6)` wide, where `2^e <= v < 2^(e+1)`; a quantile is
//! reported as the middle of its bucket (clamped to the exact minimum and
//! maximum), so it is within `2^(e-7) <= v/128` of the exact value: the
//! relative error is below **1/128 (0.79 %)**, and [`REL_ERROR`] says so
//! for tests. The quantile is the nearest-rank one: the smallest value
//! with at least `q * count` values at or below it.
//!
//! Memory: at most 64 + 58 * 64 = 3 776 buckets, kept sparse (only the
//! buckets that hold values, in a sorted vector), whatever the number of
//! values.

/// Sub-buckets per power of two (and the values counted exactly).
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;

/// The largest relative error of a reported quantile (min and max are exact).
pub const REL_ERROR: f64 = 1.0 / 128.0;

/// A sparse log-linear histogram.
#[derive(Debug, Clone, Default)]
pub struct Sketch {
    /// (bucket, count), sorted by bucket.
    buckets: Vec<(u32, u64)>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

/// The bucket of `v`.
fn bucket(v: u64) -> u32 {
    if v < SUB {
        return v as u32;
    }
    let e = 63 - v.leading_zeros(); // 2^e <= v
    let shift = e - SUB_BITS;
    let sub = (v >> shift) - SUB; // 0..SUB
    ((e - SUB_BITS + 1) << SUB_BITS) + sub as u32
}

/// The lowest value of bucket `b` and its width.
fn range(b: u32) -> (u64, u64) {
    let b = u64::from(b);
    if b < SUB {
        return (b, 1);
    }
    let e = (b >> SUB_BITS) + u64::from(SUB_BITS) - 1;
    let sub = b & (SUB - 1);
    let shift = e - u64::from(SUB_BITS);
    ((SUB + sub) << shift, 1u64 << shift)
}

impl Sketch {
    /// Counts one value.
    pub fn add(&mut self, v: u64) {
        let b = bucket(v);
        match self.buckets.binary_search_by_key(&b, |&(k, _)| k) {
            Ok(i) => {
                if let Some(e) = self.buckets.get_mut(i) {
                    e.1 += 1;
                }
            }
            Err(i) => self.buckets.insert(i, (b, 1)),
        }
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        self.max = self.max.max(v);
        self.count += 1;
        self.sum += u128::from(v);
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The smallest value (exact).
    pub fn min(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    /// The largest value (exact).
    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// The mean (exact).
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The nearest-rank quantile `q` (0 to 1), within [`REL_ERROR`].
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for &(b, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                let (lo, width) = range(b);
                let mid = lo + width / 2;
                return Some(mid.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// Buckets in use (what the sketch holds in memory).
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// The values counted by powers of two, exactly (no bucket straddles
    /// one): `(k, n)` for `n` values of `k` significant bits, i.e. in
    /// `[2^(k-1), 2^k)`, `k = 0` for the value 0. Ascending, no empty ones.
    /// (The report's size histogram.)
    pub fn by_power_of_two(&self) -> Vec<(u32, u64)> {
        let mut out: Vec<(u32, u64)> = Vec::new();
        for &(b, n) in &self.buckets {
            let k = 64 - range(b).0.leading_zeros();
            match out.last_mut() {
                Some((last, m)) if *last == k => *m += n,
                _ => out.push((k, n)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_once_in_order() {
        let mut last = None;
        for v in (0..5000u64).chain([u64::MAX / 3, u64::MAX - 1, u64::MAX]) {
            let b = bucket(v);
            let (lo, w) = range(b);
            assert!(lo <= v && v - lo < w, "{v} in bucket {b} = [{lo}, +{w})");
            if let Some(l) = last {
                assert!(b >= l);
            }
            last = Some(b);
        }
        assert!(bucket(u64::MAX) < 64 + 58 * 64 + 64);
    }

    #[test]
    fn quantiles_within_the_documented_error() {
        // Sizes spread over several powers of two, against exact nearest-rank.
        let mut vals: Vec<u64> = (0..20_000u64).map(|i| (i * 7919) % 1_000_003).collect();
        let mut s = Sketch::default();
        for &v in &vals {
            s.add(v);
        }
        vals.sort_unstable();
        for q in [0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let rank = ((q * vals.len() as f64).ceil() as usize).clamp(1, vals.len());
            let exact = vals[rank - 1] as f64;
            let got = s.quantile(q).unwrap() as f64;
            assert!(
                (got - exact).abs() <= exact * REL_ERROR,
                "q {q}: {got} vs {exact}"
            );
        }
        assert_eq!(s.max(), vals.last().copied());
        assert_eq!(s.min(), vals.first().copied());
        assert!(s.buckets() <= 64 + 58 * 64);
    }

    #[test]
    fn powers_of_two_count_every_value_in_its_range() {
        let vals: Vec<u64> = (0..3000u64)
            .map(|i| (i * 7919) % 100_003)
            .chain([0, 1, 64, 65, u64::MAX])
            .collect();
        let mut s = Sketch::default();
        for &v in &vals {
            s.add(v);
        }
        let mut want = std::collections::BTreeMap::new();
        for &v in &vals {
            *want.entry(64 - v.leading_zeros()).or_insert(0u64) += 1;
        }
        assert_eq!(s.by_power_of_two(), want.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn small_values_are_exact() {
        let mut s = Sketch::default();
        for v in [5u64, 1, 3, 3, 63] {
            s.add(v);
        }
        assert_eq!(s.quantile(0.5), Some(3));
        assert_eq!(s.quantile(0.99), Some(63));
        assert_eq!(s.quantile(0.2), Some(1));
    }
}
