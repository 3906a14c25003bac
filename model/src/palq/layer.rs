//! The PalQuant layer model (docs/palq-shuffle.md): a layer as a grouped convolution of
//! L-level codes, computed two ways, and the beat stream a G x P `palq_pe` array runs.
//!
//! - Activations are codes `j` (value `j/(L-1)`), C_in channels of H x W, laid out
//!   `[c][y][x]`. Weights are codes `k` (value `(2k-(L-1))/(L-1)`) for G groups: output
//!   channel `o` is in group `g = o / (C_out/G)` and sees only input channels
//!   `g*(C_in/G) ..` of its group; its weights are laid out `[o][i][ky][kx]`, i the rank
//!   of the input channel in the group. Kernels are 1x1 or 3x3, stride 1; a 3x3 kernel
//!   reads a zero border (activation code 0, value 0), so the output is H x W too.
//! - [`Layer::real`] decodes every code to its exact value ([`Ratio`]) and sums products:
//!   the layer in real numbers. [`Layer::integer`] runs each output's dot product through
//!   [`GroupSums`] and [`GroupSums::result`], the integer datapath of the array, in
//!   units of `1/(L-1)^2`. They agree exactly: `real * (L-1)^2 == integer`.
//! - [`Block`]: two grouped layers with a channel or cyclic shuffle between them (and a
//!   stand-in activation quantizer, [`quantize`]), equal to the same two layers as dense
//!   convolutions ([`dense_conv`]) whose weight matrices are block-diagonal in the
//!   shuffled channel order ([`Block::dense_second`]).
//! - The stream of beats a G x P array runs for a layer is in [`super::schedule`].

use super::{activation_value, permute, weight_value, GroupSums, ShuffleKind};

/// An exact rational number in lowest terms, denominator positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Ratio {
    /// `num / den` (`den` not zero).
    pub fn new(num: i128, den: i128) -> Ratio {
        assert!(den != 0, "zero denominator");
        let g = gcd(num, den).max(1) * den.signum();
        Ratio {
            num: num / g,
            den: den / g,
        }
    }

    /// The integer `n`.
    pub fn int(n: i128) -> Ratio {
        Ratio { num: n, den: 1 }
    }

    pub fn num(self) -> i128 {
        self.num
    }

    pub fn den(self) -> i128 {
        self.den
    }
}

impl std::ops::Add for Ratio {
    type Output = Ratio;

    /// Exact sum, checked.
    fn add(self, o: Ratio) -> Ratio {
        let num = self
            .num
            .checked_mul(o.den)
            .and_then(|a| o.num.checked_mul(self.den).and_then(|b| a.checked_add(b)))
            .expect("rational sum overflows i128");
        Ratio::new(
            num,
            self.den.checked_mul(o.den).expect("denominator overflow"),
        )
    }
}

impl std::ops::Mul for Ratio {
    type Output = Ratio;

    /// Exact product, checked.
    fn mul(self, o: Ratio) -> Ratio {
        Ratio::new(
            self.num.checked_mul(o.num).expect("numerator overflow"),
            self.den.checked_mul(o.den).expect("denominator overflow"),
        )
    }
}

/// Activation codes, channels x H x W, laid out `[c][y][x]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activations {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub codes: Vec<u32>,
}

impl Activations {
    /// The code of channel `c` at row `y`, column `x`; 0 (the zero border) outside.
    pub fn at(&self, c: usize, y: isize, x: isize) -> u32 {
        if y < 0 || x < 0 || y >= self.height as isize || x >= self.width as isize {
            return 0;
        }
        self.codes[(c * self.height + y as usize) * self.width + x as usize]
    }

    /// The same activations with their channels permuted: channel `o` of the result is
    /// channel `perm[o]` of `self` (a shuffle between layers).
    pub fn permuted(&self, perm: &[usize]) -> Activations {
        let plane = self.height * self.width;
        let planes: Vec<&[u32]> = self.codes.chunks(plane).collect();
        Activations {
            codes: permute(perm, &planes).concat(),
            ..self.clone()
        }
    }
}

