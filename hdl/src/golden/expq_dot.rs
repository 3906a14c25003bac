//! Reference of `expq_dot` (docs/log-domain.md).

use model::expq::ExpqDotParams;

use super::{Body, GoldenModule, Ty, Var};
use crate::ir::Result;

/// docs/log-domain.md plainly: one counter per exponent sum, `+1` or `-1` per nonzero
/// product while idle (with offsets, as many more as the cross terms of `(b^ew + o_w)
/// (b^ea + o_a)` need: one per weight exponent if `o_a != 0`, one per activation exponent
/// if `o_w != 0`, one for every product if both; each is a `case` arm below); a flush starts a walk that reads `c_k` and `T[k]` (a `case` over
/// the constants) for k = 0, 1, ... and clears each counter; the pair is registered,
/// then its product, then added to `y_acc` (`model::expq::WALK_STAGES`); the last
/// counter's sum goes to `y` and clears `y_acc`. The counters, the walk state, the
/// stages and the running sum are the RTL's registers, by name.
pub(crate) fn golden(p: &ExpqDotParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (n, cw, ow) = (p.counters(), p.counter_bits(), p.out_bits());
    let it = Ty::u(model::int::index_bits(n));
    let ct = Ty::s(cw);
    // T[k] >= 0 in table_bits bits, one more for its sign.
    let tt = Ty::s(p.table_bits() + 1);
    let table = p.table();
    let mut b = Body::new();
    let walking = b.state_reg("walking_q", Ty::u(1));
    let index = b.state_reg("walk_index_q", it);
    let y_acc = b.state_reg("y_acc_q", Ty::u(ow));
    let y = b.state_reg("y_q", Ty::u(ow));
    let out_valid = b.state_reg("out_valid_q", Ty::u(1));
    let read_c = b.state_reg("walk_count_q", ct);
    let read_t = b.state_reg("walk_constant_q", tt);
    let read_last = b.state_reg("walk_last_1_q", Ty::u(1));
    let term = b.state_reg("walk_term_q", Ty::u(ow));
    let term_last = b.state_reg("walk_last_2_q", Ty::u(1));
    let counts: Vec<Var> = (0..n)
        .map(|k| b.state_reg(&format!("count_{k}_q"), ct))
        .collect();
    // What counter k adds this beat: with one lane, `g_step` where its hit is true;
    // with L lanes, `g_delta_k`, each lane's step added to the counters it selects.
    let update: Vec<String> = if p.lanes == 1 {
        one_lane(&mut b, p, &walking, &counts)
    } else {
        lanes(&mut b, p, &walking, &counts)
    };
    let c = b.reg("g_c", ct);
    let t = b.reg("g_t", tt);
    b.line("always @* begin");
    b.line(format!("    case ({index})"));
    for (k, (count, v)) in counts.iter().zip(&table).enumerate() {
        let v = i128::try_from(*v).expect("table constants fit 64 bits");
        b.line(format!(
            "        {}: begin {c} = {count}; {t} = {}; end",
            it.lit(k as i128),
            tt.lit(v)
        ));
    }
    b.line(format!(
        "        default: begin {c} = {}; {t} = {}; end",
        ct.lit(0),
        tt.lit(0)
    ));
    b.line("    endcase");
    b.line("end");
    // The exact product; y keeps its low bits (y is a sum modulo 2^out).
    let pt = Ty::s(cw + tt.width);
    let prod = b.wire("g_prod", pt, format!("{read_c} * {read_t}"));
    let addend = if ow < pt.width {
        b.discard(&prod.bits(pt.width - 1, ow));
        prod.bits(ow - 1, 0).to_string()
    } else {
        prod.ext(ow)
    };
    let next = b.wire("g_next", Ty::u(ow), format!("{y_acc} + {term}"));
    let last = b.wire(
        "g_last",
        Ty::u(1),
        format!("{walking} && {index} == {}", it.lit((n - 1).into())),
    );
    let mut s = String::new();
    s += "    always @(posedge clk) begin\n        if (rst) begin\n";
    s += &format!("            {walking} <= 1'b0;\n            {out_valid} <= 1'b0;\n");
    s += &format!("            {index} <= {};\n", it.lit(0));
    s += &format!(
        "            {y_acc} <= {z};\n            {y} <= {z};\n            {term} <= {z};\n",
        z = y.lit(0)
    );
    s += &format!(
        "            {read_c} <= {};\n            {read_t} <= {};\n",
        ct.lit(0),
        tt.lit(0)
    );
    s += &format!("            {read_last} <= 1'b0;\n            {term_last} <= 1'b0;\n");
    for count in &counts {
        s += &format!("            {count} <= {};\n", ct.lit(0));
    }
    s += "        end else begin\n";
    s += &format!(
        "            {read_c} <= {walking} ? {c} : {zc};
            {read_t} <= {t};
            {read_last} <= {last};
            {term} <= {addend};
            {term_last} <= {read_last};
            {out_valid} <= {term_last};
            if ({term_last}) begin
                {y} <= {next};
                {y_acc} <= {zy};
            end else begin
                {y_acc} <= {next};
            end
            if ({walking}) begin
                {index} <= {last} ? {z} : {index} + {one};
                if ({last}) {walking} <= 1'b0;
            end else if (flush) begin
                {walking} <= 1'b1;
            end
",
        zc = ct.lit(0),
        z = it.lit(0),
        one = it.lit(1),
        zy = y.lit(0)
    );
    for ((k, count), update) in counts.iter().enumerate().zip(&update) {
        let kk = it.lit(k as i128);
        s += &format!(
            "            if ({walking} && {index} == {kk}) {count} <= {z};
            {update}
",
            z = ct.lit(0),
        );
    }
    s += &format!(
        "        end
    end
    assign y = {y};
    assign out_valid = {out_valid};
"
    );
    b.text(s);
    Ok(b.finish())
}

