//! Behavioural references ("goldens") for formal equivalence.
//!
//! A unit's golden is a Verilog-2005 module with the generated module's name, ports and
//! latency, written the plainest way a reviewer can hold against the docs/ contract: wide `*` and
//! `+`, comparisons against constants, one `always` block, no sharing and no pipelining
//! tricks (a pipelined unit's golden delays its inputs instead). It is text, not IR, so
//! that it shares nothing with the generator it checks.
//!
//! One file per unit (`mac.rs`, ..., `fpacc.rs`) writes its golden with the small text
//! builder here: [`Body`] declares each `wire`/`reg` with a [`Ty`] (width and signedness)
//! and returns a [`Var`] that knows its type, so literals ([`Ty::lit`]), extensions
//! ([`Var::ext`], [`Var::signed_ext`]) and part selects ([`Var::bits`]) are sized from
//! the declaration and checked (a constant that does not fit, an extension that would
//! narrow or a select out of range is a panic, never a silently wrong reference); bits
//! computed but deliberately unused are named as such ([`Body::discard`]). Constants wider
//! than 128 bits are written digit by digit ([`lit`]), and powers of two go through
//! [`pow2`], so a wide format cannot wrap a shift.
//!
//! The golden keeps the unit's architectural state (accumulators, sticky flags, beat
//! counters) in registers named as in the generated RTL; the prover matches those by
//! name and hides every other internal name, so pipeline registers and intermediate wires
//! are free to differ.

use std::fmt::Write as _;

use model::float::{FloatFormat, Rounding};
use model::iface::{Dir, Interface};
use model::UnitParams;

use crate::verilog::Header;
use crate::{Generate, HdlError, Reference};

pub(crate) mod bfp_add;
pub(crate) mod bfp_dot;
pub(crate) mod bfp_quant;
pub(crate) mod expq_dot;
pub(crate) mod expq_quant;
pub(crate) mod fpacc;
pub(crate) mod fpacc_long;
pub(crate) mod lns_mac;
pub(crate) mod lns_mul;
pub(crate) mod mac;
pub(crate) mod mx_dequant;
pub(crate) mod mx_dot;
pub(crate) mod mx_quant;
pub(crate) mod palq_pe;
pub(crate) mod palq_shuffle;
pub(crate) mod q8quant;
pub(crate) mod range_stats;
pub(crate) mod rangebn;
pub(crate) mod requant;

/// Refuse a parameter set the unit does not accept, as the generator does.
fn accepted<P: UnitParams>(p: &P) -> Result<(), HdlError> {
    p.validate()
        .map_err(|e| crate::param_error(&p.module_name(), e))
}

/// A unit's behavioural reference: the module body and the state it shares by name with
/// the generated RTL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoldenModule {
    /// Declarations, `assign`s and `always` blocks (inside `module ... endmodule`).
    pub body: String,
    /// Registers that hold the same state under the same name in both designs.
    pub state: Vec<String>,
    /// Cut points: internal wires both designs compute bit for bit alike under the same
    /// name (a block's largest exponent, say). The prover keeps them like the state, so
    /// that Yosys's `equiv_simple` proves each one first and then every cone behind it
    /// from the proven cut (docs/verification.md).
    pub cuts: Vec<String>,
    /// Whole modules the body instantiates, written after it (a pipelined unit's
    /// reference is its unpipelined reference behind a delay line, `crate::pipeline`;
    /// the file's first module is the one named like the file).
    pub children: String,
    /// The instance that holds the [`GoldenModule::state`] registers, when they are not
    /// in the module itself: after flattening, `<scope>.<name>`.
    pub scope: Option<String>,
}

/// The golden of `p` as a file (header, the module with the unit's ports, its body).
pub fn golden_verilog<P: Reference>(p: &P, header: &Header) -> Result<String, HdlError> {
    p.golden().map(|g| golden_file(p, &g, header))
}

