//! The PalQuant processing-element array `palq-pe` (docs/palquant.md): G groups of P
//! lanes of unsigned L-level code products, one pair of accumulators per group, and
//! the signed correction of [`GroupSums::result`] at read-out.
//!
//! Per accepted beat and group g: `kj_g <= wrap((clear ? 0 : kj_g) + sum_p w_gp * a_gp)`
//! and `j_g <= wrap((clear ? 0 : j_g) + sum_p a_gp)`, each modulo 2^its width; the
//! output `y_g = wrap_Y(2 * kj_g - (L-1) * j_g)` is read from the registers.
//!
//! Choices made here and mirrored by the RTL:
//! - Codes `>= L` (possible when L is not a power of two: L = 3 has 2-bit codes 0..=3)
//!   are accepted and computed by the same formula; they have no real value, but the
//!   widths are sized for them (`code_max = 2^c - 1`), so the RTL is exact for every
//!   input bit pattern. For a power of two L the bounds are the in-contract ones,
//!   `+-K (L-1)^2`.
//! - `--k-max K` counts products per group per dot product (P per beat). Up to K
//!   products every register is exact; past K they wrap modulo 2^width (as
//!   `range-stats` does) and `y` is the formula on the wrapped registers, wrapped to Y.
//! - Latency 1, as `mac`: the beat of cycle t shows on `y` with `out_valid` in cycle
//!   t + 1; `clear` on a valid beat starts a new dot product with that beat's products;
//!   reset zeroes every register.

use serde::{Deserialize, Serialize};

use super::{code_bits, GroupSums, LEVELS};
use crate::iface::{get_field, set_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::param::{Flags, Param, Params};
use crate::unit::{ParamError, UnitParams};

/// `--groups`: the number of groups G.
pub const GROUPS: Param = Param::int(
    "--groups",
    "G",
    1..=16,
    Some(4),
    "Number of groups G (one accumulator pair and one result each)",
);
/// `--lanes`: products per group per beat.
pub const LANES: Param = Param::int(
    "--lanes",
    "P",
    1..=32,
    Some(8),
    "Lanes P per group: code products per group per beat",
);
/// `--levels`: the number of code levels L.
pub const LEVELS_FLAG: Param = Param::int(
    "--levels",
    "L",
    2..=16,
    Some(4),
    "Levels L of the weight and activation codes (code width ceil(log2 L); 4 = 2-bit)",
);
/// `--k-max`: the longest exact dot product.
pub const K_MAX: Param = Param::int(
    "--k-max",
    "K",
    1..=1_048_576,
    Some(1024),
    "Products per group in one dot product that the accumulators hold exactly (past K they wrap)",
);

/// Parameters of `palq-pe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PalqPeParams {
    /// Groups G, 1..=16.
    pub groups: u32,
    /// Lanes P per group, 1..=32.
    pub lanes: u32,
    /// Code levels L, 2..=16.
    pub levels: u32,
    /// Products per group per dot product held exactly, 1..=2^20.
    pub k_max: u32,
}

impl Default for PalqPeParams {
    /// G = 4 groups of P = 8 lanes of 2-bit codes (L = 4), dot products of up to 1024.
    fn default() -> Self {
        PalqPeParams {
            groups: GROUPS.default_u32(),
            lanes: LANES.default_u32(),
            levels: LEVELS_FLAG.default_u32(),
            k_max: K_MAX.default_u32(),
        }
    }
}

impl Params for PalqPeParams {
    const PARAMS: &'static [Param] = &[GROUPS, LANES, LEVELS_FLAG, K_MAX];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        Ok(PalqPeParams {
            groups: GROUPS.u32(flags)?,
            lanes: LANES.u32(flags)?,
            levels: LEVELS_FLAG.u32(flags)?,
            k_max: K_MAX.u32(flags)?,
        })
    }
}

impl PalqPeParams {
    /// The code width c.
    pub fn code_bits(&self) -> u32 {
        code_bits(self.levels)
    }

    /// The largest code a c-bit port carries, `2^c - 1` (L - 1 when L is a power of two).
    pub fn code_max(&self) -> u32 {
        (1 << self.code_bits()) - 1
    }

    /// Code products per beat, G * P.
    pub fn products(&self) -> u32 {
        self.groups * self.lanes
    }

