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

#[test]
fn typed_widths_are_exact_and_checked() {
    let mut m = ModuleBuilder::new("t");
    let a = m.input("a", 5).unwrap().s();
    let b = m.input("b", 4).unwrap().u();
    let w = |m: &mut ModuleBuilder, e: Expr| {
        let v = m.val(e).unwrap();
        (v.width(), v.signed)
    };
    assert_eq!(w(&mut m, b + b), (5, false));
    assert_eq!(w(&mut m, a + b), (6, true), "b is 5 bits as signed");
    assert_eq!(w(&mut m, b - b), (6, true), "differences are signed");
    assert_eq!(w(&mut m, a * b), (10, true));
    assert_eq!(w(&mut m, b * b), (8, false));
    assert_eq!(w(&mut m, -a), (6, true));
    assert_eq!(w(&mut m, b << 3), (7, false));
    assert_eq!(w(&mut m, a.less(b)), (1, false));
    assert_eq!(w(&mut m, mux(a.bit(0), a, b)), (5, true));
    assert_eq!(w(&mut m, b + 1), (5, false));
    assert_eq!(w(&mut m, a + (-1)), (6, true));
    assert!(m.val(lit(8, 4, true)).is_err(), "8 needs 5 signed bits");
    assert!(m.val(lit(-1, 4, false)).is_err());
    assert!(m.val(lit(-8, 4, true)).is_ok() && m.val(lit(7, 4, true)).is_ok());
    assert!(m.val(a.resize(3)).is_err(), "resize never truncates");
}

#[test]
fn width_overflow_is_an_error_not_a_wrap() {
    let mut m = ModuleBuilder::new("t");
    let x = m.input("x", u32::MAX - 1).unwrap();
    let e = m.val(x.u() * x.u()).unwrap_err();
    assert!(e.message.contains("overflows"), "{e}");
    assert!(m.val(x << 5).unwrap_err().message.contains("overflows"));
    assert!(m.concat(&[x, x]).unwrap_err().message.contains("overflows"));
    assert!(m.mul(x, x, false).is_err());
    assert!(m.val(x.u() + x.u()).is_ok());
    let y = m.input("y", u32::MAX).unwrap();
    assert!(m.val(y.s() + y.s()).is_err());
}

#[test]
fn stage_registers_keep_field_names() {
    let mut m = ModuleBuilder::new("t");
    let clk = m.input("clk", 1).unwrap();
    let rst = m.input("rst", 1).unwrap();
    let v = m.input("v", 1).unwrap();
    let a = m.input("a", 3).unwrap();
    let s = Stage::new(v).with("a", a.s());
    let s = m.register_stage(&s, 1, clk, rst).unwrap();
    assert!(s.get("a").signed);
    m.output("y", 4).unwrap();
    m.out("y", s.get("a") & s.valid).unwrap();
    let module = m.finish().unwrap();
    let names: Vec<&str> = module.regs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["valid_1", "a_1"]);
}

#[test]
fn library_width_errors_are_errors() {
    let mut m = ModuleBuilder::new("t");
    let a = m.input("a", 8).unwrap().s();
    assert!(m.saturate("s", a, 0).is_err());
    assert!(m.wrap("w", a, 9).is_err());
    assert!(m.clamp("c", a, 3, 2).is_err());
    assert!(m.round("r", a, 8, Round::HalfEven).is_err());
}