/// The file of an already built golden `g` of `p`.
pub fn golden_file<P: Generate>(p: &P, g: &GoldenModule, header: &Header) -> String {
    let mut s = header.render();
    s.push_str("// Behavioural reference (golden) for formal equivalence; see hdl/src/golden/.\n");
    s.push_str("`default_nettype none\n\n");

    s.push_str(&module_header(&p.module_name(), &p.interface()));
    s.push_str(&g.body);
    s.push_str("endmodule\n\n");
    s.push_str(&g.children);
    s.push_str("`default_nettype wire\n");
    s
}

/// `module name (...);` with every port of the interface as a plain `wire`.
pub(crate) fn module_header(name: &str, iface: &Interface) -> String {
    let mut s = format!("module {name} (\n");
    let n = iface.ports.len();
    for (i, p) in iface.ports.iter().enumerate() {
        let dir = match p.dir {
            Dir::In => "input ",
            Dir::Out => "output",
        };
        let range = if p.width > 1 {
            format!("[{}:0] ", p.width - 1)
        } else {
            String::new()
        };
        let sep = if i + 1 < n { "," } else { "" };
        let _ = writeln!(s, "    {dir} wire {range}{}{sep}", p.name);
    }
    s.push_str(");\n");
    s
}

/// `2^n`, checked: a width this large has no place in a reference.
pub fn pow2(n: u32) -> i128 {
    2i128
        .checked_pow(n)
        .unwrap_or_else(|| panic!("golden: 2^{n} does not fit 128 bits"))
}

/// The width of a two's-complement signal that holds every value in `lo..=hi`.
pub fn signed_width(lo: i128, hi: i128) -> u32 {
    let need = |v: i128| {
        129 - if v < 0 {
            (!v).leading_zeros()
        } else {
            v.leading_zeros()
        }
    };
    need(lo).max(need(hi))
}

/// The hex digits of `value` as a `width`-bit two's-complement number, for any width
/// (a negative value is sign-extended past 128 bits).
fn hex_digits(width: u32, value: i128) -> String {
    let nibbles = width.div_ceil(4);
    let mut digits = String::new();
    for i in (0..nibbles).rev() {
        let mut d = (value >> (4 * i).min(127)) & 0xf;
        if i == nibbles - 1 && !width.is_multiple_of(4) {
            d &= (1 << (width % 4)) - 1;
        }
        if !(digits.is_empty() && d == 0) {
            digits.push(char::from_digit(d as u32, 16).expect("a nibble"));
        }
    }
    if digits.is_empty() {
        digits.push('0');
    }
    digits
}

/// Whether `value` is a `width`-bit number, signed (`-2^(w-1) ..= 2^(w-1) - 1`) or not
/// (`0 ..= 2^w - 1`).
fn fits(width: u32, value: i128, signed: bool) -> bool {
    if width == 0 {
        return false;
    }
    if width >= 128 {
        return true; // any i128, sign-extended
    }
    let lo = if signed || value < 0 {
        -pow2(width - 1)
    } else {
        0
    };
    let hi = if signed {
        pow2(width - 1) - 1
    } else {
        i128::MAX >> (127 - width) // 2^width - 1, also for width 127
    };
    (lo..=hi).contains(&value)
}

/// A sized unsigned hex literal of `value`: an unsigned number of `width` bits, or a
/// negative one in `width`-bit two's complement (`lit(w, -1)` is all ones). Checked: a
/// value that does not fit is a bug in the reference, never silently truncated.
pub fn lit(width: u32, value: i128) -> String {
    assert!(
        fits(width, value, false),
        "golden: {value} does not fit a {width}-bit literal"
    );
    format!("{width}'h{}", hex_digits(width, value))
}

/// A sized signed hex literal: `value` as a `width`-bit two's-complement number, checked
/// to be in `-2^(w-1) ..= 2^(w-1) - 1`.
pub fn slit(width: u32, value: i128) -> String {
    assert!(
        fits(width, value, true),
        "golden: {value} does not fit a {width}-bit signed literal"
    );
    format!("{width}'sh{}", hex_digits(width, value))
}

/// The type of a declared signal: width and signedness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ty {
    pub width: u32,
    pub signed: bool,
}