    /// Width of a `sum(k*j)` accumulator: holds `K * code_max^2`.
    pub fn kj_bits(&self) -> u32 {
        let m = u128::from(self.code_max());
        crate::int::unsigned_bits(u128::from(self.k_max) * m * m)
    }

    /// Width of a `sum(j)` accumulator: holds `K * code_max`.
    pub fn j_bits(&self) -> u32 {
        crate::int::unsigned_bits(u128::from(self.k_max) * u128::from(self.code_max()))
    }

    /// The extremes of one product's term `j * (2k - (L-1))` over every c-bit code pair:
    /// `-code_max (L-1)` (k = 0) and `code_max (2 code_max - (L-1))`.
    pub fn term_range(&self) -> (i128, i128) {
        let (m, l1) = (i128::from(self.code_max()), i128::from(self.levels) - 1);
        (-m * l1, m * (2 * m - l1))
    }

    /// Width Y of each result: the exact signed width of K times [`Self::term_range`]
    /// (for L a power of two, of `+-K (L-1)^2` = `super::max_abs_result`).
    pub fn out_bits(&self) -> u32 {
        let (lo, hi) = self.term_range();
        let k = i128::from(self.k_max);
        crate::accwidth::Worst {
            min: k * lo,
            max: k * hi,
        }
        .signed_width()
    }
}

impl UnitParams for PalqPeParams {
    const KIND: &'static str = "palq_pe";

    fn validate(&self) -> Result<(), ParamError> {
        GROUPS.check(self.groups)?;
        LANES.check(self.lanes)?;
        LEVELS_FLAG.check(self.levels)?;
        debug_assert!(LEVELS.contains(&self.levels));
        K_MAX.check(self.k_max)
    }

    /// e.g. `palq_pe_g4_p8_l4_k1024`.
    fn module_name(&self) -> String {
        format!(
            "palq_pe_g{}_p{}_l{}_k{}",
            self.groups, self.lanes, self.levels, self.k_max
        )
    }

    /// clk, rst, in_valid, clear, w, a -> y, out_valid; group g's lane p at
    /// `[c*(g*P + p) +: c]`, group g's result at `[Y*g +: Y]`.
    fn interface(&self) -> Interface {
        let (c, n) = (self.code_bits(), self.products());
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::bit("clear", Dir::In, Role::Clear),
                Port::int_or_vec("w", Dir::In, c, false, n),
                Port::int_or_vec("a", Dir::In, c, false, n),
                Port::int_or_vec("y", Dir::Out, self.out_bits(), true, self.groups),
                Port::bit("out_valid", Dir::Out, Role::OutValid),
            ],
        }
    }

    fn latency(&self) -> u32 {
        1
    }

    /// G * P code products per beat.
    fn macs_per_cycle(&self) -> f64 {
        f64::from(self.products())
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(PalqPe::new(*self)?))
    }
}

/// Cycle model of `palq-pe`.
#[derive(Clone, Debug)]
pub struct PalqPe {
    p: PalqPeParams,
    iface: Interface,
    sums: Vec<GroupSums>,
    out_valid: bool,
}

impl PalqPe {
    /// The array in its reset state. Fails when a parameter is out of range.
    pub fn new(p: PalqPeParams) -> Result<PalqPe, ParamError> {
        p.validate()?;
        Ok(PalqPe {
            iface: p.interface(),
            sums: vec![GroupSums::default(); p.groups as usize],
            out_valid: false,
            p,
        })
    }

    /// The accumulators, one pair per group (wrapped to their widths).
    pub fn sums(&self) -> &[GroupSums] {
        &self.sums
    }

    /// The result of group g as the registers give it: `2 kj - (L-1) j`, wrapped to Y.
    pub fn result(&self, g: usize) -> i128 {
        int::wrap(self.sums[g].result(self.p.levels), self.p.out_bits(), true)
    }

    /// Whether `y` shows the result of a beat this cycle.
    pub fn out_valid(&self) -> bool {
        self.out_valid
    }

