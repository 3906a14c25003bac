//! Print the example design (a MAC and a requantizer with rust-hdl glue) as one Verilog
//! file: `cargo run --release -p rusthdl --example mac_requant > top.v`.

fn main() {
    let top = rusthdl::example::MacRequant::top().expect("the default units build");
    print!("{}", top.verilog());
}
