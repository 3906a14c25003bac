//! Print the const-generic widths a block needs for a unit's default parameters:
//! `cargo run --release -p rusthdl --example widths`.

use model::UnitParams;

fn show<P: UnitParams + Default>() {
    let p = P::default();
    let i = p.interface();
    let ports: Vec<String> = i
        .ports
        .iter()
        .map(|q| format!("{} {}", q.name, q.width))
        .collect();
    let iw: u32 = i.beat_inputs().map(|q| q.width).sum();
    let ow: u32 = i.outputs().map(|q| q.width).sum();
    println!(
        "{} ({}): Packed<_, {iw}, {ow}>; ports {}",
        P::KIND,
        p.module_name(),
        ports.join(", ")
    );
}

fn main() {
    show::<model::mac::MacParams>();
    show::<model::requant::RequantParams>();
    show::<model::bfp::BfpDotParams>();
    show::<model::lns::LnsMulParams>();
    show::<model::lns::LnsMacParams>();
    show::<model::fpacc::FpaccParams>();
    show::<model::palq::PalqShuffleParams>();
}
