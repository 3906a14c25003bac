//! Behavioural reference of `fpacc` (see `crate::golden`): docs/fpacc.md written the
//! plain way. One Verilog function per format rounds `(-1)^neg * mag * 2^lsb` (find the
//! leading one with a loop, keep M+1 bits, round, range-check); sums are exact in one
//! wide fixed-point register whose LSB is the smallest any format can hold. The unit's
//! state (accumulators, flags, chunk position, pipeline and chunk registers) keeps the
//! generated RTL's register names.

use model::fpacc::{FpaccParams, Operand};

use super::{
    fix_function, jam_add_function, k, round_function, signed_width, sr_round_function, Body,
    GoldenModule, Ty, Var,
};
use crate::ir::Result;

/// The fixed point every sum is exact in: the LSB exponent and the width (sign
/// included) that hold any value of the accumulator and product formats, plus a carry.
fn fixed_point(p: &FpaccParams) -> (i32, u32) {
    let lsb = [p.acc, p.product]
        .iter()
        .map(|f| f.min_exp() - i32::try_from(f.man_bits).expect("validated mantissa"))
        .min()
        .expect("two formats");
    let top = [p.acc, p.product]
        .iter()
        .map(|f| f.max_exp())
        .max()
        .expect("two formats");
    let width = u32::try_from(top - lsb + 1).expect("top above lsb") + 2;
    (lsb, width)
}

/// The exact product of the operands: `(neg, mag, exp)` with value
/// `(-1)^neg * mag * 2^exp`, `exp` signed.
fn exact_product(b: &mut Body, p: &FpaccParams) -> (Var, Var, Var) {
    match &p.operand {
        Operand::Int { frac, .. } if p.operand.is_mixed() => {
            // Each operand read with its own signedness; the product extended to NA + NB
            // bits (which hold every product) before multiplying, signed when either is.
            let (oa, ob) = p.operand.ints().expect("integer operands");
            let w = oa.bits + ob.bits;
            let var = |name: &str, o: model::mac::Operand| {
                let v = Var::named(name, Ty::u(o.bits));
                if o.signed {
                    v.as_signed()
                } else {
                    v
                }
            };
            let (x, y) = (var("a", oa), var("b", ob));
            let signed = oa.signed || ob.signed;
            let ty = Ty { width: w, signed };
            let e = -2 * i128::from(*frac);
            let ab = b.wire("g_ab", ty, format!("{} * {}", x.ext(w), y.ext(w)));
            let neg = if signed {
                b.wire("g_neg", Ty::u(1), format!("{ab} < {}", ab.lit(0)))
            } else {
                b.wire("g_neg", Ty::u(1), "1'b0")
            };
            let mag = b.wire("g_mag", Ty::u(w), format!("{neg} ? -{ab} : {ab}"));
            let xt = Ty::s(signed_width(e, 0).max(2));
            let exp = b.wire("g_exp", xt, xt.lit(e));
            (neg, mag, exp)
        }
        Operand::Int { bits, frac, .. } => {
            let n = *bits;
            let x = Var::named("a", Ty::u(n)).as_signed();
            let y = Var::named("b", Ty::u(n)).as_signed();
            let e = -2 * i128::from(*frac);
            let ab = b.wire("g_ab", Ty::s(2 * n), format!("{} * {}", x.ext(n), y.ext(n)));
            let neg = b.wire("g_neg", Ty::u(1), format!("{ab} < {}", ab.lit(0)));
            let mag = b.wire("g_mag", Ty::u(2 * n), format!("{neg} ? -{ab} : {ab}"));
            let xt = Ty::s(signed_width(e, 0).max(2));
            let exp = b.wire("g_exp", xt, xt.lit(e));
            (neg, mag, exp)
        }
        Operand::Float { format: f } => {
            let (m, e) = (f.man_bits, f.exp_bits);
            let w = f.width();
            let offset = -2 * (i128::from(f.bias) + i128::from(m));
            let top = 2 * (super::pow2(e) - 1);
            let xt = Ty::s(signed_width(offset.min(0), top + offset.max(0)).max(2) + 1);
            let (x, y) = (Var::named("a", Ty::u(w)), Var::named("b", Ty::u(w)));
            let sig = |v: &Var| {
                let field = v.bits(m + e - 1, m);
                format!(
                    "{{{pad}'h0, ({field} == {z} ? {zs} : {{1'b1, {man}}})}}",
                    pad = m + 1,
                    z = field.lit(0),
                    zs = Ty::u(m + 1).lit(0),
                    man = v.bits(m - 1, 0)
                )
            };
            let neg = b.wire(
                "g_neg",
                Ty::u(1),
                format!("{} ^ {}", x.bit(m + e), y.bit(m + e)),
            );
            let mag = b.wire(
                "g_mag",
                Ty::u(2 * (m + 1)),
                format!("{} * {}", sig(&x), sig(&y)),
            );
            let exp = b.wire(
                "g_exp",
                xt,
                format!(
                    "{} + {} + {}",
                    x.bits(m + e - 1, m).signed_ext(xt.width),
                    y.bits(m + e - 1, m).signed_ext(xt.width),
                    xt.lit(offset)
                ),
            );
            (neg, mag, exp)
        }
    }
}