impl Ty {
    /// An unsigned `width`-bit type.
    pub fn u(width: u32) -> Ty {
        assert!(width >= 1, "golden: a signal of no bits");
        Ty {
            width,
            signed: false,
        }
    }
    /// A signed `width`-bit type.
    pub fn s(width: u32) -> Ty {
        Ty {
            signed: true,
            ..Ty::u(width)
        }
    }
    /// A literal of this type, checked to fit.
    pub fn lit(&self, value: i128) -> String {
        if self.signed {
            slit(self.width, value)
        } else {
            lit(self.width, value)
        }
    }
    /// `signed [w-1:0] ` as a declaration says it.
    pub fn decl(&self) -> String {
        format!(
            "{}{}",
            if self.signed { "signed " } else { "" },
            range(self.width)
        )
    }
}

/// A signal of a reference (or a part of one) that knows its width and signedness:
/// literals, extensions and slices made from it are sized from the declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var {
    name: String,
    /// How `name` is declared (a part selects `ty.width` bits from `lo`).
    declared: Ty,
    lo: u32,
    ty: Ty,
}

impl std::fmt::Display for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.whole() {
            f.write_str(&self.name)
        } else if self.ty.width == 1 {
            write!(f, "{}[{}]", self.name, self.lo)
        } else {
            write!(
                f,
                "{}[{}:{}]",
                self.name,
                self.lo + self.ty.width - 1,
                self.lo
            )
        }
    }
}

impl Var {
    /// A signal declared elsewhere (a port, say) as `ty`.
    pub fn named(name: &str, ty: Ty) -> Var {
        Var {
            name: name.to_string(),
            declared: ty,
            lo: 0,
            ty,
        }
    }
    /// Whether this is the whole declared signal, not a part of it.
    fn whole(&self) -> bool {
        self.lo == 0 && self.ty.width == self.declared.width
    }
    pub fn width(&self) -> u32 {
        self.ty.width
    }
    pub fn ty(&self) -> Ty {
        self.ty
    }
    /// The same bits read as signed (`$signed(...)` in expressions).
    pub fn as_signed(&self) -> Var {
        Var {
            ty: Ty::s(self.ty.width),
            ..self.clone()
        }
    }
    /// A literal of this signal's width and signedness, checked to fit.
    pub fn lit(&self, value: i128) -> String {
        self.ty.lit(value)
    }
    /// Bit `i` (checked), as an expression.
    pub fn bit(&self, i: u32) -> String {
        assert!(
            i < self.ty.width,
            "golden: bit {i} of {} bits",
            self.ty.width
        );
        if self.declared.width == 1 {
            self.name.clone()
        } else {
            format!("{}[{}]", self.name, self.lo + i)
        }
    }
    /// Bits `hi..=lo` (checked), unsigned.
    pub fn bits(&self, hi: u32, lo: u32) -> Var {
        assert!(
            lo <= hi && hi < self.ty.width,
            "golden: bits {hi}:{lo} of {} bits",
            self.ty.width
        );
        Var {
            name: self.name.clone(),
            declared: self.declared,
            lo: self.lo + lo,
            ty: Ty::u(hi - lo + 1),
        }
    }
    /// The value as a signed expression of `width` bits: [`Var::ext`] for a signed
    /// value, `$signed({pad'h0, x})` (one bit wider at least) for an unsigned one.
    pub fn signed_ext(&self, width: u32) -> String {
        if self.ty.signed {
            return self.ext(width);
        }
        assert!(
            width > self.ty.width,
            "golden: unsigned {} bits need a wider signed type than {width}",
            self.ty.width
        );
        format!("$signed({})", self.ext(width))
    }
    /// The top bit (the sign of a signed value).
    pub fn msb(&self) -> String {
        self.bit(self.ty.width - 1)
    }
    /// The value as an expression of exactly `width` bits (checked to be no narrower):
    /// sign-extended and `$signed` if signed, zero-extended otherwise.
    pub fn ext(&self, width: u32) -> String {
        let w = self.ty.width;
        assert!(width >= w, "golden: {w} bits do not extend to {width}");
        let pad = width - w;
        match (self.ty.signed, pad) {
            (false, 0) => self.to_string(),
            (false, _) => format!("{{{pad}'h0, {self}}}"),
            (true, 0) if self.whole() && self.declared.signed => self.to_string(),
            (true, 0) => format!("$signed({self})"),
            (true, 1) => format!("$signed({{{}, {self}}})", self.msb()),
            (true, _) => format!("$signed({{{{{pad}{{{}}}}}, {self}}})", self.msb()),
        }
    }
}