/// One grouped convolution layer of L-level weight codes (module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// Levels L of every code, 2..=16.
    pub levels: u32,
    /// Groups G.
    pub groups: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    /// Kernel size, 1 or 3.
    pub kernel: usize,
    /// Weight codes `[o][i][ky][kx]`, `i` in `0..C_in/G`.
    pub weights: Vec<u32>,
}

impl Layer {
    /// Panics unless the shapes fit together and every code is below L.
    pub fn check(&self, act: &Activations) {
        assert!(
            super::LEVELS.contains(&self.levels),
            "levels {}",
            self.levels
        );
        assert!(
            self.kernel == 1 || self.kernel == 3,
            "kernel {}",
            self.kernel
        );
        assert!(
            self.groups > 0
                && self.in_channels.is_multiple_of(self.groups)
                && self.out_channels.is_multiple_of(self.groups),
            "{} and {} channels do not split into {} groups",
            self.in_channels,
            self.out_channels,
            self.groups
        );
        assert_eq!(self.weights.len(), self.out_channels * self.products());
        assert_eq!(act.channels, self.in_channels, "input channels");
        assert_eq!(act.codes.len(), act.channels * act.height * act.width);
        assert!(self.weights.iter().all(|&k| k < self.levels), "weight code");
        assert!(
            act.codes.iter().all(|&j| j < self.levels),
            "activation code"
        );
    }

    /// Input channels per group, C_in/G.
    pub fn group_in(&self) -> usize {
        self.in_channels / self.groups
    }

    /// Output channels per group, C_out/G.
    pub fn group_out(&self) -> usize {
        self.out_channels / self.groups
    }

    /// Products in one output's dot product: `C_in/G * k * k`.
    pub fn products(&self) -> usize {
        self.group_in() * self.kernel * self.kernel
    }

    /// The weight code of output channel `o` for its group's input rank `i` at `(ky, kx)`.
    pub fn weight(&self, o: usize, i: usize, ky: usize, kx: usize) -> u32 {
        let k = self.kernel;
        self.weights[((o * self.group_in() + i) * k + ky) * k + kx]
    }

    /// The operands of output `(o, y, x)`'s dot product, weight codes and activation
    /// codes pairwise, in the order `[i][ky][kx]` (border taps have activation code 0).
    pub fn taps(&self, act: &Activations, o: usize, y: usize, x: usize) -> (Vec<u32>, Vec<u32>) {
        let (k, r) = (self.kernel, (self.kernel / 2) as isize);
        let base = (o / self.group_out()) * self.group_in();
        let mut w = Vec::with_capacity(self.products());
        let mut a = Vec::with_capacity(self.products());
        for i in 0..self.group_in() {
            for ky in 0..k {
                for kx in 0..k {
                    w.push(self.weight(o, i, ky, kx));
                    let (yy, xx) = (y as isize + ky as isize - r, x as isize + kx as isize - r);
                    a.push(act.at(base + i, yy, xx));
                }
            }
        }
        (w, a)
    }

    /// (a) The layer in exact real numbers: every code decoded to its value, outputs
    /// `[o][y][x]`.
    pub fn real(&self, act: &Activations) -> Vec<Ratio> {
        self.check(act);
        let r = (self.kernel / 2) as isize;
        let mut out = Vec::with_capacity(self.out_channels * act.height * act.width);
        for o in 0..self.out_channels {
            let g = o / self.group_out();
            for y in 0..act.height as isize {
                for x in 0..act.width as isize {
                    let mut s = Ratio::int(0);
                    for c in g * self.group_in()..(g + 1) * self.group_in() {
                        for dy in -r..=r {
                            for dx in -r..=r {
                                let k = self.weight(
                                    o,
                                    c - g * self.group_in(),
                                    (dy + r) as usize,
                                    (dx + r) as usize,
                                );
                                let (wn, wd) = weight_value(self.levels, k);
                                let (an, ad) =
                                    activation_value(self.levels, act.at(c, y + dy, x + dx));
                                s = s + Ratio::new(wn.into(), wd.into())
                                    * Ratio::new(an.into(), ad.into());
                            }
                        }
                    }
                    out.push(s);
                }
            }
        }
        out
    }

