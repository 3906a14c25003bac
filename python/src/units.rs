//! Every registered unit by name (gen's registry): `generate` (the Verilog and metadata
//! `gen <unit>` writes), `simulate` (the unit's cycle model, beat by beat) and `units`.

use gen::cli::args::Depth;
use gen::commands::emit::{build, metadata_json_with};
use gen::registry::{visit_named, Registered, Visit};
use gen::synth::Device;
use hdl::{design_verilog, Header};
use model::pipeline::Piped;
use model::{int, UnitParams};

use crate::{command_line, params_of, Error, Kwargs};

/// Run `f` on the unit named `unit` (its `gen` subcommand or kind).
fn with_unit<T>(unit: &str, f: impl FnMut(Found) -> Result<T, Error>) -> Result<T, Error> {
    struct V<F, T> {
        f: F,
        out: Option<Result<T, Error>>,
    }
    impl<T, F: FnMut(Found) -> Result<T, Error>> Visit for V<F, T> {
        fn visit<U: Registered>(&mut self) {
            self.out = Some((self.f)(Found::of::<U>()));
        }
    }
    let mut v = V { f, out: None };
    if !visit_named(unit, &mut v) {
        let names: Vec<&str> = gen::registry::infos().iter().map(|i| i.command).collect();
        return Err(Error::Value(format!(
            "unknown unit '{unit}': allowed {}",
            names.join(", ")
        )));
    }
    v.out.expect("the visitor ran")
}

/// Verilog and metadata JSON.
type Generated = Result<(String, String), Error>;
/// Input ports by name, their values beat after beat.
type Inputs = [(String, Vec<i64>)];

/// One unit's entry points, monomorphised (closures cannot be generic).
struct Found {
    generate: fn(&Kwargs, u32, bool) -> Generated,
    simulate: fn(&Kwargs, u32, &Inputs, usize) -> Result<Simulated, Error>,
}

impl Found {
    fn of<U: Registered>() -> Found {
        Found {
            generate: generate_unit::<U>,
            simulate: simulate_unit::<U>,
        }
    }
}

/// The unit at `pipeline` register stages, validated (the depth's range included).
fn piped<U: Registered>(kw: &Kwargs, pipeline: u32) -> Result<Piped<U>, Error> {
    let unit: U = params_of(kw)?;
    let p = Piped::new(unit, pipeline);
    p.validate()?;
    Ok(p)
}

fn generate_unit<U: Registered>(
    kw: &Kwargs,
    pipeline: u32,
    golden: bool,
) -> Result<(String, String), Error> {
    let unit = piped::<U>(kw, pipeline)?.unit;
    let built = build(unit, Some(Depth::Fixed(pipeline)), None, Device::default())
        .map_err(|f| Error::Value(f.message))?;
    let header = Header {
        generator: gen::generator_id(),
        command: Some(command_line(U::COMMAND, kw, pipeline)),
    };
    let verilog = if golden {
        hdl::golden::golden_verilog(&built.params, &header)
            .map_err(|e| Error::Value(e.to_string()))?
    } else {
        design_verilog(&built.rtl, &header)
    };
    let timing = (pipeline > 0).then(|| built.timing());
    Ok((verilog, metadata_json_with(&built.params, timing)))
}

/// Output ports of a simulation: name, words per beat, raw bits beat after beat.
pub type Simulated = Vec<(String, usize, Vec<u64>)>;

fn simulate_unit<U: Registered>(
    kw: &Kwargs,
    pipeline: u32,
    inputs: &[(String, Vec<i64>)],
    beats: usize,
) -> Result<Simulated, Error> {
    let p = piped::<U>(kw, pipeline)?;
    let mut m = p.model()?;
    let iface = m.interface().clone();
    let (iw, ow) = (iface.in_words(), iface.out_words());
    let mut record = vec![0u64; beats * iw];
    for (name, values) in inputs {
        let Some(port) = iface.beat_inputs().find(|q| &q.name == name) else {
            let names: Vec<&str> = iface.beat_inputs().map(|q| q.name.as_str()).collect();
            return Err(Error::Value(format!(
                "unknown input port '{name}' of {}: allowed {}",
                U::COMMAND,
                names.join(", ")
            )));
        };
        let (w, off) = (port.words(), iface.in_offset(name).expect("a beat input"));
        if values.len() != beats * w {
            return Err(Error::Value(format!(
                "'{name}': {} values where {beats} beats of {w} words are needed",
                values.len()
            )));
        }
        for (beat, chunk) in values.chunks(w).enumerate() {
            let dst = &mut record[beat * iw + off..beat * iw + off + w];
            if w == 1 && port.width < 64 {
                // A value of either signedness that fits the port, as its bits.
                let v = i128::from(chunk[0]);
                if !(int::fits(v, port.width, false) || int::fits(v, port.width, true)) {
                    return Err(Error::Value(format!(
                        "invalid value {v} in '{name}': the port has {} bits",
                        port.width
                    )));
                }
                dst[0] = int::wrap(v, port.width, false) as u64;
            } else {
                for (d, &s) in dst.iter_mut().zip(chunk) {
                    *d = s as u64;
                }
                let top = port.width % 64;
                if top != 0 && dst[w - 1] >> top != 0 {
                    return Err(Error::Value(format!(
                        "'{name}': bits above the port's {} in its last word",
                        port.width
                    )));
                }
            }
        }
    }
    let mut out = vec![0u64; beats * ow];
    m.run(&record, &mut out);
    Ok(iface
        .outputs()
        .map(|port| {
            let (w, off) = (
                port.words(),
                iface.out_offset(&port.name).expect("an output"),
            );
            let bits = out
                .chunks(ow.max(1))
                .flat_map(|beat| beat[off..off + w].iter().copied())
                .collect();
            (port.name.clone(), w, bits)
        })
        .collect())
}