/// A reference's module body under construction: declarations that return [`Var`]s,
/// statements, and the names of the state registers it shares with the RTL.
#[derive(Debug, Default)]
pub struct Body {
    text: String,
    state: Vec<String>,
    cuts: Vec<String>,
    discarded: u32,
}

impl Body {
    pub fn new() -> Body {
        Body::default()
    }
    /// One line of the body, indented one level.
    pub fn line(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.text, "    {}", text.as_ref());
    }
    /// Text already indented and ending in a newline (functions, `always` blocks).
    pub fn text(&mut self, text: impl AsRef<str>) {
        self.text.push_str(text.as_ref());
    }
    /// `wire <ty> name = expr;`
    pub fn wire(&mut self, name: &str, ty: Ty, expr: impl std::fmt::Display) -> Var {
        self.line(format!("wire {}{name} = {expr};", ty.decl()));
        Var::named(name, ty)
    }
    /// `reg <ty> name;`
    pub fn reg(&mut self, name: &str, ty: Ty) -> Var {
        self.line(format!("reg {}{name};", ty.decl()));
        Var::named(name, ty)
    }
    /// Mark bits the reference computes but does not need (the high bits of a product
    /// kept modulo 2^n, say) as deliberately unused: a wire named `g_unused_<k>`, which
    /// `verilator -Wall` leaves alone by its default `--unused-regexp`.
    pub fn discard(&mut self, bits: &Var) {
        let name = format!("g_unused_{}", self.discarded);
        self.discarded += 1;
        self.wire(&name, Ty::u(bits.width()), bits);
    }
    /// A `reg` that holds state under the same name as in the RTL.
    pub fn state_reg(&mut self, name: &str, ty: Ty) -> Var {
        self.state.push(name.to_string());
        self.reg(name, ty)
    }
    /// Names declared by shared pieces ([`block_last`], ...) that are state too.
    pub fn add_state(&mut self, names: impl IntoIterator<Item = String>) {
        self.state.extend(names);
    }
    /// `wire <ty> name = expr;`, a cut point the RTL has under the same name and value
    /// ([`GoldenModule::cuts`]).
    pub fn cut_wire(&mut self, name: &str, ty: Ty, expr: impl std::fmt::Display) -> Var {
        self.cuts.push(name.to_string());
        self.wire(name, ty, expr)
    }
    pub fn finish(self) -> GoldenModule {
        GoldenModule {
            body: self.text,
            state: self.state,
            cuts: self.cuts,
            children: String::new(),
            scope: None,
        }
    }
}

/// `[w-1:0] ` or nothing for one bit.
pub fn range(width: u32) -> String {
    if width > 1 {
        format!("[{}:0] ", width - 1)
    } else {
        String::new()
    }
}

/// A block's last beat, as the RTL's `block_last` finds it: `g_last` marks the valid
/// beat that completes a block of `beats`; with more than one beat per block the
/// register `beat_count` (reset to zero) counts them. Returns the text and the state it
/// declares.
pub fn block_last(beats: u32) -> (String, Vec<String>) {
    if beats == 1 {
        return ("    wire g_last = in_valid;\n".into(), Vec::new());
    }
    let cw = model::int::index_bits(beats);
    let text = format!(
        "    reg {cr}beat_count;
    wire g_last = in_valid && beat_count == {last};
    always @(posedge clk) begin
        if (rst) beat_count <= {zero};
        else if (in_valid) beat_count <= g_last ? {zero} : beat_count + {one};
    end
",
        cr = range(cw),
        last = lit(cw, (beats - 1).into()),
        zero = lit(cw, 0),
        one = lit(cw, 1),
    );
    (text, vec!["beat_count".into()])
}

/// The output registers of a unit with latency 1: for each `(port, width, next)` a
/// register `<port>_q`, reset to zero and loaded with `next` on `in_valid`, driving the
/// port; `out_valid_q` follows `in_valid`. The register names are the generated RTL's.
pub fn registered_outputs(outs: &[(&str, u32, &str)]) -> String {
    registered_outputs_on("in_valid", outs)
}

