//! A PalQuant layer as a G x P `palq_pe` array runs it (docs/palq-shuffle.md):
//! [`schedule`] turns a [`Layer`] into the stream of [`Beat`]s, with the [`Readout`]s that
//! say which output each group's accumulator holds after which beat; [`Schedule::run`]
//! runs it through one [`GroupSums`] per group, and [`Schedule::stimulus`] and
//! [`Schedule::read`] drive a real array (its cycle model or its RTL) with it.

use super::layer::{Activations, Layer};
use super::{GroupSums, PalqPeParams};
use crate::iface::{get_field, set_field, Port};
use crate::int;
use crate::unit::{ParamError, UnitParams};

/// One beat of a G x P `palq_pe` array: plain data, group g's lane p at `g*P + p`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beat {
    /// G*P weight codes.
    pub weights: Vec<u32>,
    /// G*P activation codes.
    pub activations: Vec<u32>,
    /// Starts a new dot product with this beat (the accumulators take this beat's sums).
    pub clear: bool,
}

/// After beat `beat` (the last of a dot product), group g's accumulator holds the result
/// of output `outputs[g]` (index into `[o][y][x]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readout {
    pub beat: usize,
    pub outputs: Vec<usize>,
}

/// A layer as a G x P array runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub levels: u32,
    pub groups: usize,
    pub lanes: usize,
    pub beats: Vec<Beat>,
    pub readouts: Vec<Readout>,
    /// Outputs of the layer, C_out * H * W.
    pub outputs: usize,
    /// Products per dot product (the array's K, padding included): `beats per output * P`.
    pub k_max: usize,
}

/// The beats of `layer` on `act` for an array of `layer.groups` groups of `lanes` lanes.
///
/// Group g computes its own output channels: for each rank `r` in `0..C_out/G` and each
/// position `(y, x)` in row order, all G groups run in step, group g on output channel
/// `g*(C_out/G) + r`. A dot product of `C_in/G * k * k` products takes
/// `ceil(that / P)` beats, in [`Layer::taps`] order, lane by lane; the first beat has
/// `clear`; the last is padded with code-0 weights and activations (adding nothing).
pub fn schedule(layer: &Layer, act: &Activations, lanes: usize) -> Schedule {
    layer.check(act);
    assert!(lanes > 0, "no lanes");
    let (g_n, hw) = (layer.groups, act.height * act.width);
    let per_output = layer.products().div_ceil(lanes);
    let mut beats = Vec::new();
    let mut readouts = Vec::new();
    for r in 0..layer.group_out() {
        for y in 0..act.height {
            for x in 0..act.width {
                let chans: Vec<usize> = (0..g_n).map(|g| g * layer.group_out() + r).collect();
                let taps: Vec<(Vec<u32>, Vec<u32>)> =
                    chans.iter().map(|&o| layer.taps(act, o, y, x)).collect();
                for b in 0..per_output {
                    let mut beat = Beat {
                        weights: vec![0; g_n * lanes],
                        activations: vec![0; g_n * lanes],
                        clear: b == 0,
                    };
                    for (g, (w, a)) in taps.iter().enumerate() {
                        for p in 0..lanes {
                            if let Some(t) = w.get(b * lanes + p) {
                                beat.weights[g * lanes + p] = *t;
                                beat.activations[g * lanes + p] = a[b * lanes + p];
                            }
                        }
                    }
                    beats.push(beat);
                }
                readouts.push(Readout {
                    beat: beats.len() - 1,
                    outputs: chans.iter().map(|&o| o * hw + y * act.width + x).collect(),
                });
            }
        }
    }
    Schedule {
        levels: layer.levels,
        groups: g_n,
        lanes,
        beats,
        readouts,
        outputs: layer.out_channels * hw,
        k_max: per_output * lanes,
    }
}

