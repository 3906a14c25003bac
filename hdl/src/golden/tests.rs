//! Unit tests of the parent module.

use super::*;

#[test]
fn literals_are_exact_past_128_bits() {
    // All ones at 266 bits: the mask fpacc's rounding takes for --prod-exp 8.
    assert_eq!(lit(266, -1), format!("266'h3{}", "f".repeat(66)));
    assert_eq!(slit(130, -2), format!("130'sh3{}e", "f".repeat(31)));
    assert_eq!(lit(12, 0x7ff), "12'h7ff");
    assert_eq!(lit(12, -2048), "12'h800");
    assert_eq!(lit(5, 0), "5'h0");
}

#[test]
#[should_panic(expected = "does not fit a 2-bit literal")]
fn a_constant_that_does_not_fit_is_refused() {
    let _ = lit(2, 237);
}

#[test]
#[should_panic(expected = "2^128 does not fit")]
fn powers_of_two_are_checked() {
    let _ = pow2(128);
}

#[test]
fn vars_extend_and_select_by_their_declared_type() {
    let a = Var::named("a", Ty::u(8)).as_signed();
    assert_eq!(a.ext(8), "$signed(a)");
    assert_eq!(a.ext(9), "$signed({a[7], a})");
    assert_eq!(a.ext(12), "$signed({{4{a[7]}}, a})");
    let p = Var::named("p", Ty::s(10));
    assert_eq!(p.ext(10), "p");
    assert_eq!(p.bits(9, 2).as_signed().ext(9), "$signed({p[9], p[9:2]})");
    assert_eq!(p.bits(3, 0).signed_ext(6), "$signed({2'h0, p[3:0]})");
    let mut b = Body::new();
    let x = b.wire("x", Ty::u(4), "4'h3");
    b.discard(&x.bits(3, 2));
    assert_eq!(
        b.finish().body,
        "    wire [3:0] x = 4'h3;\n    wire [1:0] g_unused_0 = x[3:2];\n"
    );
}
