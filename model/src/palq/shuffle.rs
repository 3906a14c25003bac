//! `palq_shuffle` (docs/palq-shuffle.md): the channel or cyclic shuffle between two
//! PalQuant grouped layers, as pure wiring on a vector of C channel codes of c bits.
//!
//! Output channel `o` is input channel `perm[o]`, with `perm` the permutation of
//! [`super::channel_shuffle`] or [`super::cyclic_shuffle`]; channel i sits at bits
//! `[c*i +: c]` of `x` and `y`. Combinational: latency 0, no clock.

use serde::{Deserialize, Serialize};

use crate::iface::{get_field, set_field, CycleModel, Dir, Interface, Port};
use crate::param::{Flags, Param, Params};
use crate::unit::{ParamError, UnitParams};

/// `--groups G`.
pub const GROUPS: Param = Param::int(
    "--groups",
    "G",
    1..=16,
    Some(4),
    "Groups G the channels split into (equal groups of C/G channels)",
);

/// `--channels C`.
pub const CHANNELS: Param = Param::int(
    "--channels",
    "C",
    1..=256,
    Some(16),
    "Channels C, a multiple of --groups",
);

/// `--kind`.
pub const KIND: Param = Param::choice(
    "--kind",
    "KIND",
    &[
        (
            "channel",
            "Channel shuffle: the G x C/G transpose, output i*G + g takes input g*(C/G) + i",
        ),
        (
            "cyclic",
            "Cyclic shuffle: groups rotated by one, output group g takes input group (g+1) mod G",
        ),
    ],
    "channel",
    "Which permutation",
);

/// `--bits c`.
pub const BITS: Param = Param::int("--bits", "BITS", 1..=8, Some(2), "Bits c of a channel code");

/// Which shuffle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShuffleKind {
    /// [`super::channel_shuffle`].
    #[default]
    Channel,
    /// [`super::cyclic_shuffle`].
    Cyclic,
}

impl ShuffleKind {
    /// The name `--kind` takes.
    pub fn name(self) -> &'static str {
        match self {
            ShuffleKind::Channel => "channel",
            ShuffleKind::Cyclic => "cyclic",
        }
    }

    /// For each output position, the input position it takes.
    pub fn permutation(self, groups: usize, channels: usize) -> Vec<usize> {
        match self {
            ShuffleKind::Channel => super::channel_shuffle(groups, channels),
            ShuffleKind::Cyclic => super::cyclic_shuffle(groups, channels),
        }
    }
}

/// Parameters of `palq_shuffle`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PalqShuffleParams {
    /// Groups G, 1..=16.
    pub groups: u32,
    /// Channels C, a multiple of G, 1..=256.
    pub channels: u32,
    /// Channel or cyclic shuffle.
    pub kind: ShuffleKind,
    /// Code bits c, 1..=8.
    pub bits: u32,
}

impl Default for PalqShuffleParams {
    /// The channel shuffle of 16 2-bit channels in 4 groups.
    fn default() -> Self {
        PalqShuffleParams {
            groups: GROUPS.default_u32(),
            channels: CHANNELS.default_u32(),
            kind: ShuffleKind::Channel,
            bits: BITS.default_u32(),
        }
    }
}

impl Params for PalqShuffleParams {
    const PARAMS: &'static [Param] = &[GROUPS, CHANNELS, KIND, BITS];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        Ok(PalqShuffleParams {
            groups: GROUPS.u32(flags)?,
            channels: CHANNELS.u32(flags)?,
            kind: match KIND.choice_value(flags)? {
                "cyclic" => ShuffleKind::Cyclic,
                _ => ShuffleKind::Channel,
            },
            bits: BITS.u32(flags)?,
        })
    }
}

impl PalqShuffleParams {
    /// For each output channel, the input channel it takes.
    pub fn permutation(&self) -> Vec<usize> {
        self.kind
            .permutation(self.groups as usize, self.channels as usize)
    }
}

/// The shuffle of a vector of channel codes: `y[o] = x[perm[o]]`.
pub fn shuffle(p: &PalqShuffleParams, x: &[u32]) -> Vec<u32> {
    super::permute(&p.permutation(), x)
}

impl UnitParams for PalqShuffleParams {
    const KIND: &'static str = "palq_shuffle";

    fn validate(&self) -> Result<(), ParamError> {
        GROUPS.check(self.groups)?;
        CHANNELS.check(self.channels)?;
        BITS.check(self.bits)?;
        if !self.channels.is_multiple_of(self.groups) {
            return Err(CHANNELS.error_because(
                self.channels,
                format!(
                    "1..=256, a multiple of --groups {} ({} channels do not split into {} equal groups)",
                    self.groups, self.channels, self.groups
                ),
            ));
        }
        Ok(())
    }

    /// e.g. `palq_shuffle_channel_g4_c16_b2`.
    fn module_name(&self) -> String {
        format!(
            "palq_shuffle_{}_g{}_c{}_b{}",
            self.kind.name(),
            self.groups,
            self.channels,
            self.bits
        )
    }