/// `lowbit.generate`: the Verilog (RTL, or the behavioural reference with `golden`) and
/// the metadata JSON of unit `unit` with the keywords' parameters at `pipeline` stages.
pub fn generate(
    unit: &str,
    kw: &Kwargs,
    pipeline: u32,
    golden: bool,
) -> Result<(String, String), Error> {
    with_unit(unit, |f| (f.generate)(kw, pipeline, golden))
}

/// `lowbit.simulate`: run the unit's cycle model on `beats` beats of the given input
/// ports (missing ports are 0); every output port's raw bits per beat.
pub fn simulate(
    unit: &str,
    kw: &Kwargs,
    pipeline: u32,
    inputs: &[(String, Vec<i64>)],
    beats: usize,
) -> Result<Simulated, Error> {
    with_unit(unit, |f| (f.simulate)(kw, pipeline, inputs, beats))
}

/// `lowbit.units`: every registered unit as `gen list --json` describes it.
pub fn units_json() -> String {
    serde_json::to_string(&gen::registry::infos()).expect("unit infos serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn kw(pairs: &[(&str, &str)]) -> Kwargs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::Text(v.to_string())))
            .collect()
    }

    #[test]
    fn generate_equals_what_gen_builds() {
        let (v, meta) = generate("mac", &kw(&[("acc", "16")]), 0, false).unwrap();
        assert!(v.contains("module mac_s8x8_acc16_sat"), "{v}");
        assert!(v.contains("gen mac --acc 16"));
        let m: serde_json::Value = serde_json::from_str(&meta).unwrap();
        assert_eq!(m["module"], "mac_s8x8_acc16_sat");
        assert_eq!(m["params"]["acc_bits"], 16);
    }

    #[test]
    fn every_registered_unit_generates_at_its_defaults() {
        let infos = gen::registry::infos();
        assert!(infos.len() >= 19);
        for i in infos {
            let (v, _) = generate(i.command, &Kwargs::new(), 0, false).unwrap();
            assert!(
                v.contains(&format!("module {}", i.default_module)),
                "{}",
                i.command
            );
        }
    }

    #[test]
    fn errors_name_the_parameter() {
        let e = generate("mac", &kw(&[("acc", "99")]), 0, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value '99' for 'acc' (--acc): allowed 2..=64"
        );
        let e = generate("nope", &Kwargs::new(), 0, false).unwrap_err();
        assert!(e.to_string().starts_with("unknown unit 'nope'"));
        let e = generate("mac", &kw(&[("accu", "9")]), 0, false).unwrap_err();
        assert!(e.to_string().starts_with("unknown parameter 'accu'"), "{e}");
    }

    #[test]
    fn mac_function_equals_the_cycle_model() {
        let p = model::mac::MacParams {
            acc_bits: 10,
            overflow: model::mac::Overflow::Wrap,
            ..Default::default()
        };
        let a: Vec<i64> = (0..40).map(|i| (i * 37 % 256) - 128).collect();
        let b: Vec<i64> = (0..40).map(|i| (i * 91 % 256) - 128).collect();
        let (acc, ovf) = crate::ops::mac(&p, &a, &b, 40).unwrap();
        let clear: Vec<i64> = (0..40).map(|i| i64::from(i == 0)).collect();
        let mut inputs = vec![
            ("in_valid".to_string(), vec![1; 40]),
            ("clear".to_string(), clear),
            ("a".to_string(), a),
            ("b".to_string(), b),
        ];
        let kw = kw(&[("acc", "10"), ("overflow", "wrap")]);
        // Registered outputs: the last beat's result shows one beat later.
        for (_, v) in inputs.iter_mut() {
            v.push(0);
        }
        let out = simulate("mac", &kw, 0, &inputs, 41).unwrap();
        let acc_bits = out.iter().find(|o| o.0 == "acc").unwrap().2[40];
        let ovf_bit = out.iter().find(|o| o.0 == "ovf").unwrap().2[40];
        assert_eq!(int::from_bits(acc_bits.into(), 10, true), acc[0]);
        assert_eq!(ovf_bit == 1, ovf[0]);
    }
}
