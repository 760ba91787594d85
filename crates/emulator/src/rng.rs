//! A tiny deterministic pseudo-random generator (SplitMix64).
//!
//! The emulator's world must be identical for a given seed on every machine and every run, and
//! it must be cheap to derive an independent stream for "host 42" or "line 1,000,000 of a file"
//! without generating everything before it. SplitMix64 does both in a dozen lines, so no crate.

/// SplitMix64 state. `Rng::derive(seed, &[a, b])` gives an independent stream per key.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A stream that depends on `seed` and every value of `keys`, in order.
    pub fn derive(seed: u64, keys: &[u64]) -> Self {
        let mut r = Rng(seed ^ 0x5851_f42d_4c95_7f2d);
        for k in keys {
            r.0 ^= k.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            r.next_u64();
        }
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0). The tiny modulo bias is irrelevant for a simulation.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// 128 random bits formatted as a version-4 UUID string.
    pub fn uuid(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        let v = ((hi as u128) << 64) | lo as u128;
        let mut buf = uuid::Uuid::encode_buffer();
        uuid::Builder::from_random_bytes(v.to_be_bytes())
            .into_uuid()
            .hyphenated()
            .encode_lower(&mut buf)
            .to_string()
    }

    /// 32 lowercase hex characters (the shape of a Falcon aid or cid).
    pub fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_is_deterministic_and_key_sensitive() {
        let a = Rng::derive(7, &[1, 2]).next_u64();
        assert_eq!(a, Rng::derive(7, &[1, 2]).next_u64());
        assert_ne!(a, Rng::derive(7, &[2, 1]).next_u64());
        assert_ne!(a, Rng::derive(8, &[1, 2]).next_u64());
    }

    #[test]
    fn uuid_has_v4_shape() {
        let u = Rng::new(1).uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        let mut r = Rng::new(9);
        let (hi, lo) = (r.next_u64(), r.next_u64());
        let v = ((hi as u128) << 64) | lo as u128;
        let want = uuid::Builder::from_random_bytes(v.to_be_bytes())
            .into_uuid()
            .to_string();
        assert_eq!(Rng::new(9).uuid(), want);
    }
}