/// [`registered_outputs`] loaded on `load` (a block's last beat, say) instead of
/// `in_valid`; `out_valid_q` follows `load`.
pub fn registered_outputs_on(load: &str, outs: &[(&str, u32, &str)]) -> String {
    let mut s = String::new();
    for (port, width, _) in outs {
        let _ = writeln!(s, "    reg {}{port}_q;", range(*width));
    }
    s.push_str("    reg out_valid_q;\n    always @(posedge clk) begin\n        if (rst) begin\n");
    for (port, width, _) in outs {
        let _ = writeln!(s, "            {port}_q <= {};", lit(*width, 0));
    }
    s.push_str("            out_valid_q <= 1'b0;\n        end else begin\n");
    let _ = write!(
        s,
        "            out_valid_q <= {load};\n            if ({load}) begin\n"
    );
    for (port, _, next) in outs {
        let _ = writeln!(s, "                {port}_q <= {next};");
    }
    s.push_str("            end\n        end\n    end\n");
    for (port, _, _) in outs {
        let _ = writeln!(s, "    assign {port} = {port}_q;");
    }
    s.push_str("    assign out_valid = out_valid_q;\n");
    s
}

/// The state names [`registered_outputs`] declares.
pub fn registered_output_state(ports: &[&str]) -> Vec<String> {
    ports
        .iter()
        .map(|p| format!("{p}_q"))
        .chain(std::iter::once("out_valid_q".to_string()))
        .collect()
}

/// An accumulator's state (`acc_q` and sticky flags, declared by the caller): reset to
/// zero; on `valid`, `acc_q <= next` and each `(flag, new)` gives
/// `<flag>_q <= (<flag>_q & ~clear) | new`; `out_valid_q` follows `valid`; each register
/// drives its port (`acc`, the flags, `out_valid`). The names are the generated RTL's.
pub fn accumulator_state(
    acc_bits: u32,
    valid: &str,
    clear: &str,
    next: &str,
    flags: &[(&str, &str)],
) -> String {
    let mut s = format!(
        "    always @(posedge clk) begin\n        if (rst) begin\n            acc_q <= {};\n",
        lit(acc_bits, 0)
    );
    for (flag, _) in flags {
        let _ = writeln!(s, "            {flag}_q <= 1'b0;");
    }
    let _ = write!(
        s,
        "            out_valid_q <= 1'b0;
        end else begin
            out_valid_q <= {valid};
            if ({valid}) begin
                acc_q <= {next};
"
    );
    for (flag, new) in flags {
        let _ = writeln!(
            s,
            "                {flag}_q <= ({flag}_q & ~{clear}) | {new};"
        );
    }
    s.push_str("            end\n        end\n    end\n    assign acc = acc_q;\n");
    for (flag, _) in flags {
        let _ = writeln!(s, "    assign {flag} = {flag}_q;");
    }
    s.push_str("    assign out_valid = out_valid_q;\n");
    s
}

/// A 32-bit signed constant (integer arithmetic inside the functions).
pub fn k(v: impl Into<i128>) -> String {
    slit(32, v.into())
}

/// A Verilog function `name(neg, mag, lsb)` returning `{uf, of, bits}`: the value
/// `(-1)^neg * mag * 2^lsb` rounded into `f` as `FloatFormat::round` does.
pub fn round_function(name: &str, f: &FloatFormat, mode: Rounding, mag_bits: u32) -> String {
    round_function_by(name, f, Cut::Mode(mode), mag_bits)
}

/// A Verilog function `name(neg, mag, lsb, rw)` returning `{uf, of, bits}`:
/// `(-1)^neg * mag * 2^lsb` rounded into `f` stochastically with the `r`-bit `rw`
/// (docs/fpacc.md): the magnitude scaled by `2^r` and cut at the result's LSB keeps the
/// top r bits of the discarded fraction; `rw` is added there and the r bits dropped.
/// Then the range checks of [`round_function`].
pub fn sr_round_function(name: &str, f: &FloatFormat, mag_bits: u32, r: u32) -> String {
    round_function_by(name, f, Cut::Stochastic(r), mag_bits)
}