    /// (b) The layer through the array's integer datapath: each output's [`GroupSums`]
    /// and [`GroupSums::result`], in units of `1/(L-1)^2`, outputs `[o][y][x]`.
    pub fn integer(&self, act: &Activations) -> Vec<i128> {
        self.check(act);
        let mut out = Vec::with_capacity(self.out_channels * act.height * act.width);
        for o in 0..self.out_channels {
            for y in 0..act.height {
                for x in 0..act.width {
                    let (w, a) = self.taps(act, o, y, x);
                    out.push(GroupSums::of(&w, &a).result(self.levels));
                }
            }
        }
        out
    }

    /// The layer as a dense convolution over all C_in channels: weight numerators in
    /// units of `1/(L-1)` (`2k - (L-1)`), laid out `[o][c][ky][kx]`, zero where input
    /// channel `c` is outside output `o`'s group, so block-diagonal. Input channel `c`
    /// of the dense matrix is channel `order[c]`'s position, i.e. the dense layer reads
    /// the channel `order` names; [`Layer::dense`] is `dense_in_order(identity)`.
    pub fn dense(&self) -> Vec<i64> {
        let id: Vec<usize> = (0..self.in_channels).collect();
        self.dense_in_order(&id)
    }

    /// The dense weights of this layer applied after a shuffle `perm` of its inputs:
    /// the grouped layer reads shuffled channel `s`, which is input channel `perm[s]`,
    /// so its weight lands in dense column `perm[s]`.
    pub fn dense_in_order(&self, perm: &[usize]) -> Vec<i64> {
        let kk = self.kernel * self.kernel;
        let mut d = vec![0i64; self.out_channels * self.in_channels * kk];
        let m = i64::from(self.levels) - 1;
        for o in 0..self.out_channels {
            let g = o / self.group_out();
            for i in 0..self.group_in() {
                let c = perm[g * self.group_in() + i];
                for t in 0..kk {
                    let k = self.weight(o, i, t / self.kernel, t % self.kernel);
                    d[(o * self.in_channels + c) * kk + t] = 2 * i64::from(k) - m;
                }
            }
        }
        d
    }
}

/// A dense convolution (stride 1, zero border) of activation codes with weight
/// numerators `dense` (`[o][c][ky][kx]`, units of `1/(L-1)`): outputs `[o][y][x]` in
/// units of `1/(L-1)^2`, `sum(w * j)`.
pub fn dense_conv(
    dense: &[i64],
    out_channels: usize,
    kernel: usize,
    act: &Activations,
) -> Vec<i128> {
    let kk = kernel * kernel;
    assert_eq!(dense.len(), out_channels * act.channels * kk);
    let r = (kernel / 2) as isize;
    let mut out = Vec::new();
    for o in 0..out_channels {
        for y in 0..act.height as isize {
            for x in 0..act.width as isize {
                let mut s = 0i128;
                for c in 0..act.channels {
                    for t in 0..kk {
                        let (dy, dx) = ((t / kernel) as isize - r, (t % kernel) as isize - r);
                        let w = dense[(o * act.channels + c) * kk + t];
                        s += i128::from(w) * i128::from(act.at(c, y + dy, x + dx));
                    }
                }
                out.push(s);
            }
        }
    }
    out
}

/// A stand-in for the activation quantizer between layers (not part of the array): a
/// result in units of `1/(L-1)^2` to an activation code, `clamp(max(r, 0) >> shift,
/// 0, L-1)` (ReLU, scale by `2^-shift`, saturate).
pub fn quantize(levels: u32, result: i128, shift: u32) -> u32 {
    let top = i128::from(levels) - 1;
    (result.max(0) >> shift).min(top) as u32
}

/// Two grouped layers with a shuffle of the middle channels between them (module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub first: Layer,
    /// The shuffle of the first layer's C_out channels in its G groups.
    pub shuffle: ShuffleKind,
    pub second: Layer,
    /// [`quantize`]'s shift between the layers.
    pub shift: u32,
}

impl Block {
    /// The permutation between the layers: middle channel `s` as the second layer reads
    /// it is the first layer's output channel `perm[s]`.
    pub fn permutation(&self) -> Vec<usize> {
        self.shuffle
            .permutation(self.first.groups, self.first.out_channels)
    }