/// The golden of `fpacc`.
pub(crate) fn golden(p: &FpaccParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (lsb, cw) = fixed_point(p);
    let aw = p.acc.width();
    let pw = p.product.width();
    let acc_t = Ty::u(aw);
    // A rounded value with its flags: {uf, of, bits}.
    let rounded_t = Ty::u(aw + 2);
    let mut b = Body::new();

    let (g_neg, g_mag, g_exp) = exact_product(&mut b, p);
    if let Some(sr) = p.sr {
        stochastic(&mut b, p, sr.bits, (g_neg, g_mag, g_exp));
        return Ok(b.finish());
    }
    b.text(round_function(
        "g_qprod",
        &p.product,
        p.rounding,
        g_mag.width(),
    ));
    // Q_acc(s + t) for an accumulator value s and t of format `t_prod ? product : acc`.
    // One format: the jammed adder (checked against the exact sum in tests/golden.rs),
    // whose width follows the mantissa; two formats: the exact sum in fixed point.
    let same = p.acc == p.product;
    if same {
        b.text(round_function(
            "g_qacc",
            &p.acc,
            p.rounding,
            p.acc.man_bits + 5,
        ));
        b.text(jam_add_function("g_jadd", "g_qacc", &p.acc));
    } else {
        let fix = Ty::s(cw);
        b.text(round_function("g_qacc", &p.acc, p.rounding, cw));
        b.text(fix_function("g_fix_acc", &p.acc, lsb, cw));
        b.text(fix_function("g_fix_prod", &p.product, lsb, cw));
        b.line(format!(
            "// The exact sum in {cw}-bit fixed point (LSB 2^{lsb}), rounded once."
        ));
        b.line(format!("function {}g_add;", rounded_t.decl()));
        b.line(format!("    input {}x;", acc_t.decl()));
        b.line(format!("    input {}t;", fix.decl()));
        b.line(format!("    reg {}sum;", fix.decl()));
        b.line("    begin");
        b.line("        sum = g_fix_acc(x) + t;");
        b.line(format!(
            "        g_add = g_qacc(sum < {z}, sum < {z} ? -sum : sum, {l});",
            z = fix.lit(0),
            l = k(lsb)
        ));
        b.line("    end");
        b.line("endfunction");
    }
    let add = |x: &str, t: &str, t_prod: bool| {
        if same {
            format!("g_jadd({x}, {t})")
        } else {
            let fix = if t_prod { "g_fix_prod" } else { "g_fix_acc" };
            format!("g_add({x}, {fix}({t}))")
        }
    };

    let (v, c) = ("in_valid".to_string(), "clear".to_string());
    let (neg, mag, exp) = (g_neg, g_mag, g_exp);
    let q = b.wire(
        "g_q",
        Ty::u(pw + 2),
        format!("g_qprod({neg}, {mag}, {})", exp.ext(32)),
    );
    let (prod, puf, pof) = (q.bits(pw - 1, 0).to_string(), q.bit(pw + 1), q.bit(pw));

    if p.interleave > 1 {
        interleaved(&mut b, p, &prod, &puf, &pof, &add);
        return Ok(b.finish());
    }
    let acc = b.state_reg("acc_q", acc_t);
    b.state_reg("uf_q", Ty::u(1));
    b.state_reg("of_q", Ty::u(1));
    b.state_reg("out_valid_q", Ty::u(1));
    let zero_acc = acc.lit(0);
    let update = |valid: &str, clear: &str, next: &str, uf: &str, of: &str| {
        super::accumulator_state(aw, valid, clear, next, &[("uf", uf), ("of", of)])
    };
    if p.chunk == 0 {
        let r = b.wire(
            "g_r",
            rounded_t,
            add(&format!("{c} ? {zero_acc} : {acc}"), &prod, true),
        );
        b.text(update(
            &v,
            &c,
            &r.bits(aw - 1, 0).to_string(),
            &format!("{puf} | {}", r.bit(aw + 1)),
            &format!("{pof} | {}", r.bit(aw)),
        ));
        return Ok(b.finish());
    }
    let n = p.chunk;
    let inner = if n > 1 {
        let pos_t = Ty::u(32 - (n - 1).leading_zeros());
        let pos_q = b.state_reg("chunk_pos_q", pos_t);
        let inner_q = b.state_reg("inner_q", acc_t);
        let pos = b.wire("g_pos", pos_t, format!("{c} ? {} : {pos_q}", pos_t.lit(0)));
        let done = b.wire(
            "g_done",
            Ty::u(1),
            format!("{pos} == {}", pos_t.lit((n - 1).into())),
        );
        let inner = b.wire(
            "g_inner",
            rounded_t,
            add(
                &format!("{pos} == {} ? {zero_acc} : {inner_q}", pos_t.lit(0)),
                &prod,
                true,
            ),
        );
        b.text(format!(
            "    always @(posedge clk) begin
        if (rst) {pos_q} <= {z};
        else if ({v}) {pos_q} <= {done} ? {z} : {pos} + {one};
        if ({v}) {inner_q} <= {low};
    end
",
            z = pos_t.lit(0),
            one = pos_t.lit(1),
            low = inner.bits(aw - 1, 0),
        ));
        inner
    } else {
        b.wire("g_done", Ty::u(1), "1'b1");
        b.wire("g_inner", rounded_t, add(&zero_acc, &prod, true))
    };
    let cv = b.state_reg("chunk_valid_q", Ty::u(1));
    let cc = b.state_reg("chunk_clear_q", Ty::u(1));
    let cd = b.state_reg("chunk_done_q", Ty::u(1));
    let cuf = b.state_reg("chunk_uf_q", Ty::u(1));
    let cof = b.state_reg("chunk_of_q", Ty::u(1));
    let cs = b.state_reg("chunk_sum_q", acc_t);
    let base = b.wire("g_base", acc_t, format!("{cc} ? {zero_acc} : {acc}"));
    let outer = b.wire(
        "g_outer",
        rounded_t,
        add(&base.to_string(), &cs.to_string(), false),
    );
    b.text(format!(
        "    always @(posedge clk) begin
        {cv} <= rst ? 1'b0 : {v};
        {cc} <= {c};
        {cd} <= g_done;
        {cs} <= {low};
        {cuf} <= {puf} | {iuf};
        {cof} <= {pof} | {iof};
    end
",
        low = inner.bits(aw - 1, 0),
        iuf = inner.bit(aw + 1),
        iof = inner.bit(aw),
    ));
    b.text(update(
        &cv.to_string(),
        &cc.to_string(),
        &format!("{cd} ? {} : {base}", outer.bits(aw - 1, 0)),
        &format!("{cuf} | ({cd} & {})", outer.bit(aw + 1)),
        &format!("{cof} | ({cd} & {})", outer.bit(aw)),
    ));
    Ok(b.finish())
}

