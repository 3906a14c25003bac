//! Behavioural reference of `fpacc-long` (see `crate::golden`): docs/fpacc.md's long
//! accumulator written the plain way. The long sum is one wide signed register; the
//! read-out is one Verilog function (find the leading one with a loop, keep M+1 bits,
//! round, range-check) applied to its magnitude, and its result goes through plain
//! registers to the outputs so that the latency is the RTL's. The long register, the
//! sticky overflow, the valid bits and the output registers keep the RTL's names.

use model::fpacc::{FpaccLongParams, Operand, READOUT_STAGES};

use super::{k, round_function, Body, GoldenModule, Ty, Var};
use crate::ir::Result;

/// The exact product of the operands in units of the long register's LSB, as a signed
/// wire of the register's width.
fn fixed_product(b: &mut Body, p: &FpaccLongParams) -> Var {
    let w = p.long_width();
    match &p.operand {
        Operand::Int { .. } if p.operand.is_mixed() => {
            // Each operand extended by its own signedness to the product's width (which
            // holds every product), read as signed there; their product at that width is
            // exact.
            let (oa, ob) = p.operand.ints().expect("integer operands");
            let pw = p.product_width();
            let ext = |name: &str, o: model::fpacc::IntOperand| {
                let v = Var::named(name, Ty::u(o.bits));
                if o.signed {
                    v.as_signed().ext(pw)
                } else {
                    format!("$signed({})", v.ext(pw))
                }
            };
            let (x, y) = (ext("a", oa), ext("b", ob));
            let ab = b.wire("g_ab", Ty::s(pw), format!("{x} * {y}"));
            b.wire("g_prod", Ty::s(w), ab.ext(w))
        }
        Operand::Int { bits, .. } => {
            let n = *bits;
            let x = Var::named("a", Ty::u(n)).as_signed();
            let y = Var::named("b", Ty::u(n)).as_signed();
            let ab = b.wire("g_ab", Ty::s(2 * n), format!("{} * {}", x.ext(n), y.ext(n)));
            b.wire("g_prod", Ty::s(w), ab.ext(w))
        }
        Operand::Float { format: f } => {
            let (m, e) = (f.man_bits, f.exp_bits);
            let fw = f.width();
            let (x, y) = (Var::named("a", Ty::u(fw)), Var::named("b", Ty::u(fw)));
            let (fx, fy) = (x.bits(m + e - 1, m), y.bits(m + e - 1, m));
            let zero = b.wire(
                "g_zero",
                Ty::u(1),
                format!("{fx} == {z} || {fy} == {z}", z = fx.lit(0)),
            );
            let sig = |v: &Var| format!("{{{}'h0, 1'b1, {}}}", m + 1, v.bits(m - 1, 0));
            let sig_t = Ty::u(2 * (m + 1));
            let g_sig = b.wire("g_sig", sig_t, format!("{} * {}", sig(&x), sig(&y)));
            // value = sig_x sig_y 2^(fx + fy - 2 bias - 2M) and the LSB is
            // 2^(2 - 2 bias - 2M): the product sits fx + fy - 2 places up.
            let mag = b.wire(
                "g_pmag",
                Ty::u(w),
                format!(
                    "{zero} ? {z} : {ext} << ({{1'b0, {fx}}} + {{1'b0, {fy}}} - {two})",
                    z = Ty::u(w).lit(0),
                    ext = g_sig.ext(w),
                    two = Ty::u(e + 1).lit(2),
                ),
            );
            let neg = b.wire(
                "g_neg",
                Ty::u(1),
                format!("{} ^ {}", x.bit(m + e), y.bit(m + e)),
            );
            b.wire(
                "g_prod",
                Ty::s(w),
                format!("{neg} ? -{s} : {s}", s = format_args!("$signed({mag})")),
            )
        }
    }
}

/// The long register and its read-out as a reference writes them (shared with
/// `bfp_dot --acc long`): `long_q` (signed, LSB `2^lsb`) takes `(clear ? 0 : long_q) +
/// value` exactly when `add` is high, keeping its low bits; the sticky `long_of_q` is set
/// by a carry out of range (and by `value_of`, when given) and kept until `clear`. The
/// rounding function is applied to the register's magnitude and its result goes through
/// plain registers to `acc`, `uf` and `of`, so that the latency is the RTL's; the valid
/// bits follow it from `valid_q` (the register's, named as in the RTL).
pub(crate) struct LongRegister<'a> {
    pub width: u32,
    pub lsb: i32,
    pub format: &'a model::float::FloatFormat,
    pub rounding: model::float::Rounding,
    pub add: String,
    pub clear: String,
    pub value: Var,
    pub value_of: Option<String>,
    pub valid_q: &'a str,
}