/// How [`round_function_by`] cuts the magnitude to M + 1 bits when bits drop.
#[derive(Clone, Copy, PartialEq)]
enum Cut {
    Mode(Rounding),
    /// Stochastic, with an r-bit random input `rw`.
    Stochastic(u32),
}

fn round_function_by(name: &str, f: &FloatFormat, cut: Cut, mag_bits: u32) -> String {
    let (w, m, e) = (mag_bits, f.man_bits, f.exp_bits);
    let fw = f.width();
    let sw = w.max(m + 2) + 1;
    // The declarations and the cut each rounding needs.
    let (rw_input, regs, cut_lines) = match cut {
        Cut::Mode(mode) => {
            let up = match mode {
                Rounding::Rne => "(rest > half || (rest == half && sig[drop]))",
                Rounding::Rz => "1'b0",
            };
            let rne = mode == Rounding::Rne;
            let rest_half = if rne { ", rest, half" } else { "" };
            let rne_lines = if rne {
                format!(
                    "                    rest = sig & ~({} << drop);\n                    half = {} << (drop - {});\n",
                    lit(sw, -1),
                    lit(sw, 1),
                    k(1)
                )
            } else {
                String::new()
            };
            (
                String::new(),
                format!("        reg [{}:0] sig{rest_half};\n", sw - 1),
                format!(
                    "{rne_lines}                    sig = (sig >> drop) + {{{}'h0, {up}}};\n",
                    sw - 1
                ),
            )
        }
        Cut::Stochastic(r) => (
            format!("        input [{}:0] rw;\n", r - 1),
            format!(
                "        reg [{}:0] sig;\n        reg [{}:0] wide;\n",
                sw - 1,
                sw + r - 1
            ),
            format!(
                "                    wide = {{sig, {rzero}}} >> drop;\n\
                 \x20                   wide = wide + {{{swz}, rw}};\n\
                 \x20                   sig = wide[{top}:{r}];\n",
                rzero = lit(r, 0),
                swz = lit(sw, 0),
                top = sw + r - 1,
            ),
        ),
    };
    format!(
        "    function [{fwp1}:0] {name};
        input neg;
        input [{wm1}:0] mag;
        input signed [31:0] lsb;
{rw_input}        integer i, top, drop, ex;
{regs}        reg [{em1}:0] field;
        begin
            top = {k_m1};
            for (i = {k0}; i < {k_w}; i = i + {k1}) if (mag[i]) top = i;
            if (top < {k0}) begin
                {name} = {zero_all};
            end else begin
                drop = top - {k_m};
                sig = {{{pad}'h0, mag}};
                if (drop > {k0}) begin
{cut_lines}                end else begin
                    sig = sig << (-drop);
                end
                ex = top + lsb;
                if (sig[{m1}]) begin
                    sig = sig >> 1;
                    ex = ex + {k1};
                end
                field = ex[{em1}:0] + {bias_e}; // the biased exponent, modulo 2^E
                if (ex > {k_max}) {name} = {{2'b01, neg ? {max_neg} : {max_pos}}};
                else if (ex < {k_min}) {name} = {{2'b10, {zero}}};
                else {name} = {{2'b00, neg, field, sig[{mm1}:0]}};
            end
        end
    endfunction
",
        fwp1 = fw + 1,
        wm1 = w - 1,
        k_m1 = k(-1),
        k0 = k(0),
        k1 = k(1),
        k_w = k(w),
        k_m = k(m),
        bias_e = lit(e, i128::from(f.bias).rem_euclid(pow2(e))),
        k_max = k(f.max_exp()),
        k_min = k(f.min_exp()),
        em1 = e - 1,
        zero_all = lit(fw + 2, 0),
        pad = sw - w,
        m1 = m + 1,
        mm1 = m - 1,
        max_neg = lit(fw, f.max_finite(true).into()),
        max_pos = lit(fw, f.max_finite(false).into()),
        zero = lit(fw, 0),
    )
}

/// A Verilog function `name(bits)`: the signed fixed-point value of a float of `f`.
pub fn fix_function(name: &str, f: &FloatFormat, lsb: i32, width: u32) -> String {
    let (m, e) = (f.man_bits, f.exp_bits);
    format!(
        "    function signed [{wm1}:0] {name};
        input [{fwm1}:0] x;
        reg signed [{wm1}:0] v;
        begin
            if (x[{top_e}:{m}] == {zero_e}) v = {zero};
            else v = {{{pad}'h0, 1'b1, x[{mm1}:0]}} << ({{{epad}'h0, x[{top_e}:{m}]}} - {shift});
            {name} = x[{sign}] ? -v : v;
        end
    endfunction
",
        wm1 = width - 1,
        fwm1 = f.width() - 1,
        top_e = m + e - 1,
        zero_e = lit(e, 0),
        zero = lit(width, 0),
        pad = width - m - 1,
        epad = 32 - e,
        mm1 = m - 1,
        // value = {1, man} * 2^(field - bias - m); in LSB units: shift by
        // field - bias - m - lsb = field - (bias + m + lsb), never negative.
        shift = k(i128::from(f.bias) + i128::from(m) + i128::from(lsb)),
        sign = f.width() - 1,
    )
}

/// A Verilog function `name(x, y)` returning `{uf, of, bits}`: `x + y` for two floats of
/// `f` (no subnormals: a zero exponent field is zero) rounded into `f` by
/// `round_function(round)` (declared separately, for magnitudes of `M + 5` bits). The
/// smaller operand is aligned to the larger with three extra bits and the bits shifted
/// past them ORed into the last ("jammed"): rounding the jammed sum to M + 1 bits gives
/// the same result as rounding the exact sum, in every mode, because the jam bit sits
/// below the guard and round bits and only ever stands for a nonzero remainder. The
/// width stays near 2M instead of the exponent range (279 bits for binary32), which is
/// what keeps a proof against the generated adder within reach.
pub fn jam_add_function(name: &str, round: &str, f: &FloatFormat) -> String {
    let (m, e) = (f.man_bits, f.exp_bits);
    let w = f.width();
    format!(
        "    function [{wp1}:0] {name};
        input [{wm1}:0] x, y;
        reg [{wm1}:0] hi, lo;
        reg [{m}:0] sig_hi, sig_lo;
        reg [{em1}:0] d;
        reg [{m3}:0] shifted, aligned;
        reg [{m4}:0] mag;
        begin
            // The larger magnitude first: {{field, mantissa}} orders like the value.
            if (x[{wm2}:0] >= y[{wm2}:0]) begin
                hi = x;
                lo = y;
            end else begin
                hi = y;
                lo = x;
            end
            sig_hi = hi[{wm2}:{m}] == {ze} ? {zs} : {{1'b1, hi[{mm1}:0]}};
            sig_lo = lo[{wm2}:{m}] == {ze} ? {zs} : {{1'b1, lo[{mm1}:0]}};
            d = hi[{wm2}:{m}] - lo[{wm2}:{m}];
            shifted = {{sig_lo, 3'h0}};
            if ($signed({{{epad}'h0, d}}) > {dmax}) aligned = {{{m3}'h0, |sig_lo}};
            else aligned = (shifted >> d) | {{{m3}'h0, (shifted & ~({ones} << d)) != {za}}};
            if (hi[{wm1}] == lo[{wm1}]) mag = {{1'b0, sig_hi, 3'h0}} + {{1'b0, aligned}};
            else mag = {{1'b0, sig_hi, 3'h0}} - {{1'b0, aligned}};
            {name} = {round}(hi[{wm1}], mag, $signed({{{epad}'h0, hi[{wm2}:{m}]}}) - {off});
        end
    endfunction
",
        wp1 = w + 1,
        wm1 = w - 1,
        wm2 = w - 2,
        em1 = e - 1,
        m3 = m + 3,
        m4 = m + 4,
        mm1 = m - 1,
        ze = lit(e, 0),
        zs = lit(m + 1, 0),
        dmax = k(m + 3),
        ones = lit(m + 4, -1),
        za = lit(m + 4, 0),
        epad = 32 - e,
        off = k(i128::from(f.bias) + i128::from(m) + 3),
    )
}

#[cfg(test)]
mod tests;
