//! A fast, randomly seeded hasher for the connection tables, which are looked up for every
//! packet and every flow event.
//!
//! std's SipHash costs more than the rest of a packet's bookkeeping; connection keys are a few
//! fixed-size integers, for which one folded multiply per word is enough. The seed is drawn from
//! std's [`RandomState`] per table, so a crafted capture cannot aim for collisions it could
//! compute in advance.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};

/// A `HashMap` with [`FastState`].
pub type FastMap<K, V> = HashMap<K, V, FastState>;

/// Builds [`FastHasher`]s with one random seed.
#[derive(Debug, Clone)]
pub struct FastState {
    seed: u64,
}

impl Default for FastState {
    fn default() -> Self {
        Self {
            seed: RandomState::new().build_hasher().finish() | 1,
        }
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher { state: self.seed }
    }
}

/// Folded-multiply hasher: each word is mixed into the state by a 64×64→128-bit multiply whose
/// halves are xored together.
#[derive(Debug, Clone)]
pub struct FastHasher {
    state: u64,
}

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

impl FastHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        let product = u128::from(self.state ^ word) * u128::from(MULTIPLIER);
        self.state = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        self.mix(bytes.len() as u64);
    }

    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    fn write_u128(&mut self, i: u128) {
        self.mix(i as u64);
        self.mix((i >> 64) as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }

    fn finish(&self) -> u64 {
        // One more round so the last word reaches the high bits hashbrown groups by.
        let product = u128::from(self.state) * u128::from(MULTIPLIER);
        (product as u64) ^ ((product >> 64) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_hash_equal_and_neighbours_differ() {
        let s = FastState::default();
        let h = |k: (u128, u128, u16, u16)| s.hash_one(k);
        assert_eq!(h((1, 2, 3, 4)), h((1, 2, 3, 4)));
        let base = h((1, 2, 3, 4));
        assert_ne!(base, h((1, 2, 3, 5)));
        assert_ne!(base, h((1, 3, 3, 4)));
        assert_ne!(h((0, 0, 0, 0)), h((0, 0, 0, 1)));
        // Different seeds spread the same key differently.
        assert_ne!(
            FastState { seed: 3 }.hash_one(7u64),
            FastState { seed: 5 }.hash_one(7u64)
        );
    }
}