/// `--interleave K`, written the plain way: K partial-sum registers and a slot counter
/// (the cycle since reset modulo K); per valid beat `clear` zeroes every partial sum and
/// the product goes into the counter's slot. The read-out combines the partial sums by
/// halves (each sum rounded) and a delay line brings it to the outputs `latency` cycles
/// after the beat. `add(x, t, t_prod)` is the rounded sum of an accumulator value and a
/// product (`t_prod`) or another accumulator value.
fn interleaved(
    b: &mut Body,
    p: &FpaccParams,
    prod: &str,
    puf: &str,
    pof: &str,
    add: &dyn Fn(&str, &str, bool) -> String,
) {
    let k = p.interleave;
    let aw = p.acc.width();
    let (acc_t, rounded_t) = (Ty::u(aw), Ty::u(aw + 2));
    let pos_t = Ty::u(k.trailing_zeros());
    let pos = b.reg("g_pos", pos_t);
    let slots: Vec<Var> = (0..k)
        .map(|j| b.reg(&format!("g_slot{j}"), acc_t))
        .collect();
    let (suf, sof) = (b.reg("g_uf", Ty::u(1)), b.reg("g_of", Ty::u(1)));
    // The slot this cycle's beat goes into, before and after the add.
    let cur = b.wire(
        "g_cur",
        acc_t,
        (0..k).rev().fold(acc_t.lit(0), |e, j| {
            format!(
                "{pos} == {} ? {} : {e}",
                pos_t.lit(j.into()),
                slots[j as usize]
            )
        }),
    );
    let sum = b.wire(
        "g_sum",
        rounded_t,
        add(&format!("clear ? {} : {cur}", acc_t.lit(0)), prod, true),
    );
    let mut st = String::from("    always @(posedge clk) begin\n        if (rst) begin\n");
    st += &format!("            {pos} <= {};\n", pos_t.lit(0));
    for s in &slots {
        st += &format!("            {s} <= {};\n", acc_t.lit(0));
    }
    st += &format!("            {suf} <= 1'b0;\n            {sof} <= 1'b0;\n");
    st += "        end else begin\n";
    st += &format!("            {pos} <= {pos} + {};\n", pos_t.lit(1));
    st += "            if (in_valid) begin\n";
    for (j, s) in slots.iter().enumerate() {
        st += &format!(
            "                if ({pos} == {}) {s} <= {};\n                else if (clear) {s} <= {};\n",
            pos_t.lit(j as i128),
            sum.bits(aw - 1, 0),
            acc_t.lit(0)
        );
    }
    st += &format!(
        "                {suf} <= ({suf} & ~clear) | {puf} | {};\n",
        sum.bit(aw + 1)
    );
    st += &format!(
        "                {sof} <= ({sof} & ~clear) | {pof} | {};\n",
        sum.bit(aw)
    );
    st += "            end\n        end\n    end\n";
    b.text(st);

    // The read-out of the registers: {uf, of, bits} per value, folded by halves.
    let mut vals: Vec<Var> = slots
        .iter()
        .enumerate()
        .map(|(j, s)| b.wire(&format!("g_p0_{j}"), rounded_t, format!("{{2'b00, {s}}}")))
        .collect();
    let mut level = 1;
    while vals.len() > 1 {
        let half = vals.len() / 2;
        vals = (0..half)
            .map(|i| {
                let (x, y) = (&vals[i], &vals[i + half]);
                let r = b.wire(
                    &format!("g_r{level}_{i}"),
                    rounded_t,
                    add(
                        &x.bits(aw - 1, 0).to_string(),
                        &y.bits(aw - 1, 0).to_string(),
                        false,
                    ),
                );
                b.wire(
                    &format!("g_p{level}_{i}"),
                    rounded_t,
                    format!(
                        "{{{} | {} | {}, {} | {} | {}, {}}}",
                        x.bit(aw + 1),
                        y.bit(aw + 1),
                        r.bit(aw + 1),
                        x.bit(aw),
                        y.bit(aw),
                        r.bit(aw),
                        r.bits(aw - 1, 0)
                    ),
                )
            })
            .collect();
        level += 1;
    }
    let out = b.wire(
        "g_out",
        rounded_t,
        format!(
            "{{{} | {suf}, {} | {sof}, {}}}",
            vals[0].bit(aw + 1),
            vals[0].bit(aw),
            vals[0].bits(aw - 1, 0)
        ),
    );
    // The read-out of the state after cycle t is in the registers in cycle t + 1: a
    // delay line of latency - 1 stages shows it in cycle t + latency, with the valid bit
    // of the beat of cycle t.
    let v1 = b.reg("g_valid1", Ty::u(1));
    let depth = model::fpacc::interleave_latency(k) - 1;
    let line_t = Ty::u(aw + 3);
    let line: Vec<Var> = (1..depth)
        .map(|d| b.reg(&format!("g_line{d}"), line_t))
        .collect();
    let acc = b.state_reg("acc_q", acc_t);
    let auf = b.state_reg("acc_uf_q", Ty::u(1));
    let aof = b.state_reg("acc_of_q", Ty::u(1));
    let ov = b.state_reg("out_valid_q", Ty::u(1));
    let mut st = String::from("    always @(posedge clk) begin\n        if (rst) begin\n");
    st += &format!("            {v1} <= 1'b0;\n");
    for l in &line {
        st += &format!("            {l} <= {};\n", line_t.lit(0));
    }
    st += &format!(
        "            {acc} <= {};\n            {auf} <= 1'b0;\n            {aof} <= 1'b0;\n            {ov} <= 1'b0;\n",
        acc_t.lit(0)
    );
    st += "        end else begin\n";
    st += &format!("            {v1} <= in_valid;\n");
    let mut prev = format!("{{{v1}, {out}}}");
    for l in &line {
        st += &format!("            {l} <= {prev};\n");
        prev = l.to_string();
    }
    st += &format!("            {{{ov}, {auf}, {aof}, {acc}}} <= {prev};\n        end\n    end\n");
    b.text(st);
    b.line(format!("assign acc = {acc};"));
    b.line(format!("assign uf = {auf};"));
    b.line(format!("assign of = {aof};"));
    b.line(format!("assign out_valid = {ov};"));
}

