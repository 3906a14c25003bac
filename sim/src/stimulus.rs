//! Random beat streams shaped by port roles: the stimulus of the generic co-simulation
//! tests and of `gen sweep`'s cosim stage. Rare resets, mostly valid beats, some clears
//! and idle cycles, uniform random bits on `rnd` ports, and data shaped by each port's
//! format (corner values for integers, block-shaped binary32 values).

use model::iface::{set_field, Format, Interface, Port, Role};

/// xorshift64*: small, fast and reproducible from a seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// True with probability 1/n.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.next_u64().is_multiple_of(n)
    }
}

/// A random value of `width` bits, biased towards the corners (0, ±1, the extremes) where
/// saturation and overflow live.
pub fn corner_biased(rng: &mut Rng, width: u32) -> u64 {
    let mask = if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let v = match rng.next_u64() % 8 {
        0 => 0,
        1 => 1,
        2 => mask,            // -1, or the unsigned maximum
        3 => mask >> 1,       // signed maximum
        4 => (mask >> 1) + 1, // signed minimum
        _ => rng.next_u64(),
    };
    v & mask
}

/// A binary32 value for a block whose largest exponent is near `base`: zeros,
/// subnormals, NaN and infinity, powers of two, values just below a power of two (they
/// round up into the clamp), and ordinary normals a few octaves down, of either sign.
pub fn block_float(rng: &mut Rng, base: i32) -> u32 {
    let sign = ((rng.next_u64() & 1) as u32) << 31;
    let normal =
        |e: i32, man: u32| sign | ((e + 127).clamp(1, 254) as u32) << 23 | (man & 0x7f_ffff);
    let (r, below, man) = (
        rng.next_u64() % 32,
        (rng.next_u64() % 12) as i32,
        rng.next_u64() as u32,
    );
    match r {
        0..=3 => sign,                                       // zero
        4 => sign | (man & 0x7f_ffff).max(1),                // subnormal
        5 => sign | 0x7f80_0000 | (man % 3),                 // infinity or NaN
        6..=10 => normal(base - below % 4, 0),               // power of two
        11..=13 => normal(base, 0x7f_ffff - man % 0x4_0000), // just below a power of two
        _ => normal(base - below, man),                      // ordinary
    }
}

/// Values for one data port.
fn data_value(rng: &mut Rng, p: &Port, out: &mut Vec<u64>) {
    let start = out.len();
    out.resize(start + p.words(), 0);
    let words = &mut out[start..];
    match p.format {
        Format::Binary32 { count } => {
            // Mostly a common scale per beat, sometimes the extremes of the range.
            let base = match rng.next_u64() % 8 {
                0 => 127,
                1 => -126,
                _ => (rng.next_u64() % 81) as i32 - 40,
            };
            for i in 0..count {
                set_field(words, 32 * i, 32, u64::from(block_float(rng, base)));
            }
        }
        _ => {
            for (w, word) in words.iter_mut().enumerate() {
                let bits = (p.width - 64 * w as u32).min(64);
                *word = corner_biased(rng, bits);
            }
        }
    }
}

/// A random stream of `beats` beats for `iface`: rare resets, mostly valid beats, some
/// clears, idle cycles, uniform random bits, and data shaped by each port's format.
/// Layout as in `model::iface`.
pub fn random_stimulus(iface: &Interface, beats: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(beats * iface.in_words());
    for _ in 0..beats {
        for p in iface.beat_inputs() {
            match p.role {
                Role::Reset => out.push(rng.one_in(97) as u64),
                Role::InValid => out.push(!rng.one_in(5) as u64),
                Role::Clear => out.push(rng.one_in(13) as u64),
                Role::Random => {
                    for w in 0..p.words() {
                        let bits = (p.width - 64 * w as u32).min(64);
                        let mask = if bits == 64 {
                            u64::MAX
                        } else {
                            (1u64 << bits) - 1
                        };
                        out.push(rng.next_u64() & mask);
                    }
                }
                _ => data_value(&mut rng, p, &mut out),
            }
        }
    }
    out
}
