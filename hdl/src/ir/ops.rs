//! The primitive operations: bitwise logic, modular arithmetic, comparisons, muxes,
//! slices, concatenation, extension and shifts, each checked for widths when it is made.

use super::names::{bin_word, bits_to_words, const_bit};
use super::{BinOp, ModuleBuilder, Op, Result, Sig, UnOp};

impl ModuleBuilder {
    pub(super) fn same_width(&self, what: &str, a: Sig, b: Sig) -> Result<()> {
        self.check_owned(a)?;
        self.check_owned(b)?;
        if a.width != b.width {
            let msg = format!(
                "{what} needs operands of equal width, got {} and {}",
                self.describe(a),
                self.describe(b)
            );
            return self.err(msg);
        }
        Ok(())
    }

    fn binary(&mut self, op: BinOp, a: Sig, b: Sig) -> Result<Sig> {
        self.same_width(bin_word(op), a, b)?;
        let width = match op {
            BinOp::Eq | BinOp::Lt { .. } => 1,
            _ => a.width,
        };
        self.push(Op::Binary(op, a, b), width)
    }

    /// Bitwise AND.
    pub fn and(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::And, a, b)
    }
    /// Bitwise OR.
    pub fn or(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::Or, a, b)
    }
    /// Bitwise XOR.
    pub fn xor(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::Xor, a, b)
    }
    /// Addition modulo 2^width (the typed `a + b` is the exact, one-bit-wider sum).
    pub fn add(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::Add, a, b)
    }
    /// Subtraction modulo 2^width.
    pub fn sub(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::Sub, a, b)
    }
    /// Equality (one bit).
    pub fn eq(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::Eq, a, b)
    }
    /// Less-than (one bit), signed or unsigned.
    pub fn lt(&mut self, a: Sig, b: Sig, signed: bool) -> Result<Sig> {
        self.binary(BinOp::Lt { signed }, a, b)
    }

    fn unary(&mut self, op: UnOp, a: Sig) -> Result<Sig> {
        self.check_owned(a)?;
        let width = if op == UnOp::Not { a.width } else { 1 };
        self.push(Op::Unary(op, a), width)
    }

    /// Bitwise NOT.
    pub fn not(&mut self, a: Sig) -> Result<Sig> {
        self.unary(UnOp::Not, a)
    }
    /// AND of all bits.
    pub fn reduce_and(&mut self, a: Sig) -> Result<Sig> {
        self.unary(UnOp::ReduceAnd, a)
    }
    /// OR of all bits.
    pub fn reduce_or(&mut self, a: Sig) -> Result<Sig> {
        self.unary(UnOp::ReduceOr, a)
    }

    /// Exact product, `a.width + b.width` bits, of two signed or two unsigned operands.
    pub fn mul(&mut self, a: Sig, b: Sig, signed: bool) -> Result<Sig> {
        self.check_owned(a)?;
        self.check_owned(b)?;
        let width = self.width_sum(a.width, b.width)?;
        self.push(Op::Mul { a, b, signed }, width)
    }

    /// `sel ? t : f`; `sel` is one bit, `t` and `f` of equal width.
    pub fn mux(&mut self, sel: Sig, t: Sig, f: Sig) -> Result<Sig> {
        self.check_owned(sel)?;
        if sel.width != 1 {
            let msg = format!("a mux select must be 1 bit, got {}", self.describe(sel));
            return self.err(msg);
        }
        self.same_width("mux", t, f)?;
        self.push(Op::Mux { sel, t, f }, t.width)
    }

    /// Bits `hi..=lo` of `a`.
    pub fn slice(&mut self, a: Sig, hi: u32, lo: u32) -> Result<Sig> {
        self.check_owned(a)?;
        if hi < lo || hi >= a.width {
            let msg = format!("slice [{hi}:{lo}] is outside {}", self.describe(a));
            return self.err(msg);
        }
        let width = hi - lo + 1;
        if width == a.width {
            return Ok(a);
        }
        if let Some(w) = self.const_of(a) {
            let bits: Vec<bool> = (lo..=hi).map(|i| const_bit(w, i)).collect();
            return self.push(Op::Const(bits_to_words(&bits)), width);
        }
        self.push(Op::Slice { a, lo }, width)
    }

    /// Bit `i` of `a`.
    pub fn bit(&mut self, a: Sig, i: u32) -> Result<Sig> {
        self.slice(a, i, i)
    }

    /// The most significant bit (the sign bit of a two's-complement value).
    pub fn msb(&mut self, a: Sig) -> Result<Sig> {
        self.slice(a, a.width - 1, a.width - 1)
    }

    /// Concatenation, most significant part first.
    pub fn concat(&mut self, parts: &[Sig]) -> Result<Sig> {
        for p in parts {
            self.check_owned(*p)?;
        }
        match parts {
            [] => self.err("concatenation of nothing"),
            [one] => Ok(*one),
            _ => {
                let mut width = 0u32;
                for p in parts {
                    width = self.width_sum(width, p.width)?;
                }
                self.push(Op::Concat(parts.to_vec()), width)
            }
        }
    }

    /// Sign- or zero-extend `a` to `width` bits (`width >= a.width`).
    pub fn ext(&mut self, a: Sig, width: u32, signed: bool) -> Result<Sig> {
        self.check_owned(a)?;
        if width < a.width {
            let msg = format!("cannot extend {} to {width} bits", self.describe(a));
            return self.err(msg);
        }
        if width == a.width {
            return Ok(a);
        }
        if let Some(w) = self.const_of(a) {
            let top = signed && const_bit(w, a.width - 1);
            let bits: Vec<bool> = (0..width)
                .map(|i| if i < a.width { const_bit(w, i) } else { top })
                .collect();
            return self.push(Op::Const(bits_to_words(&bits)), width);
        }
        self.push(Op::Ext { a, signed }, width)
    }

    /// A shift of `a` by the unsigned `amount`, as wide as `a`.
    fn shift(&mut self, a: Sig, amount: Sig, left: bool, arith: bool) -> Result<Sig> {
        self.check_owned(a)?;
        self.check_owned(amount)?;
        self.push(
            Op::Shift {
                a,
                amount,
                left,
                arith,
            },
            a.width,
        )
    }

    /// Logical right shift of `a` by the unsigned `amount` (same width as `a`).
    pub fn shr(&mut self, a: Sig, amount: Sig) -> Result<Sig> {
        self.shift(a, amount, false, false)
    }

    /// Arithmetic right shift of the two's-complement `a` by the unsigned `amount`.
    pub fn ashr(&mut self, a: Sig, amount: Sig) -> Result<Sig> {
        self.shift(a, amount, false, true)
    }

    /// Logical left shift of `a` by the unsigned `amount` (same width as `a`).
    pub fn shl(&mut self, a: Sig, amount: Sig) -> Result<Sig> {
        self.shift(a, amount, true, false)
    }

    /// Unsigned maximum of two equal-width signals.
    pub fn umax(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        let a_less = self.lt(a, b, false)?;
        self.mux(a_less, b, a)
    }

    /// Sign-extend.
    pub fn sext(&mut self, a: Sig, width: u32) -> Result<Sig> {
        self.ext(a, width, true)
    }

    /// Zero-extend.
    pub fn zext(&mut self, a: Sig, width: u32) -> Result<Sig> {
        self.ext(a, width, false)
    }
}