/// `--rounding sr`, the plain way: the product rounded stochastically with
/// `rnd[R-1:0]`; the sum exact in fixed point, rounded stochastically with
/// `rnd[2R-1:R]`; the accumulator, flags and `out_valid` in the RTL's registers.
fn stochastic(b: &mut Body, p: &FpaccParams, r: u32, (neg, mag, exp): (Var, Var, Var)) {
    let (lsb, cw) = fixed_point(p);
    let (aw, pw) = (p.acc.width(), p.product.width());
    let (acc_t, rounded_t, fix) = (Ty::u(aw), Ty::u(aw + 2), Ty::s(cw));
    b.text(sr_round_function("g_qprod", &p.product, mag.width(), r));
    b.text(sr_round_function("g_qacc", &p.acc, cw, r));
    b.text(fix_function("g_fix_acc", &p.acc, lsb, cw));
    b.text(fix_function("g_fix_prod", &p.product, lsb, cw));
    let rnd = Var::named("rnd", Ty::u(2 * r));
    let q = b.wire(
        "g_q",
        Ty::u(pw + 2),
        format!(
            "g_qprod({neg}, {mag}, {}, {})",
            exp.ext(32),
            rnd.bits(r - 1, 0)
        ),
    );
    let acc = b.state_reg("acc_q", acc_t);
    b.state_reg("uf_q", Ty::u(1));
    b.state_reg("of_q", Ty::u(1));
    b.state_reg("out_valid_q", Ty::u(1));
    let sum = b.wire(
        "g_sum",
        fix,
        format!(
            "(clear ? {} : g_fix_acc({acc})) + g_fix_prod({})",
            fix.lit(0),
            q.bits(pw - 1, 0)
        ),
    );
    let z = fix.lit(0);
    let rr = b.wire(
        "g_r",
        rounded_t,
        format!(
            "g_qacc({sum} < {z}, {sum} < {z} ? -{sum} : {sum}, {}, {})",
            k(lsb),
            rnd.bits(2 * r - 1, r)
        ),
    );
    b.text(super::accumulator_state(
        aw,
        "in_valid",
        "clear",
        &rr.bits(aw - 1, 0).to_string(),
        &[
            ("uf", &format!("{} | {}", q.bit(pw + 1), rr.bit(aw + 1))),
            ("of", &format!("{} | {}", q.bit(pw), rr.bit(aw))),
        ],
    ));
}