    /// One clock cycle with codes `w[g*P + p]`, `a[g*P + p]`: the outputs are read from
    /// [`PalqPe::result`] and [`PalqPe::out_valid`] before the edge this takes.
    pub fn clock(&mut self, rst: bool, valid: bool, clear: bool, w: &[u32], a: &[u32]) {
        if rst {
            self.sums.fill(GroupSums::default());
            self.out_valid = false;
            return;
        }
        if valid {
            let (kb, jb, lanes) = (self.p.kj_bits(), self.p.j_bits(), self.p.lanes as usize);
            for (g, s) in self.sums.iter_mut().enumerate() {
                if clear {
                    *s = GroupSums::default();
                }
                for i in g * lanes..(g + 1) * lanes {
                    s.push(w[i], a[i]);
                }
                s.kj &= (1u64 << kb) - 1;
                s.j &= (1u64 << jb) - 1;
            }
        }
        self.out_valid = valid;
    }
}

impl CycleModel for PalqPe {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let (c, n, y) = (self.p.code_bits(), self.p.products(), self.p.out_bits());
        let out = split(self.iface.outputs(), outputs);
        let y_words = out[0].len();
        outputs.fill(0);
        for g in 0..self.p.groups {
            let r = int::to_bits(self.result(g as usize), y) as u64;
            set_field(&mut outputs[..y_words], g * y, y, r);
        }
        outputs[y_words] = self.out_valid.into();
        // rst, in_valid, clear, w, a.
        let i = split(self.iface.beat_inputs(), inputs);
        let codes = |words: &[u64]| -> Vec<u32> {
            (0..n).map(|k| get_field(words, k * c, c) as u32).collect()
        };
        let (w, a) = (codes(i[3]), codes(i[4]));
        self.clock(i[0][0] & 1 == 1, i[1][0] & 1 == 1, i[2][0] & 1 == 1, &w, &a);
    }
}