impl Schedule {
    /// The beats through one [`GroupSums`] per group (a behavioural array: `clear` takes
    /// the beat's sums, other beats add to them), read out as the readouts say: the
    /// layer's outputs `[o][y][x]` in units of `1/(L-1)^2`.
    pub fn run(&self) -> Vec<i128> {
        let mut sums = vec![GroupSums::default(); self.groups];
        let mut out: Vec<Option<i128>> = vec![None; self.outputs];
        let mut next = self.readouts.iter().peekable();
        for (i, beat) in self.beats.iter().enumerate() {
            for (g, s) in sums.iter_mut().enumerate() {
                if beat.clear {
                    *s = GroupSums::default();
                }
                let lanes = g * self.lanes..(g + 1) * self.lanes;
                for (&k, &j) in beat.weights[lanes.clone()]
                    .iter()
                    .zip(&beat.activations[lanes])
                {
                    s.push(k, j);
                }
            }
            while let Some(r) = next.next_if(|r| r.beat == i) {
                for (g, &o) in r.outputs.iter().enumerate() {
                    assert!(out[o].is_none(), "output {o} read out twice");
                    out[o] = Some(sums[g].result(self.levels));
                }
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(o, v)| v.unwrap_or_else(|| panic!("output {o} never read out")))
            .collect()
    }

    /// The `palq-pe` configuration that runs this schedule as it stands: G groups, P
    /// lanes, L levels and K = the schedule's products per dot product, so every result
    /// is exact.
    pub fn array(&self) -> Result<PalqPeParams, ParamError> {
        // A count past u32 saturates, which validation then rejects with its flag.
        let int = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        let p = PalqPeParams {
            groups: int(self.groups),
            lanes: int(self.lanes),
            levels: self.levels,
            k_max: int(self.k_max),
        };
        p.validate()?;
        Ok(p)
    }

    /// The input records that drive an array `p` through this schedule: one reset cycle,
    /// one valid cycle per beat, then `latency` idle cycles so the last result shows.
    /// `p` must have this schedule's G, P and L, and K at least its `k_max`.
    pub fn stimulus(&self, p: &PalqPeParams, latency: u32) -> Vec<u64> {
        self.check_array(p);
        let iface = p.interface();
        let c = p.code_bits();
        let words = iface.port("w").map_or(1, Port::words);
        let mut stim = Vec::with_capacity((self.beats.len() + 1) * iface.in_words());
        let mut cycle = |rst: bool, valid: bool, clear: bool, w: &[u32], a: &[u32]| {
            stim.extend([u64::from(rst), u64::from(valid), u64::from(clear)]);
            for codes in [w, a] {
                let mut v = vec![0u64; words];
                for (i, &x) in codes.iter().enumerate() {
                    set_field(&mut v, c * i as u32, c, u64::from(x));
                }
                stim.extend(v);
            }
        };
        let none = vec![0; self.groups * self.lanes];
        cycle(true, false, false, &none, &none);
        for b in &self.beats {
            cycle(false, true, b.clear, &b.weights, &b.activations);
        }
        for _ in 0..latency {
            cycle(false, false, false, &none, &none);
        }
        stim
    }

    /// The layer's outputs `[o][y][x]`, in units of `1/(L-1)^2`, from the output records
    /// of an array `p` of the given latency driven by [`Schedule::stimulus`]: the result
    /// of beat `b` (cycle `b + 1`) shows in record `b + 1 + latency`, with `out_valid`.
    pub fn read(&self, p: &PalqPeParams, latency: u32, out: &[u64]) -> Vec<i128> {
        self.check_array(p);
        let iface = p.interface();
        let (y, n) = (p.out_bits(), iface.out_words());
        let valid_at = iface
            .out_offset("out_valid")
            .expect("palq-pe has out_valid");
        let mut results = vec![0; self.outputs];
        for r in &self.readouts {
            let rec = &out[(r.beat + 1 + latency as usize) * n..][..n];
            assert_eq!(
                rec[valid_at] & 1,
                1,
                "no out_valid with beat {}'s result",
                r.beat
            );
            for (g, &o) in r.outputs.iter().enumerate() {
                results[o] = int::from_bits(get_field(rec, g as u32 * y, y).into(), y, true);
            }
        }
        results
    }

    fn check_array(&self, p: &PalqPeParams) {
        assert_eq!(
            (p.groups as usize, p.lanes as usize, p.levels),
            (self.groups, self.lanes, self.levels),
            "the array's shape is not the schedule's"
        );
        assert!(
            p.k_max as usize >= self.k_max,
            "the array's K is below the schedule's"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::CycleModel;
    use crate::palq::layer::tests::{random_act, random_layer, worked_layer};
    use crate::palq::PalqPe;
    use crate::unit::Sampler;

    /// The beats through GroupSums per group reproduce (b), for several P.
    #[test]
    fn schedule_reproduces_the_integer_layer() {
        let mut rng = Sampler::new(99);
        for levels in [2, 4, 5, 16] {
            for groups in [1, 2, 4] {
                for kernel in [1, 3] {
                    for lanes in [1, 3, 8] {
                        let cin = groups * rng.int(1..=3) as usize;
                        let cout = groups * rng.int(1..=2) as usize;
                        let (h, w) = (rng.int(1..=3) as usize, rng.int(1..=3) as usize);
                        let layer = random_layer(&mut rng, levels, groups, cin, cout, kernel);
                        let act = random_act(&mut rng, levels, cin, h, w);
                        let s = schedule(&layer, &act, lanes);
                        let per = layer.products().div_ceil(lanes);
                        assert_eq!(s.beats.len(), per * cout / groups * h * w);
                        assert_eq!(s.k_max, per * lanes);
                        assert!(s.beats.iter().all(|b| b.weights.len() == groups * lanes
                            && b.activations.len() == groups * lanes));
                        assert_eq!(s.beats.iter().filter(|b| b.clear).count(), s.readouts.len());
                        assert_eq!(s.run(), layer.integer(&act), "{layer:?} P {lanes}");
                        // The same stream through the palq-pe cycle model.
                        let p = s.array().unwrap();
                        let stim = s.stimulus(&p, 1);
                        let mut out = vec![
                            0;
                            stim.len() / p.interface().in_words()
                                * p.interface().out_words()
                        ];
                        PalqPe::new(p).unwrap().run(&stim, &mut out);
                        assert_eq!(s.read(&p, 1, &out), s.run(), "{layer:?} on {p:?}");
                    }
                }
            }
        }
    }

    /// G = 2, P = 2 on a 1x1 layer of 4 -> 2 channels at one pixel: one beat, group g
    /// lanes hold its two input channels, and output g is read after it.
    #[test]
    fn schedule_worked_case() {
        let (layer, act) = worked_layer();
        let s = schedule(&layer, &act, 2);
        assert_eq!(
            s.beats,
            [Beat {
                weights: vec![0, 3, 1, 2],
                activations: vec![3, 1, 2, 0],
                clear: true
            }]
        );
        assert_eq!(
            s.readouts,
            [Readout {
                beat: 0,
                outputs: vec![0, 1]
            }]
        );
        // P = 3: one beat, the third lane of each group padded with code 0.
        let s = schedule(&layer, &act, 3);
        assert_eq!(s.beats[0].weights, [0, 3, 0, 1, 2, 0]);
        assert_eq!(s.beats[0].activations, [3, 1, 0, 2, 0, 0]);
        assert_eq!(s.run(), [-6, -2]);
    }
}
