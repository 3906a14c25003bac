//! Behavioural reference of `fpacc` (see `crate::golden`): SPEC.md section 2 written the
//! plain way. One Verilog function per format rounds `(-1)^neg * mag * 2^lsb` (find the
//! leading one with a loop, keep M+1 bits, round, range-check); sums are exact in one
//! wide fixed-point register whose LSB is the smallest any format can hold. The unit's
//! state (accumulators, flags, chunk position, pipeline and chunk registers) keeps the
//! generated RTL's register names.

use std::fmt::Write as _;

use model::fpacc::{FpaccParams, Operand};

use super::{fix_function, jam_add_function, k, lit, round_function, slit, GoldenModule};
use crate::float::signed_bits;
use crate::ir::Result;

/// The fixed point every sum is exact in: the LSB exponent and the width (sign
/// included) that hold any value of the accumulator and product formats, plus a carry.
fn fixed_point(p: &FpaccParams) -> (i32, u32) {
    let lsb = [p.acc, p.product]
        .iter()
        .map(|f| f.min_exp() - f.man_bits as i32)
        .min()
        .expect("two formats");
    let top = [p.acc, p.product]
        .iter()
        .map(|f| f.max_exp())
        .max()
        .expect("two formats");
    (lsb, (top - lsb + 1) as u32 + 2)
}