    fn middle(&self, act: &Activations, results: &[i128]) -> Activations {
        Activations {
            channels: self.first.out_channels,
            height: act.height,
            width: act.width,
            codes: results
                .iter()
                .map(|&r| quantize(self.first.levels, r, self.shift))
                .collect(),
        }
    }

    /// The block as PalQuant runs it: grouped layer, quantize, shuffle, grouped layer
    /// (results in units of `1/(L-1)^2`).
    pub fn grouped(&self, act: &Activations) -> Vec<i128> {
        let mid = self.middle(act, &self.first.integer(act));
        self.second.integer(&mid.permuted(&self.permutation()))
    }

    /// The second layer's dense weight matrix over the unshuffled middle channels:
    /// block-diagonal once its columns are put in the shuffled order.
    pub fn dense_second(&self) -> Vec<i64> {
        self.second.dense_in_order(&self.permutation())
    }

    /// The same block as two dense convolutions and no shuffle.
    pub fn dense(&self, act: &Activations) -> Vec<i128> {
        let first = dense_conv(
            &self.first.dense(),
            self.first.out_channels,
            self.first.kernel,
            act,
        );
        let mid = self.middle(act, &first);
        dense_conv(
            &self.dense_second(),
            self.second.out_channels,
            self.second.kernel,
            &mid,
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::unit::Sampler;

    pub(crate) fn codes(rng: &mut Sampler, levels: u32, n: usize) -> Vec<u32> {
        (0..n).map(|_| rng.int(0..=levels - 1)).collect()
    }

    pub(crate) fn random_act(
        rng: &mut Sampler,
        levels: u32,
        channels: usize,
        h: usize,
        w: usize,
    ) -> Activations {
        Activations {
            channels,
            height: h,
            width: w,
            codes: codes(rng, levels, channels * h * w),
        }
    }

    pub(crate) fn random_layer(
        rng: &mut Sampler,
        levels: u32,
        groups: usize,
        cin: usize,
        cout: usize,
        kernel: usize,
    ) -> Layer {
        let n = cout * (cin / groups) * kernel * kernel;
        Layer {
            levels,
            groups,
            in_channels: cin,
            out_channels: cout,
            kernel,
            weights: codes(rng, levels, n),
        }
    }

    /// The hand-worked layer: L = 4, G = 2, a 1x1 kernel, 4 -> 2 channels, one pixel,
    /// weights `[0, 3, 1, 2]` and activations `[3, 1, 2, 0]` (issue 17's codes).
    pub(crate) fn worked_layer() -> (Layer, Activations) {
        let layer = Layer {
            levels: 4,
            groups: 2,
            in_channels: 4,
            out_channels: 2,
            kernel: 1,
            weights: vec![0, 3, 1, 2],
        };
        let act = Activations {
            channels: 4,
            height: 1,
            width: 1,
            codes: vec![3, 1, 2, 0],
        };
        (layer, act)
    }

    /// A worked case by hand: L = 4, G = 2, 1x1, 4 -> 2 channels, one pixel. Output 0
    /// sees channels 0, 1 with k = [0, 3]: j = [3, 1] gives -1*1 + 1*(1/3) = -2/3 = -6/9.
    #[test]
    fn worked_one_by_one() {
        let (layer, act) = worked_layer();
        // Output 1 sees channels 2, 3 with k = [1, 2]: (-1/3)(2/3) + (1/3)(0) = -2/9.
        assert_eq!(layer.real(&act), [Ratio::new(-2, 3), Ratio::new(-2, 9)]);
        assert_eq!(layer.integer(&act), [-6, -2]);
        // The whole of issue 17's worked case as one group of four.
        let one = Layer {
            groups: 1,
            out_channels: 1,
            weights: vec![0, 3, 1, 2],
            ..layer
        };
        assert_eq!(one.integer(&act), [-8]);
        assert_eq!(one.real(&act), [Ratio::new(-8, 9)]);
    }

    /// (a) and (b) agree exactly after scaling by (L-1)^2, on random layers.
    #[test]
    fn real_and_integer_agree() {
        let mut rng = Sampler::new(17);
        let mut checked = 0;
        for levels in [2, 3, 4, 5, 8, 16] {
            for groups in [1, 2, 4] {
                for kernel in [1, 3] {
                    for _ in 0..3 {
                        let cin = groups * rng.int(1..=3) as usize;
                        let cout = groups * rng.int(1..=3) as usize;
                        let (h, w) = (rng.int(1..=4) as usize, rng.int(1..=4) as usize);
                        let layer = random_layer(&mut rng, levels, groups, cin, cout, kernel);
                        let act = random_act(&mut rng, levels, cin, h, w);
                        let m2 = i128::from(levels - 1).pow(2);
                        let real = layer.real(&act);
                        let int = layer.integer(&act);
                        assert_eq!(real.len(), cout * h * w);
                        for (r, i) in real.iter().zip(&int) {
                            assert_eq!(*r * Ratio::int(m2), Ratio::int(*i), "{layer:?}");
                            checked += 1;
                        }
                        assert_eq!(dense_conv(&layer.dense(), cout, kernel, &act), int);
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    /// A 3x3 kernel's border reads code 0: one channel, one pixel, only the centre tap.
    #[test]
    fn three_by_three_border_is_zero() {
        let mut layer = Layer {
            levels: 4,
            groups: 1,
            in_channels: 1,
            out_channels: 1,
            kernel: 3,
            weights: vec![3; 9],
        };
        let act = Activations {
            channels: 1,
            height: 1,
            width: 1,
            codes: vec![3],
        };
        assert_eq!(layer.integer(&act), [9]);
        layer.weights[4] = 0;
        assert_eq!(layer.integer(&act), [-9]);
    }

    fn random_block(rng: &mut Sampler, shuffle: ShuffleKind) -> (Block, Activations) {
        let levels = rng.pick(&[2, 3, 4, 5, 8]);
        let groups = rng.pick(&[2, 3, 4]);
        let (cin, cmid, cout) = (
            groups * rng.int(1..=2) as usize,
            groups * rng.int(1..=3) as usize,
            groups * rng.int(1..=2) as usize,
        );
        let (k1, k2) = (rng.pick(&[1, 3]), rng.pick(&[1, 3]));
        let first = random_layer(rng, levels, groups, cin, cmid, k1);
        let second = random_layer(rng, levels, groups, cmid, cout, k2);
        let (h, w) = (rng.int(1..=3) as usize, rng.int(1..=3) as usize);
        let act = random_act(rng, levels, cin, h, w);
        let shift = rng.int(0..=4);
        (
            Block {
                first,
                shuffle,
                second,
                shift,
            },
            act,
        )
    }

    /// Grouped layers with a shuffle between them equal the dense convolutions whose
    /// second weight matrix is block-diagonal in the shuffled order, for both shuffles.
    #[test]
    fn shuffled_block_equals_dense() {
        let mut rng = Sampler::new(6);
        for shuffle in [ShuffleKind::Channel, ShuffleKind::Cyclic] {
            let mut differs = 0;
            for _ in 0..60 {
                let (b, act) = random_block(&mut rng, shuffle);
                let grouped = b.grouped(&act);
                assert_eq!(grouped, b.dense(&act), "{b:?}");
                // The dense matrix, columns in the shuffled order, is block-diagonal.
                let (s, kk) = (&b.second, b.second.kernel * b.second.kernel);
                let d = b.dense_second();
                let perm = b.permutation();
                for o in 0..s.out_channels {
                    for (col, &c) in perm.iter().enumerate() {
                        let inside = col / s.group_in() == o / s.group_out();
                        for t in 0..kk {
                            let v = d[(o * s.in_channels + c) * kk + t];
                            if !inside {
                                assert_eq!(v, 0, "off-block weight");
                            } else {
                                assert_eq!(v.rem_euclid(2), i64::from(b.first.levels - 1) % 2);
                            }
                        }
                    }
                }
                // The shuffle matters: without it the result is usually different.
                let unshuffled = b.second.integer(&b.middle(&act, &b.first.integer(&act)));
                differs += usize::from(unshuffled != grouped);
            }
            assert!(differs > 10, "{shuffle:?}: {differs}");
        }
    }
}
