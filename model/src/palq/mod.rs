//! PalQuant (docs/palquant.md): a high-precision layer run on a low-precision array as
//! G parallel groups of L-level codes, with cyclic and channel shuffles between groups.
//!
//! This module holds the arithmetic every PalQuant unit and the layer model share:
//! - A weight code `k` in `0..L` stands for `(2k - (L-1)) / (L-1)`, symmetric around zero;
//!   an activation code `j` in `0..L` stands for `j / (L-1)`, in `[0, 1]`.
//! - An unsigned array accumulates `sum(k*j)` and `sum(j)`; the signed dot product, in
//!   units of `1/(L-1)^2`, is `2 * sum(k*j) - (L-1) * sum(j)` ([`GroupSums::result`]).
//! - The shuffles are index permutations ([`cyclic_shuffle`], [`channel_shuffle`]).

pub mod layer;
pub mod pe;
pub mod schedule;
pub mod shuffle;

pub use pe::{PalqPe, PalqPeParams};
pub use shuffle::{PalqShuffleParams, ShuffleKind};

use std::ops::RangeInclusive;

/// The number of levels L a code may take: 2..=16 (a 2-bit code has L = 4).
pub const LEVELS: RangeInclusive<u32> = 2..=16;

/// The code width c for L levels: `ceil(log2 L)` (L = 4 gives 2 bits, L = 5 gives 3).
pub fn code_bits(levels: u32) -> u32 {
    assert!(
        LEVELS.contains(&levels),
        "levels {levels} outside {LEVELS:?}"
    );
    u32::BITS - (levels - 1).leading_zeros()
}

/// The real value of weight code `k` at L levels, `(2k - (L-1)) / (L-1)`, as the exact
/// fraction `(numerator, L-1)`.
pub fn weight_value(levels: u32, k: u32) -> (i64, i64) {
    assert!(k < levels, "weight code {k} not below L = {levels}");
    let m = i64::from(levels) - 1;
    (2 * i64::from(k) - m, m)
}

/// The real value of activation code `j` at L levels, `j / (L-1)`, as `(j, L-1)`.
pub fn activation_value(levels: u32, j: u32) -> (i64, i64) {
    assert!(j < levels, "activation code {j} not below L = {levels}");
    (i64::from(j), i64::from(levels) - 1)
}

/// What an unsigned PalQuant accumulator holds for one group: `sum(k*j)` and `sum(j)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GroupSums {
    /// `sum(k*j)` over the products so far.
    pub kj: u64,
    /// `sum(j)` over the products so far.
    pub j: u64,
}

impl GroupSums {
    /// Adds the product of weight code `k` and activation code `j`.
    pub fn push(&mut self, k: u32, j: u32) {
        self.kj += u64::from(k) * u64::from(j);
        self.j += u64::from(j);
    }

    /// The sums of one dot product of codes, pairwise.
    pub fn of(k: &[u32], j: &[u32]) -> Self {
        assert_eq!(
            k.len(),
            j.len(),
            "weight and activation vectors differ in length"
        );
        let mut s = Self::default();
        for (&k, &j) in k.iter().zip(j) {
            s.push(k, j);
        }
        s
    }

    /// The signed dot product in units of `1/(L-1)^2`: `2 * sum(k*j) - (L-1) * sum(j)`.
    pub fn result(&self, levels: u32) -> i128 {
        2 * i128::from(self.kj) - (i128::from(levels) - 1) * i128::from(self.j)
    }
}

/// The largest `|result|` of a dot product of `k_max` products at L levels:
/// `k_max * (L-1)^2` (every weight at an end of its range, every activation at 1).
pub fn max_abs_result(levels: u32, k_max: u64) -> u128 {
    let m = u128::from(levels) - 1;
    u128::from(k_max) * m * m
}

/// The cyclic shuffle of `channels` channels in `groups` equal groups: output group `g`
/// is input group `(g + 1) mod G` (`[g0, g1, g2, g3] -> [g1, g2, g3, g0]`). Returns, for
/// each output position, the input position it takes.
pub fn cyclic_shuffle(groups: usize, channels: usize) -> Vec<usize> {
    let per = group_size(groups, channels);
    (0..channels)
        .map(|o| ((o / per + 1) % groups) * per + o % per)
        .collect()
}

/// The channel shuffle of `channels` channels in `groups` equal groups: the G x C/G
/// transpose, so output position `i*G + g` takes input position `g*(C/G) + i` (for G = 2,
/// C = 6: `[0, 1, 2, 3, 4, 5] -> [0, 3, 1, 4, 2, 5]`). Returns, for each output position,
/// the input position it takes.
pub fn channel_shuffle(groups: usize, channels: usize) -> Vec<usize> {
    let per = group_size(groups, channels);
    (0..channels)
        .map(|o| (o % groups) * per + o / groups)
        .collect()
}

/// Applies a permutation from [`cyclic_shuffle`] or [`channel_shuffle`] to a vector.
pub fn permute<T: Copy>(perm: &[usize], v: &[T]) -> Vec<T> {
    assert_eq!(
        perm.len(),
        v.len(),
        "permutation and vector differ in length"
    );
    perm.iter().map(|&i| v[i]).collect()
}

fn group_size(groups: usize, channels: usize) -> usize {
    assert!(
        groups > 0 && channels.is_multiple_of(groups),
        "{channels} channels do not split into {groups} equal groups"
    );
    channels / groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked case of issue 17: k = [0, 3, 1, 2], j = [3, 1, 2, 0] at L = 4.
    #[test]
    fn worked_case() {
        let s = GroupSums::of(&[0, 3, 1, 2], &[3, 1, 2, 0]);
        assert_eq!((s.kj, s.j), (5, 6));
        assert_eq!(s.result(4), -8);
    }

    /// The result is the exact real dot product of the decoded codes, times (L-1)^2.
    #[test]
    fn result_is_the_real_dot_product() {
        for levels in LEVELS {
            let m = i128::from(levels) - 1;
            for k in 0..levels {
                for j in 0..levels {
                    let (wn, wd) = weight_value(levels, k);
                    let (an, ad) = activation_value(levels, j);
                    assert_eq!((wd, ad), (m as i64, m as i64));
                    let s = GroupSums::of(&[k], &[j]);
                    assert_eq!(
                        s.result(levels),
                        i128::from(wn * an),
                        "L {levels} k {k} j {j}"
                    );
                    assert!(s.result(levels).unsigned_abs() <= max_abs_result(levels, 1));
                }
            }
        }
    }

    #[test]
    fn code_widths() {
        let w: Vec<u32> = LEVELS.map(code_bits).collect();
        assert_eq!(w, [1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4]);
    }

    #[test]
    fn shuffles_of_issue_17() {
        assert_eq!(channel_shuffle(2, 6), [0, 3, 1, 4, 2, 5]);
        let groups = ["g0", "g1", "g2", "g3"];
        assert_eq!(
            permute(&cyclic_shuffle(4, 4), &groups),
            ["g1", "g2", "g3", "g0"]
        );
        assert_eq!(cyclic_shuffle(2, 6), [3, 4, 5, 0, 1, 2]);
    }

    #[test]
    fn shuffles_are_permutations() {
        for g in 1..=8 {
            for per in 1..=6 {
                for p in [cyclic_shuffle(g, g * per), channel_shuffle(g, g * per)] {
                    let mut s = p.clone();
                    s.sort_unstable();
                    assert_eq!(s, (0..g * per).collect::<Vec<_>>());
                }
            }
        }
    }
}