/// The golden of `fpacc`.
pub(crate) fn golden(p: &FpaccParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (lsb, cw) = fixed_point(p);
    let aw = p.acc.width();
    let pw = p.product.width();
    let mut s = String::new();
    let mut state: Vec<String> = ["acc_q", "uf_q", "of_q", "out_valid_q"]
        .map(String::from)
        .to_vec();

    // The exact product: magnitude and the exponent of its LSB.
    let (mag_bits, exp_bits) = match &p.operand {
        Operand::Int { bits, frac } => {
            let e = -2 * i64::from(*frac);
            let xw = signed_bits(e, 0);
            let _ = writeln!(
                s,
                "    wire signed [{}:0] g_ab = $signed(a) * $signed(b);",
                2 * bits - 1
            );
            let _ = writeln!(s, "    wire g_neg = g_ab < 0;");
            let _ = writeln!(
                s,
                "    wire [{}:0] g_mag = g_neg ? -g_ab : g_ab;",
                2 * bits - 1
            );
            let _ = writeln!(s, "    wire [{}:0] g_exp = {};", xw - 1, slit(xw, e.into()));
            (2 * bits, xw)
        }
        Operand::Float { format: f } => {
            let (m, e) = (f.man_bits, f.exp_bits);
            let offset = -2 * i64::from(f.bias + m as i32);
            let top = 2 * ((1i64 << e) - 1);
            let xw = signed_bits(offset.min(0), top + offset.max(0)) + 1;
            let field = |x: &str| format!("{x}[{}:{m}]", m + e - 1);
            let sig = |x: &str| {
                format!(
                    "{{{pad}'h0, ({f} == {z} ? {zs} : {{1'b1, {x}[{mm1}:0]}})}}",
                    pad = m + 1,
                    f = field(x),
                    z = lit(e, 0),
                    zs = lit(m + 1, 0),
                    mm1 = m - 1
                )
            };
            let _ = writeln!(s, "    wire g_neg = a[{s}] ^ b[{s}];", s = m + e);
            let _ = writeln!(
                s,
                "    wire [{}:0] g_mag = {} * {};",
                2 * m + 1,
                sig("a"),
                sig("b")
            );
            let _ = writeln!(
                s,
                "    wire signed [{}:0] g_exp = $signed({{{pad}'h0, {fa}}}) + $signed({{{pad}'h0, {fb}}}) + {off};",
                xw - 1,
                pad = xw - e,
                fa = field("a"),
                fb = field("b"),
                off = slit(xw, offset.into())
            );
            (2 * (m + 1), xw)
        }
    };
    s += &round_function("g_qprod", &p.product, p.rounding, mag_bits);
    // Q_acc(s + t) for an accumulator value s and t of format `t_prod ? product : acc`.
    // One format: the jammed adder (checked against the exact sum in tests/golden.rs),
    // whose width follows the mantissa; two formats: the exact sum in fixed point.
    let same = p.acc == p.product;
    if same {
        s += &round_function("g_qacc", &p.acc, p.rounding, p.acc.man_bits + 5);
        s += &jam_add_function("g_jadd", "g_qacc", &p.acc);
    } else {
        s += &round_function("g_qacc", &p.acc, p.rounding, cw);
        s += &fix_function("g_fix_acc", &p.acc, lsb, cw);
        s += &fix_function("g_fix_prod", &p.product, lsb, cw);
        let _ = writeln!(
            s,
            "    // The exact sum in {cw}-bit fixed point (LSB 2^{lsb}), rounded once.
    function [{}:0] g_add;
        input [{}:0] x;
        input signed [{}:0] t;
        reg signed [{}:0] sum;
        begin
            sum = g_fix_acc(x) + t;
            g_add = g_qacc(sum < {z}, sum < {z} ? -sum : sum, {l});
        end
    endfunction",
            aw + 1,
            aw - 1,
            cw - 1,
            cw - 1,
            z = slit(cw, 0),
            l = k(lsb)
        );
    }
    let add = |x: &str, t: &str, t_prod: bool| {
        if same {
            format!("g_jadd({x}, {t})")
        } else {
            let fix = if t_prod { "g_fix_prod" } else { "g_fix_acc" };
            format!("g_add({x}, {fix}({t}))")
        }
    };

    // Pipeline: the generated unit's registers, by name.
    let (mut v, mut c) = ("in_valid".to_string(), "clear".to_string());
    let (mut neg, mut mag, mut exp) = (
        "g_neg".to_string(),
        "g_mag".to_string(),
        "g_exp".to_string(),
    );
    let mut regs = String::new();
    if p.pipeline >= 2 {
        let _ = writeln!(s, "    reg valid_1, clear_1, prod_neg_1;");
        let _ = writeln!(s, "    reg [{}:0] prod_magnitude_1;", mag_bits - 1);
        let _ = writeln!(s, "    reg [{}:0] prod_exp_1;", exp_bits - 1);
        regs += "        valid_1 <= rst ? 1'b0 : in_valid;\n        clear_1 <= clear;\n";
        regs += "        prod_neg_1 <= g_neg;\n        prod_magnitude_1 <= g_mag;\n        prod_exp_1 <= g_exp;\n";
        state.extend(
            [
                "valid_1",
                "clear_1",
                "prod_neg_1",
                "prod_magnitude_1",
                "prod_exp_1",
            ]
            .map(String::from),
        );
        (v, c) = ("valid_1".into(), "clear_1".into());
        (neg, mag, exp) = (
            "prod_neg_1".into(),
            "prod_magnitude_1".into(),
            "prod_exp_1".into(),
        );
    }
    let _ = writeln!(
        s,
        "    wire [{}:0] g_q = g_qprod({neg}, {mag}, $signed({{{{{}{{{exp}[{}]}}}}, {exp}}}));",
        pw + 1,
        32 - exp_bits,
        exp_bits - 1
    );
    let (mut prod, mut puf, mut pof) = (
        format!("g_q[{}:0]", pw - 1),
        format!("g_q[{}]", pw + 1),
        format!("g_q[{pw}]"),
    );
    if p.pipeline >= 1 {
        let _ = writeln!(s, "    reg valid_2, clear_2, product_uf_2, product_of_2;");
        let _ = writeln!(s, "    reg [{}:0] product_2;", pw - 1);
        regs += &format!("        valid_2 <= rst ? 1'b0 : {v};\n        clear_2 <= {c};\n");
        regs += &format!("        product_2 <= {prod};\n        product_uf_2 <= {puf};\n        product_of_2 <= {pof};\n");
        state.extend(
            [
                "valid_2",
                "clear_2",
                "product_2",
                "product_uf_2",
                "product_of_2",
            ]
            .map(String::from),
        );
        (v, c) = ("valid_2".into(), "clear_2".into());
        (prod, puf, pof) = (
            "product_2".into(),
            "product_uf_2".into(),
            "product_of_2".into(),
        );
    }
    if !regs.is_empty() {
        let _ = writeln!(s, "    always @(posedge clk) begin\n{regs}    end");
    }

    let _ = writeln!(
        s,
        "    reg [{}:0] acc_q;\n    reg uf_q, of_q, out_valid_q;",
        aw - 1
    );
    let zero_acc = lit(aw, 0);
    let update = |valid: &str, clear: &str, next: &str, uf: &str, of: &str| {
        super::accumulator_state(aw, valid, clear, next, &[("uf", uf), ("of", of)])
    };
    let (am1, ufb) = (aw - 1, aw + 1);
    if p.chunk == 0 {
        let _ = writeln!(
            s,
            "    wire [{}:0] g_r = {};",
            aw + 1,
            add(&format!("{c} ? {zero_acc} : acc_q"), &prod, true)
        );
        s += &update(
            &v,
            &c,
            &format!("g_r[{am1}:0]"),
            &format!("{puf} | g_r[{ufb}]"),
            &format!("{pof} | g_r[{aw}]"),
        );
    } else {
        let n = p.chunk;
        if n > 1 {
            let cwid = 32 - (n - 1).leading_zeros();
            let _ = writeln!(
                s,
                "    reg [{}:0] chunk_pos_q;\n    reg [{}:0] inner_q;",
                cwid - 1,
                aw - 1
            );
            state.extend(["chunk_pos_q", "inner_q"].map(String::from));
            let _ = writeln!(
                s,
                "    wire [{}:0] g_pos = {c} ? {} : chunk_pos_q;",
                cwid - 1,
                lit(cwid, 0)
            );
            let _ = writeln!(
                s,
                "    wire g_done = g_pos == {};",
                lit(cwid, (n - 1).into())
            );
            let _ = writeln!(
                s,
                "    wire [{}:0] g_inner = {};",
                aw + 1,
                add(
                    &format!("g_pos == {} ? {zero_acc} : inner_q", lit(cwid, 0)),
                    &prod,
                    true
                )
            );
            let _ = write!(
                s,
                "    always @(posedge clk) begin
        if (rst) chunk_pos_q <= {z};
        else if ({v}) chunk_pos_q <= g_done ? {z} : g_pos + {one};
        if ({v}) inner_q <= g_inner[{am1}:0];
    end
",
                z = lit(cwid, 0),
                one = lit(cwid, 1),
            );
        } else {
            let _ = writeln!(s, "    wire g_done = 1'b1;");
            let _ = writeln!(
                s,
                "    wire [{}:0] g_inner = {};",
                aw + 1,
                add(&zero_acc, &prod, true)
            );
        }
        let _ = writeln!(
            s,
            "    reg chunk_valid_q, chunk_clear_q, chunk_done_q, chunk_uf_q, chunk_of_q;"
        );
        let _ = writeln!(s, "    reg [{}:0] chunk_sum_q;", aw - 1);
        state.extend(
            [
                "chunk_valid_q",
                "chunk_clear_q",
                "chunk_done_q",
                "chunk_sum_q",
                "chunk_uf_q",
                "chunk_of_q",
            ]
            .map(String::from),
        );
        let _ = writeln!(
            s,
            "    wire [{}:0] g_base = chunk_clear_q ? {zero_acc} : acc_q;
    wire [{}:0] g_outer = {};",
            aw - 1,
            aw + 1,
            add("g_base", "chunk_sum_q", false)
        );
        let _ = write!(
            s,
            "    always @(posedge clk) begin
        chunk_valid_q <= rst ? 1'b0 : {v};
        chunk_clear_q <= {c};
        chunk_done_q <= g_done;
        chunk_sum_q <= g_inner[{am1}:0];
        chunk_uf_q <= {puf} | g_inner[{ufb}];
        chunk_of_q <= {pof} | g_inner[{aw}];
    end
"
        );
        s += &update(
            "chunk_valid_q",
            "chunk_clear_q",
            &format!("chunk_done_q ? g_outer[{am1}:0] : g_base"),
            &format!("chunk_uf_q | (chunk_done_q & g_outer[{ufb}])"),
            &format!("chunk_of_q | (chunk_done_q & g_outer[{aw}])"),
        );
    }
    Ok(GoldenModule { body: s, state })
}