pub(crate) fn long_register(b: &mut Body, r: LongRegister) {
    assert_eq!(READOUT_STAGES, 4, "the registers below");
    let (w, aw) = (r.width, r.format.width());
    b.text(round_function("g_round", r.format, r.rounding, w));
    let long = b.state_reg("long_q", Ty::s(w));
    let sticky = b.state_reg("long_of_q", Ty::u(1));
    let valids = [
        r.valid_q,
        "readout1_valid_q",
        "readout2_valid_q",
        "readout3_valid_q",
        "out_valid_q",
    ];
    for v in valids {
        b.state_reg(v, Ty::u(1));
    }
    let acc = b.state_reg("acc_q", Ty::u(aw));
    let uf = b.state_reg("uf_q", Ty::u(1));
    let of = b.state_reg("of_q", Ty::u(1));
    // {uf, of, bits} of the read-out, one to three cycles behind `long_q`.
    let r_t = Ty::u(aw + 2);
    let r1 = b.reg("g_readout1", r_t);
    let r2 = b.reg("g_readout2", r_t);
    let r3 = b.reg("g_readout3", r_t);

    b.line(format!(
        "// The exact sum, one bit wider: the register keeps its low {w} bits (LSB 2^{})",
        r.lsb
    ));
    let sum = b.wire(
        "g_long_sum",
        Ty::s(w + 1),
        format!(
            "({clear} ? {z} : {lx}) + {vx}",
            clear = r.clear,
            z = Ty::s(w + 1).lit(0),
            lx = long.ext(w + 1),
            vx = r.value.ext(w + 1)
        ),
    );
    let wrap = b.wire(
        "g_wrap",
        Ty::u(1),
        format!("{} != {}", sum.bit(w), sum.bit(w - 1)),
    );
    let mag = b.wire(
        "g_long_mag",
        Ty::u(w),
        format!("{} ? -{long} : {long}", long.msb()),
    );
    let value_of = r.value_of.map(|v| format!(" | {v}")).unwrap_or_default();
    let z = |t: Ty| t.lit(0);
    b.text(format!(
        "    always @(posedge clk) begin
        if (rst) begin
            {long} <= {zl};
            {sticky} <= 1'b0;
            {valid_q} <= 1'b0;
            readout1_valid_q <= 1'b0;
            readout2_valid_q <= 1'b0;
            readout3_valid_q <= 1'b0;
            out_valid_q <= 1'b0;
            {r1} <= {zr};
            {r2} <= {zr};
            {r3} <= {zr};
            {acc} <= {za};
            {uf} <= 1'b0;
            {of} <= 1'b0;
        end else begin
            if ({add}) begin
                {long} <= {low};
                {sticky} <= ({sticky} & ~{clear}){value_of} | {wrap};
            end
            {valid_q} <= {add};
            readout1_valid_q <= {valid_q};
            readout2_valid_q <= readout1_valid_q;
            readout3_valid_q <= readout2_valid_q;
            out_valid_q <= readout3_valid_q;
            {r1} <= g_round({neg}, {mag}, {lsb}) | {{1'b0, {sticky}, {za}}};
            {r2} <= {r1};
            {r3} <= {r2};
            {{{uf}, {of}, {acc}}} <= {r3};
        end
    end
    assign acc = {acc};
    assign uf = {uf};
    assign of = {of};
    assign out_valid = out_valid_q;
",
        zl = z(Ty::s(w)),
        zr = z(r_t),
        za = z(Ty::u(aw)),
        valid_q = r.valid_q,
        add = r.add,
        clear = r.clear,
        low = sum.bits(w - 1, 0).as_signed(),
        neg = long.msb(),
        lsb = k(r.lsb),
    ));
}

/// The golden of `fpacc-long`.
pub(crate) fn golden(p: &FpaccLongParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let mut b = Body::new();
    let value = fixed_product(&mut b, p);
    long_register(
        &mut b,
        LongRegister {
            width: p.long_width(),
            lsb: p.long_lsb(),
            format: &p.acc,
            rounding: p.rounding,
            add: "in_valid".into(),
            clear: "clear".into(),
            value,
            value_of: None,
            valid_q: "valid_q",
        },
    );
    Ok(b.finish())
}