/// One lane: the beat's product adds `g_step` to each counter whose `case` arm (its
/// exponent sum, exponent or sign) it hits. Returns each counter's `else` branch.
fn one_lane(b: &mut Body, p: &ExpqDotParams, walking: &Var, counts: &[Var]) -> Vec<String> {
    let (e, ct) = (p.exp_bits, Ty::s(p.counter_bits()));
    let beat = b.wire(
        "g_count_beat",
        Ty::u(1),
        format!("in_valid && !(zw || za) && !{walking}"),
    );
    let (ew, ea) = (Var::named("ew", Ty::u(e)), Var::named("ea", Ty::u(e)));
    let sum = b.wire(
        "g_sum",
        Ty::u(e + 1),
        format!("{} + {}", ew.ext(e + 1), ea.ext(e + 1)),
    );
    // What moves counter k: its exponent sum; with offsets, its weight or activation
    // exponent, or any product (the sign counter).
    let codes = 1u32 << e;
    let hit = |k: u32| -> String {
        let te = Ty::u(e);
        let se = Ty::u(e + 1);
        if k < p.sum_counters() {
            return format!("{sum} == {}", se.lit(k.into()));
        }
        if let Some(w) = p.weight_counters().filter(|w| k < w + codes) {
            return format!("{ew} == {}", te.lit((k - w).into()));
        }
        if let Some(a) = p.activation_counters().filter(|a| k < a + codes) {
            return format!("{ea} == {}", te.lit((k - a).into()));
        }
        "1'b1".to_string()
    };
    let step = b.wire(
        "g_step",
        ct,
        format!("(sw ^ sa) ? {} : {}", ct.lit(-1), ct.lit(1)),
    );
    counts
        .iter()
        .enumerate()
        .map(|(k, count)| {
            format!(
                "else if ({beat} && {h}) {count} <= {count} + {step};",
                h = hit(k as u32)
            )
        })
        .collect()
}

/// L lanes, written as a loop over the lanes: `g_delta_k` starts at 0 and each lane
/// with a nonzero product adds its step (`+1`, or `-1` when the signs differ) to the
/// `g_delta` of the exponent sum it selects (a `case`), with offsets also to the one of
/// its weight exponent, of its activation exponent and to the sign count's. Counter k
/// adds `g_delta_k` (modulo its width) every beat it is not cleared.
fn lanes(b: &mut Body, p: &ExpqDotParams, walking: &Var, counts: &[Var]) -> Vec<String> {
    let (e, l_count) = (p.exp_bits, p.lanes);
    let ct = Ty::s(p.counter_bits());
    let (te, se) = (Ty::u(e), Ty::u(e + 1));
    let codes = 1u32 << e;
    let port = |name: &str, w: u32| Var::named(name, Ty::u(w * l_count));
    let (sw, zw, ew) = (port("sw", 1), port("zw", 1), port("ew", e));
    let (sa, za, ea) = (port("sa", 1), port("za", 1), port("ea", e));
    let deltas: Vec<Var> = (0..counts.len())
        .map(|k| b.reg(&format!("g_delta_{k}"), ct))
        .collect();
    let mut lanes = Vec::new();
    for l in 0..l_count {
        let (ew_l, ea_l) = (ew.bits(l * e + e - 1, l * e), ea.bits(l * e + e - 1, l * e));
        let beat = b.wire(
            &format!("g_count_beat_{l}"),
            Ty::u(1),
            format!(
                "in_valid && !({} || {}) && !{walking}",
                zw.bit(l),
                za.bit(l)
            ),
        );
        let sum = b.wire(
            &format!("g_sum_{l}"),
            se,
            format!("{} + {}", ew_l.ext(e + 1), ea_l.ext(e + 1)),
        );
        let step = b.wire(
            &format!("g_step_{l}"),
            ct,
            format!(
                "({} ^ {}) ? {} : {}",
                sw.bit(l),
                sa.bit(l),
                ct.lit(-1),
                ct.lit(1)
            ),
        );
        lanes.push((beat, sum, step, ew_l, ea_l));
    }
    let add = |k: u32, step: &Var| format!("{d} = {d} + {step};", d = deltas[k as usize]);
    b.line("always @* begin");
    for d in &deltas {
        b.line(format!("    {d} = {};", ct.lit(0)));
    }
    for (beat, sum, step, ew_l, ea_l) in &lanes {
        b.line(format!("    if ({beat}) begin"));
        b.line(format!("        case ({sum})"));
        for k in 0..p.sum_counters() {
            b.line(format!(
                "            {}: {}",
                se.lit(k.into()),
                add(k, step)
            ));
        }
        b.line("            default: ;");
        b.line("        endcase");
        for (start, code) in [(p.weight_counters(), ew_l), (p.activation_counters(), ea_l)] {
            let Some(start) = start else { continue };
            b.line(format!("        case ({code})"));
            for j in 0..codes {
                b.line(format!(
                    "            {}: {}",
                    te.lit(j.into()),
                    add(start + j, step)
                ));
            }
            b.line("            default: ;");
            b.line("        endcase");
        }
        if let Some(s) = p.sign_counter() {
            b.line(format!("        {}", add(s, step)));
        }
        b.line("    end");
    }
    b.line("end");
    counts
        .iter()
        .zip(&deltas)
        .map(|(count, d)| format!("else {count} <= {count} + {d};"))
        .collect()
}