impl crate::unit::Unit for PalqPeParams {
    const COMMAND: &'static str = "palq-pe";
    const SUMMARY: &'static str =
        "PalQuant array: G groups x P lanes of unsigned L-level code MACs, signed at read-out";
    const ABOUT: &'static str = "Per group, unsigned accumulators of sum(k*j) and sum(j) \
over the lanes' weight codes k and activation codes j (an adder tree per group); \
y = 2*sum(k*j) - (L-1)*sum(j), the signed dot product of the PalQuant values \
(2k-(L-1))/(L-1) and j/(L-1) in units of 1/(L-1)^2. Exact for K products, wrapping past.";
    const DOCS: &'static str = "docs/palquant.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--groups 4 --lanes 8 --levels 4",
            "4 groups of 8 lanes of 2-bit codes, dot products of up to 1024",
        ),
        (
            "--groups 2 --lanes 4 --levels 3 --k-max 64",
            "ternary codes in 2 groups of 4 lanes",
        ),
        (
            "--levels 16 --k-max 65536 --pipeline 2",
            "4-bit codes, long dot products, two pipeline registers",
        ),
    ];

    /// The default, a ternary array (codes above L - 1 on its 2-bit ports), the
    /// one-bit corner (L = 2, one lane, scalar ports), and 4-bit codes at the largest K.
    fn proof_set() -> Vec<Self> {
        let mk = |groups, lanes, levels, k_max| PalqPeParams {
            groups,
            lanes,
            levels,
            k_max,
        };
        vec![
            PalqPeParams::default(),
            mk(2, 3, 3, 5),
            mk(1, 1, 2, 1),
            mk(2, 2, 16, *K_MAX.range().end()),
        ]
    }

    /// Quantized rows through the array (`crate::study::block`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::block::palq_pe(self, workload))
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        let k_max = {
            let top = rng.int(0..=20);
            let base = 1u32 << top;
            (base + rng.int(0..=base - 1)).min(*K_MAX.range().end())
        };
        loop {
            let p = PalqPeParams {
                groups: rng.int(GROUPS.range()),
                lanes: rng.int(LANES.range()),
                levels: rng.int(LEVELS_FLAG.range()),
                k_max,
            };
            // Every parameter over its range, but at most 64 lanes in all, so that a
            // sample builds and co-simulates in seconds.
            if p.products() <= 64 {
                return p;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17's worked case: k = [0, 3, 1, 2], j = [3, 1, 2, 0] at L = 4 gives
    /// sum(k*j) = 5, sum(j) = 6 and y = 2*5 - 3*6 = -8.
    #[test]
    fn worked_case() {
        let p = PalqPeParams {
            groups: 1,
            lanes: 4,
            levels: 4,
            k_max: 4,
        };
        let mut m = PalqPe::new(p).unwrap();
        m.clock(false, true, true, &[0, 3, 1, 2], &[3, 1, 2, 0]);
        assert_eq!((m.sums()[0].kj, m.sums()[0].j), (5, 6));
        assert_eq!(m.result(0), -8);
        assert!(m.out_valid());
    }

    #[test]
    fn widths() {
        let d = PalqPeParams::default();
        assert_eq!(d.module_name(), "palq_pe_g4_p8_l4_k1024");
        assert_eq!((d.code_bits(), d.code_max()), (2, 3));
        // 1024 * 9 = 9216 < 2^14; 1024 * 3 = 3072 < 2^12; +-9216 in 15 bits.
        assert_eq!((d.kj_bits(), d.j_bits(), d.out_bits()), (14, 12, 15));
        assert_eq!(
            u128::from(d.k_max) * 9,
            super::super::max_abs_result(4, 1024)
        );
        // L = 3: codes 0..=3 on the port; terms from -3*2 = -6 to 3*(6-2) = 12.
        let t = PalqPeParams {
            levels: 3,
            k_max: 5,
            ..d
        };
        assert_eq!(t.term_range(), (-6, 12));
        assert_eq!(t.out_bits(), 7); // -30..=60
        let big = PalqPeParams {
            levels: 16,
            k_max: 1 << 20,
            ..d
        };
        assert_eq!((big.kj_bits(), big.j_bits(), big.out_bits()), (28, 24, 29));
    }

    /// Exact for exactly K products of the worst codes, and wrapping one beat later.
    #[test]
    fn exact_to_k_then_wraps() {
        for levels in [3, 4, 5, 16] {
            let p = PalqPeParams {
                groups: 2,
                lanes: 2,
                levels,
                k_max: 6,
            };
            let m = p.code_max();
            let mut e = PalqPe::new(p).unwrap();
            for beat in 0..3 {
                // group 0 at the largest term, group 1 at the smallest.
                e.clock(false, true, beat == 0, &[m, m, 0, 0], &[m, m, m, m]);
            }
            let (lo, hi) = p.term_range();
            assert_eq!((e.result(0), e.result(1)), (6 * hi, 6 * lo), "L {levels}");
            e.clock(false, true, false, &[m, m, 0, 0], &[m, m, m, m]);
            let raw =
                2 * i128::from(e.sums()[0].kj) - i128::from(levels - 1) * i128::from(e.sums()[0].j);
            assert_eq!(e.result(0), int::wrap(raw, p.out_bits(), true));
            assert!(e.sums()[0].kj < 1 << p.kj_bits());
        }
    }

    #[test]
    fn beat_layout_and_latency() {
        let p = PalqPeParams {
            groups: 2,
            lanes: 2,
            levels: 4,
            k_max: 4,
        };
        let mut m = PalqPe::new(p).unwrap();
        let mut o = vec![0u64; p.interface().out_words()];
        // Group 1 lane 0: k = 3, j = 2 -> 2*6 - 3*2 = 6; group 0 lane 1: k = 0, j = 1 -> -3.
        let (w, a) = ((3u64 << 4), (2u64 << 4) | (1 << 2));
        m.step(&[0, 1, 1, w, a], &mut o);
        assert_eq!(o, [0, 0]);
        m.step(&[0, 0, 0, 0, 0], &mut o);
        let y = p.out_bits();
        let y0 = int::from_bits(get_field(&o, 0, y).into(), y, true);
        let y1 = int::from_bits(get_field(&o, y, y).into(), y, true);
        assert_eq!((y0, y1, o[1]), (-3, 6, 1));
        m.step(&[1, 0, 0, 0, 0], &mut o);
        m.step(&[0, 0, 0, 0, 0], &mut o);
        assert_eq!(o, [0, 0]);
    }

    #[test]
    fn bad_parameters_name_the_flag() {
        let e = PalqPeParams {
            k_max: 0,
            ..PalqPeParams::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.param, "--k-max");
        let e = PalqPeParams {
            levels: 17,
            ..PalqPeParams::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.param, "--levels");
    }
}
