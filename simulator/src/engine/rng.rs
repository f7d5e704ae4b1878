//! A small seeded PRNG (SplitMix64): deterministic across platforms and
//! releases, so a seed names the same simulation forever.

/// A seeded pseudo-random generator. Not cryptographic.
#[derive(Debug, Clone)]
pub struct SimRng {
    state: u64,
}

impl SimRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SimRng { state: seed }
    }

    /// A generator for a named sub-stream of `seed`, so that adding draws in
    /// one place does not shift the draws of another.
    pub fn derive(seed: u64, stream: &str) -> Self {
        // FNV-1a of the name, mixed with the seed.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in stream.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let mut rng = SimRng::new(seed ^ h);
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer in `[low, high]` (inclusive); `low` when the range is empty.
    pub fn range_u64(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        let span = high - low;
        if span == u64::MAX {
            return self.next_u64();
        }
        low + self.next_u64() % (span + 1)
    }

    /// An integer in `[low, high]` (inclusive); `low` when the range is empty.
    pub fn range_i64(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        let span = high.abs_diff(low);
        low.wrapping_add(self.range_u64(0, span) as i64)
    }

    /// An index below `len` (0 when `len` is 0).
    pub fn index(&mut self, len: usize) -> usize {
        if len == 0 {
            0
        } else {
            (self.next_u64() % len as u64) as usize
        }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.next_f64() < p
    }

    /// A standard normal deviate (Box-Muller).
    pub fn standard_normal(&mut self) -> f64 {
        // 1 - u keeps the logarithm's argument in (0, 1].
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// `prefix` and then `len` characters from `[A-Za-z0-9]`, as OpenAI's ids are.
    pub fn id(&mut self, prefix: &str, len: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        // Bytes written in place, then one check: pushing `char`s encodes
        // each one, and pushing bytes checks the room for each.
        let mut id = Vec::with_capacity(prefix.len() + len);
        id.extend_from_slice(prefix.as_bytes());
        id.resize(prefix.len() + len, 0);
        for byte in &mut id[prefix.len()..] {
            *byte = CHARS[(self.next_u64() % CHARS.len() as u64) as usize];
        }
        String::from_utf8(id).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws() {
        let mut a = SimRng::new(42);
        let mut b = SimRng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(
            SimRng::derive(1, "a").next_u64(),
            SimRng::derive(1, "b").next_u64()
        );
    }

    #[test]
    fn ranges_are_inclusive_and_bounded() {
        let mut rng = SimRng::new(7);
        let mut seen = [false; 3];
        for _ in 0..200 {
            let v = rng.range_i64(-1, 1);
            assert!((-1..=1).contains(&v));
            seen[(v + 1) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(rng.range_i64(i64::MIN, i64::MIN), i64::MIN);
        let f = rng.next_f64();
        assert!((0.0..1.0).contains(&f));
    }
}
