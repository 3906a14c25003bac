//! Unit tests of the builder's checks.

use super::*;

#[test]
fn width_errors_name_the_signals() {
    let mut m = ModuleBuilder::new("t");
    let a = m.input("a", 8).unwrap();
    let b = m.input("b", 12).unwrap();
    let e = m.add(a, b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "module 't': add needs operands of equal width, got 'a' (8 bits) and 'b' (12 bits)"
    );
    let e = m.slice(a, 8, 0).unwrap_err();
    assert!(
        e.message.contains("slice [8:0] is outside 'a' (8 bits)"),
        "{e}"
    );
    assert!(m.lit(4, 16).is_err());
    assert!(m.lit(4, -9).is_err());
    assert!(m.lit(4, -8).is_ok() && m.lit(4, 15).is_ok());
}

#[test]
fn unused_bits_and_undriven_things_are_errors() {
    let mut m = ModuleBuilder::new("t");
    let a = m.input("a", 8).unwrap();
    m.output("y", 4).unwrap();
    let lo = m.slice(a, 3, 0).unwrap();
    m.drive_output("y", lo).unwrap();
    let e = m.finish().unwrap_err();
    assert_eq!(e.message, "bits [7:4] of 'a' are never used");

    let mut m = ModuleBuilder::new("t");
    m.output("y", 1).unwrap();
    assert_eq!(
        m.finish().unwrap_err().message,
        "output 'y' is never driven"
    );

    let mut m = ModuleBuilder::new("t");
    let clk = m.input("clk", 1).unwrap();
    let r = m.reg("r", 1, clk, None).unwrap();
    m.output("y", 1).unwrap();
    m.drive_output("y", r).unwrap();
    assert_eq!(
        m.finish().unwrap_err().message,
        "register 'r' is never driven"
    );
}

#[test]
fn constants_fold_through_slice_and_extension() {
    let mut m = ModuleBuilder::new("t");
    let k = m.lit(8, -2).unwrap();
    let hi = m.slice(k, 7, 4).unwrap();
    let x = m.sext(hi, 12).unwrap();
    assert_eq!(m.const_of(x), Some(&vec![0xfff]));
    let z = m.zext(k, 70).unwrap();
    assert_eq!(m.const_of(z), Some(&vec![0xfe, 0]));
}

#[test]
fn signals_cannot_cross_modules() {
    let mut m1 = ModuleBuilder::new("m1");
    let mut m2 = ModuleBuilder::new("m2");
    let a = m1.input("a", 1).unwrap();
    let b = m2.input("b", 1).unwrap();
    assert!(m2.and(a, b).unwrap_err().message.contains("another module"));
}
