//! A small, dependency-free input mutator for the random driver: bit flips, interesting
//! values (0, 0xff.., lengths), byte runs inserted or removed, truncation, chunk copies and
//! splices with another corpus entry. Deterministic for a given seed.

/// xorshift64*: enough randomness for mutation, reproducible from a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

const INTERESTING_32: [u32; 10] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x0100_0000,
];

/// Applies 1 to 8 random mutations to `input`; `other` is a second corpus entry to splice.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8], max_len: usize) -> Vec<u8> {
    let mut out = input.to_vec();
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = out.len();
        match rng.below(11) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = rng.next_u64() as u8;
            }
            2 if len >= 4 => {
                let i = rng.below(len - 3);
                let v = INTERESTING_32[rng.below(INTERESTING_32.len())];
                let bytes = if rng.below(2) == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                out[i..i + 4].copy_from_slice(&bytes);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                out[i] = [0u8, 0x7f, 0x80, 0xff, 0x81, 0x82, 0x84][rng.below(7)];
            }
            4 if len > 1 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                out.drain(i..i + n);
            }
            5 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(32);
                let fill = rng.next_u64() as u8;
                out.splice(i..i, std::iter::repeat_n(fill, n));
            }
            6 if len > 0 => out.truncate(rng.below(len)),
            7 if len > 2 => {
                let from = rng.below(len);
                let n = 1 + rng.below((len - from).min(256));
                let chunk = out[from..from + n].to_vec();
                let to = rng.below(len + 1);
                out.splice(to..to, chunk);
            }
            8 if !other.is_empty() => {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            9 if len >= 2 => {
                let i = rng.below(len - 1);
                let delta = (rng.below(33) as i16 - 16) as u16;
                let v = u16::from_le_bytes([out[i], out[i + 1]]).wrapping_add(delta);
                out[i..i + 2].copy_from_slice(&v.to_le_bytes());
            }
            _ => {
                let i = rng.below(len + 1);
                out.insert(i, rng.next_u64() as u8);
            }
        }
    }
    out.truncate(max_len);
    out
}
