//! Constants as words, Verilog identifiers and the short words that name operations.

use super::{BinOp, Op, UnOp};

/// Words needed for `width` bits.
pub(super) fn words(width: u32) -> usize {
    width.div_ceil(64) as usize
}

/// The low `width` bits of a two's-complement `value`, as words.
pub(super) fn const_words(value: i128, width: u32) -> Vec<u64> {
    let mut w = Vec::with_capacity(words(width));
    for i in 0..words(width) {
        let shift = 64 * i as u32;
        let word = if shift >= 128 {
            if value < 0 {
                u64::MAX
            } else {
                0
            }
        } else {
            (value >> shift) as u64
        };
        w.push(word);
    }
    mask_words(&mut w, width);
    w
}

/// Clear the bits at and above `width`.
pub(super) fn mask_words(w: &mut [u64], width: u32) {
    let rem = width % 64;
    if rem != 0 {
        if let Some(last) = w.last_mut() {
            *last &= (1u64 << rem) - 1;
        }
    }
}

/// Bit `i` of a constant.
pub(crate) fn const_bit(w: &[u64], i: u32) -> bool {
    (w[(i / 64) as usize] >> (i % 64)) & 1 == 1
}

pub(super) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Verilog-2005 keywords a name must not take.
pub(super) const KEYWORDS: &[&str] = &[
    "always",
    "and",
    "assign",
    "begin",
    "buf",
    "case",
    "casex",
    "casez",
    "default",
    "defparam",
    "else",
    "end",
    "endcase",
    "endfunction",
    "endgenerate",
    "endmodule",
    "endtask",
    "for",
    "forever",
    "function",
    "generate",
    "genvar",
    "if",
    "initial",
    "inout",
    "input",
    "integer",
    "localparam",
    "module",
    "nand",
    "negedge",
    "nor",
    "not",
    "or",
    "output",
    "parameter",
    "posedge",
    "real",
    "reg",
    "repeat",
    "signed",
    "task",
    "time",
    "tri",
    "unsigned",
    "wait",
    "while",
    "wire",
    "xnor",
    "xor",
];

pub(super) fn bits_to_words(bits: &[bool]) -> Vec<u64> {
    let mut w = vec![0u64; words(bits.len() as u32)];
    for (i, b) in bits.iter().enumerate() {
        if *b {
            w[i / 64] |= 1 << (i % 64);
        }
    }
    w
}

pub(super) fn bin_word(op: BinOp) -> &'static str {
    match op {
        BinOp::And => "and",
        BinOp::Or => "or",
        BinOp::Xor => "xor",
        BinOp::Add => "add",
        BinOp::Sub => "sub",
        BinOp::Eq => "eq",
        BinOp::Lt { .. } => "lt",
    }
}

/// A short word for an operation, used in automatic names and messages.
pub(super) fn op_word(op: &Op) -> &'static str {
    match op {
        Op::Input => "input",
        Op::Const(_) => "const",
        Op::Reg(_) => "reg",
        Op::Unary(UnOp::Not, _) => "not",
        Op::Unary(UnOp::ReduceAnd, _) => "all",
        Op::Unary(UnOp::ReduceOr, _) => "any",
        Op::Binary(b, _, _) => bin_word(*b),
        Op::Mul { .. } => "mul",
        Op::Mux { .. } => "mux",
        Op::Slice { .. } => "slice",
        Op::Concat(_) => "cat",
        Op::Ext { signed: true, .. } => "sext",
        Op::Ext { signed: false, .. } => "zext",
        Op::Shift { left: true, .. } => "shl",
        Op::Shift { arith: true, .. } => "ashr",
        Op::Shift { left: false, .. } => "shr",
        Op::InstOut { .. } => "inst",
    }
}