    /// x[C*c-1:0] -> y[C*c-1:0].
    fn interface(&self) -> Interface {
        Interface {
            ports: vec![
                Port::int_or_vec("x", Dir::In, self.bits, false, self.channels),
                Port::int_or_vec("y", Dir::Out, self.bits, false, self.channels),
            ],
        }
    }

    fn latency(&self) -> u32 {
        0
    }

    /// Wiring, no arithmetic.
    fn macs_per_cycle(&self) -> f64 {
        0.0
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        self.validate()?;
        Ok(Box::new(PalqShuffle {
            iface: self.interface(),
            perm: self.permutation(),
            bits: self.bits,
        }))
    }
}

/// Cycle model of `palq_shuffle` (combinational: `y` follows the same beat's `x`).
#[derive(Clone, Debug)]
pub struct PalqShuffle {
    iface: Interface,
    perm: Vec<usize>,
    bits: u32,
}

impl CycleModel for PalqShuffle {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let c = self.bits;
        outputs.fill(0);
        for (o, &i) in self.perm.iter().enumerate() {
            let v = get_field(inputs, c * i as u32, c);
            set_field(outputs, c * o as u32, c, v);
        }
    }
}

impl crate::unit::Unit for PalqShuffleParams {
    const COMMAND: &'static str = "palq-shuffle";
    const SUMMARY: &'static str =
        "PalQuant channel or cyclic shuffle of C channel codes in G groups, pure wiring";
    const ABOUT: &'static str = "Permutes a vector of C c-bit channel codes between two \
PalQuant grouped layers: the channel shuffle (the G x C/G transpose) or the cyclic shuffle \
(groups rotated by one). Output channel o is input channel perm[o]; channel i at \
[c*i +: c]. Combinational wiring, latency 0.";
    const DOCS: &'static str = "docs/palq-shuffle.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--groups 4 --channels 16 --kind channel",
            "channel shuffle of 16 2-bit codes in 4 groups",
        ),
        (
            "--groups 4 --channels 32 --kind cyclic --bits 4",
            "32 4-bit codes, groups of 8 rotated by one",
        ),
    ];

    fn proof_set() -> Vec<Self> {
        let d = PalqShuffleParams::default();
        vec![
            d,
            PalqShuffleParams {
                kind: ShuffleKind::Cyclic,
                ..d
            },
            PalqShuffleParams {
                groups: 2,
                channels: 6,
                kind: ShuffleKind::Channel,
                bits: 1,
            },
        ]
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        let groups = rng.int(GROUPS.range());
        let per = rng.int(1..=(256 / groups).min(16));
        PalqShuffleParams {
            groups,
            channels: groups * per,
            kind: rng.pick(&[ShuffleKind::Channel, ShuffleKind::Cyclic]),
            bits: rng.int(BITS.range()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unit::{Sampler, Unit};

    fn run(p: &PalqShuffleParams, x: &[u32]) -> Vec<u32> {
        let mut m = p.model().unwrap();
        let iface = p.interface();
        let mut inw = vec![0u64; iface.in_words()];
        for (i, &v) in x.iter().enumerate() {
            set_field(&mut inw, p.bits * i as u32, p.bits, u64::from(v));
        }
        let mut out = vec![0u64; iface.out_words()];
        m.step(&inw, &mut out);
        (0..p.channels)
            .map(|o| get_field(&out, p.bits * o, p.bits) as u32)
            .collect()
    }

    /// The permutations of issue 17 through the cycle model.
    #[test]
    fn issue_17_cases() {
        let p = PalqShuffleParams {
            groups: 2,
            channels: 6,
            kind: ShuffleKind::Channel,
            bits: 3,
        };
        assert_eq!(run(&p, &[0, 1, 2, 3, 4, 5]), [0, 3, 1, 4, 2, 5]);
        let p = PalqShuffleParams {
            groups: 4,
            channels: 4,
            kind: ShuffleKind::Cyclic,
            bits: 2,
        };
        // [g0, g1, g2, g3] -> [g1, g2, g3, g0] with group g holding code g.
        assert_eq!(run(&p, &[0, 1, 2, 3]), [1, 2, 3, 0]);
        assert_eq!(p.module_name(), "palq_shuffle_cyclic_g4_c4_b2");
        assert_eq!(
            PalqShuffleParams::default().module_name(),
            "palq_shuffle_channel_g4_c16_b2"
        );
    }

    #[test]
    fn channels_must_split_into_groups() {
        let bad = PalqShuffleParams {
            groups: 3,
            channels: 16,
            ..PalqShuffleParams::default()
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.param, "--channels");
        assert!(e.to_string().contains("--groups 3"), "{e}");
        assert!(e.to_string().contains("--channels"), "{e}");
        let bad = PalqShuffleParams {
            bits: 9,
            ..PalqShuffleParams::default()
        };
        assert_eq!(bad.validate().unwrap_err().param, "--bits");
    }

    #[test]
    fn samples_are_accepted() {
        let mut rng = Sampler::new(7);
        for _ in 0..200 {
            let p = PalqShuffleParams::sample(&mut rng);
            p.validate().unwrap();
        }
    }
}
