//! The typed layer: values that carry their signedness ([`Val`]), and expressions on
//! them ([`Expr`]) whose result widths are inferred exactly, as Chisel's `+&` does.
//!
//! An [`Expr`] is plain data built with Rust operators (`a + b`, `a - b`, `a * b`, `-a`,
//! `!a`, `a & b`, `a | b`, `a ^ b`, `a << k`) and the methods of [`ExprOps`]
//! (comparisons, slices, reductions, resizing). Nothing is made until
//! [`ModuleBuilder::wire`] (named) or [`ModuleBuilder::val`] (unnamed) turns it into
//! signals, checking every width on the way; a width that would overflow is an
//! [`HdlError`](super::HdlError), never a wrap.
//!
//! Width rules (each result holds every value of its operands' types exactly):
//! - an unsigned operand meeting a signed one is first zero-extended by one bit and
//!   treated as signed;
//! - `a + b`: one bit more than the wider operand; `a - b`: the same, always signed;
//! - `a * b`: the sum of the widths (one more when the signednesses differ);
//! - `-a`: signed, one bit more than `a` as signed;
//! - `&`, `|`, `^`, comparisons and `mux`: both sides extended to the wider of the two;
//! - `a << k` for a constant `k`: `k` more bits; `bits(hi, lo)`: unsigned, `hi - lo + 1`.

use std::ops;

use super::{ModuleBuilder, Result, Sig};

/// A signal with a type: its width and whether it is two's complement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Val {
    pub sig: Sig,
    pub signed: bool,
}

impl Val {
    /// Width in bits.
    pub fn width(self) -> u32 {
        self.sig.width()
    }
}

impl Sig {
    /// This signal as an unsigned value.
    pub fn u(self) -> Val {
        Val {
            sig: self,
            signed: false,
        }
    }
    /// This signal as a two's-complement value.
    pub fn s(self) -> Val {
        Val {
            sig: self,
            signed: true,
        }
    }
}

impl From<Val> for Sig {
    fn from(v: Val) -> Sig {
        v.sig
    }
}

impl From<Sig> for Val {
    fn from(s: Sig) -> Val {
        s.u()
    }
}

/// Two-operand operations of an [`Expr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExprOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Eq,
    Lt,
}

/// A typed expression, made into signals by [`ModuleBuilder::wire`] or
/// [`ModuleBuilder::val`]. See the module documentation for the width rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Val(Val),
    /// A constant of the fewest bits that hold it: unsigned when `>= 0`, else signed.
    Const(i128),
    /// A constant of a given width and signedness.
    Lit {
        value: i128,
        width: u32,
        signed: bool,
    },
    Bin(ExprOp, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    /// OR (`any`) or AND (`all`) of all bits, one unsigned bit.
    Reduce {
        all: bool,
        a: Box<Expr>,
    },
    Mux(Box<Expr>, Box<Expr>, Box<Expr>),
    /// Bits `hi..=lo`, unsigned.
    Bits(Box<Expr>, u32, u32),
    /// Extension (by the operand's signedness) to a width at least the operand's.
    Resize(Box<Expr>, u32),
    /// The same bits under the other signedness.
    Cast(Box<Expr>, bool),
    /// Shift left by a constant: zeros below, the width grows.
    Shl(Box<Expr>, u32),
    /// Concatenation, most significant first; unsigned.
    Cat(Vec<Expr>),
    /// The same value, signed: see [`ExprOps::sint`].
    Signed(Box<Expr>),
    /// Modulo `2^width`: a sum, difference or negation is computed at that width (operands
    /// extended, never truncated); anything else keeps its low bits (the bits above must
    /// be read elsewhere or discarded).
    Wrap(Box<Expr>, u32),
}

impl From<Val> for Expr {
    fn from(v: Val) -> Expr {
        Expr::Val(v)
    }
}
impl From<Sig> for Expr {
    fn from(s: Sig) -> Expr {
        Expr::Val(s.u())
    }
}
impl From<&Expr> for Expr {
    fn from(e: &Expr) -> Expr {
        e.clone()
    }
}
impl From<i32> for Expr {
    fn from(v: i32) -> Expr {
        Expr::Const(v.into())
    }
}
impl From<i64> for Expr {
    fn from(v: i64) -> Expr {
        Expr::Const(v.into())
    }
}
impl From<i128> for Expr {
    fn from(v: i128) -> Expr {
        Expr::Const(v)
    }
}
impl From<u32> for Expr {
    fn from(v: u32) -> Expr {
        Expr::Const(v.into())
    }
}
impl From<u64> for Expr {
    fn from(v: u64) -> Expr {
        Expr::Const(v.into())
    }
}

/// A constant of `width` bits, signed or not (checked when it is made).
pub fn lit(value: i128, width: u32, signed: bool) -> Expr {
    Expr::Lit {
        value,
        width,
        signed,
    }
}

/// `sel ? t : f`; `sel` must be one bit, `t` and `f` are brought to a common type.
pub fn mux(sel: impl Into<Expr>, t: impl Into<Expr>, f: impl Into<Expr>) -> Expr {
    Expr::Mux(Box::new(sel.into()), Box::new(t.into()), Box::new(f.into()))
}

/// Concatenation, most significant part first (unsigned).
pub fn cat<E: Into<Expr>>(parts: impl IntoIterator<Item = E>) -> Expr {
    Expr::Cat(parts.into_iter().map(Into::into).collect())
}

fn bx(e: impl Into<Expr>) -> Box<Expr> {
    Box::new(e.into())
}

/// Comparisons, slices, reductions and casts on anything that converts to an [`Expr`].
pub trait ExprOps: Into<Expr> {
    fn equal(self, b: impl Into<Expr>) -> Expr {
        Expr::Bin(ExprOp::Eq, bx(self), bx(b))
    }
    fn unequal(self, b: impl Into<Expr>) -> Expr {
        !self.equal(b)
    }
    fn less(self, b: impl Into<Expr>) -> Expr {
        Expr::Bin(ExprOp::Lt, bx(self), bx(b))
    }
    fn greater(self, b: impl Into<Expr>) -> Expr {
        Expr::Bin(ExprOp::Lt, bx(b), bx(self))
    }
    fn at_most(self, b: impl Into<Expr>) -> Expr {
        !self.greater(b)
    }
    fn at_least(self, b: impl Into<Expr>) -> Expr {
        !self.less(b)
    }
    /// OR of all bits.
    fn any(self) -> Expr {
        Expr::Reduce {
            all: false,
            a: bx(self),
        }
    }
    /// AND of all bits.
    fn all(self) -> Expr {
        Expr::Reduce {
            all: true,
            a: bx(self),
        }
    }
    /// Bits `hi..=lo`, unsigned.
    fn bits(self, hi: u32, lo: u32) -> Expr {
        Expr::Bits(bx(self), hi, lo)
    }
    /// Bit `i`.
    fn bit(self, i: u32) -> Expr {
        self.bits(i, i)
    }
    /// Extend (by signedness) to `width` bits; never truncates.
    fn resize(self, width: u32) -> Expr {
        Expr::Resize(bx(self), width)
    }
    /// Modulo `2^width` (see [`Expr::Wrap`]): `(count + 1).wrapping(w)` is a counter.
    fn wrapping(self, width: u32) -> Expr {
        Expr::Wrap(bx(self), width)
    }
    /// The same value as two's complement (an unsigned value gains a zero on top).
    fn sint(self) -> Expr {
        Expr::Signed(bx(self))
    }
    /// The same bits read as two's complement.
    fn reinterpret_signed(self) -> Expr {
        Expr::Cast(bx(self), true)
    }
    /// The same bits read as unsigned.
    fn reinterpret_unsigned(self) -> Expr {
        Expr::Cast(bx(self), false)
    }
}

impl<T: Into<Expr>> ExprOps for T {}

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl<R: Into<Expr>> ops::$trait<R> for Expr {
            type Output = Expr;
            fn $method(self, r: R) -> Expr {
                Expr::Bin($op, Box::new(self), bx(r))
            }
        }
        impl<R: Into<Expr>> ops::$trait<R> for Val {
            type Output = Expr;
            fn $method(self, r: R) -> Expr {
                Expr::Bin($op, bx(self), bx(r))
            }
        }
        impl<R: Into<Expr>> ops::$trait<R> for Sig {
            type Output = Expr;
            fn $method(self, r: R) -> Expr {
                Expr::Bin($op, bx(self), bx(r))
            }
        }
    };
}

binary_operator!(Add, add, ExprOp::Add);
binary_operator!(Sub, sub, ExprOp::Sub);
binary_operator!(Mul, mul, ExprOp::Mul);
binary_operator!(BitAnd, bitand, ExprOp::And);
binary_operator!(BitOr, bitor, ExprOp::Or);
binary_operator!(BitXor, bitxor, ExprOp::Xor);

macro_rules! unary_operators {
    ($($t:ty),*) => {$(
        impl ops::Neg for $t {
            type Output = Expr;
            fn neg(self) -> Expr {
                Expr::Neg(bx(self))
            }
        }
        impl ops::Not for $t {
            type Output = Expr;
            fn not(self) -> Expr {
                Expr::Not(bx(self))
            }
        }
        impl ops::Shl<u32> for $t {
            type Output = Expr;
            fn shl(self, k: u32) -> Expr {
                Expr::Shl(bx(self), k)
            }
        }
    )*};
}

unary_operators!(Expr, Val, Sig);

/// Bits of the narrowest type holding `v`: unsigned for `v >= 0`, signed otherwise.
pub(crate) fn const_width(v: i128) -> (u32, bool) {
    if v >= 0 {
        (model::int::unsigned_bits(v.unsigned_abs()), false)
    } else {
        (129 - (!v).leading_zeros(), true)
    }
}

impl ModuleBuilder {
    /// Make `e` into signals and name the result `name` in the Verilog.
    pub fn wire(&mut self, name: &str, e: impl Into<Expr>) -> Result<Val> {
        let v = self.val(e)?;
        self.name(v.sig, name)?;
        Ok(v)
    }

    /// Make `e` into signals (automatic names).
    pub fn val(&mut self, e: impl Into<Expr>) -> Result<Val> {
        self.eval(&e.into())
    }

    /// `a + b` with checked width arithmetic.
    pub(super) fn width_sum(&self, a: u32, b: u32) -> Result<u32> {
        a.checked_add(b)
            .ok_or(())
            .or_else(|()| self.err(format!("a width of {a} + {b} bits overflows")))
    }

    /// `v` as a signed value (an unsigned one gains a zero on top).
    fn signed_view(&mut self, v: Val) -> Result<Val> {
        if v.signed {
            return Ok(v);
        }
        let w = self.width_sum(v.width(), 1)?;
        Ok(self.zext(v.sig, w)?.s())
    }

    /// Both operands in one type, `extra` bits wider than the wider of them (an unsigned
    /// operand of a signed pair counts one bit more). Each is extended by its own
    /// signedness, so its value is kept.
    fn common(&mut self, a: Val, b: Val, extra: u32, force_signed: bool) -> Result<(Val, Val)> {
        let signed = force_signed || a.signed || b.signed;
        let need = |v: Val| u64::from(v.width()) + u64::from(signed && !v.signed);
        let w = need(a).max(need(b)) + u64::from(extra);
        let Ok(w) = u32::try_from(w) else {
            return self.err(format!("a width of {w} bits overflows"));
        };
        let ext = |m: &mut Self, v: Val| -> Result<Val> {
            Ok(Val {
                sig: m.ext(v.sig, w, v.signed)?,
                signed,
            })
        };
        Ok((ext(self, a)?, ext(self, b)?))
    }

    /// Extend `v` (by its signedness) to `width` bits; an error if it is wider.
    pub fn fit(&mut self, v: Val, width: u32) -> Result<Val> {
        Ok(Val {
            sig: self.ext(v.sig, width, v.signed)?,
            signed: v.signed,
        })
    }

    fn eval(&mut self, e: &Expr) -> Result<Val> {
        match e {
            Expr::Val(v) => {
                self.check_owned(v.sig)?;
                Ok(*v)
            }
            Expr::Const(v) => {
                let (w, signed) = const_width(*v);
                Ok(Val {
                    sig: self.lit(w, *v)?,
                    signed,
                })
            }
            Expr::Lit {
                value,
                width,
                signed,
            } => {
                let (need, negative) = const_width(*value);
                // A non-negative value needs a zero sign bit when signed.
                let need = if *signed && !negative { need + 1 } else { need };
                if (negative && !*signed) || need > *width {
                    let kind = if *signed { "signed" } else { "unsigned" };
                    return self.err(format!(
                        "constant {value} does not fit in {width} {kind} bits"
                    ));
                }
                let v = *value;
                Ok(Val {
                    sig: self.lit(*width, v)?,
                    signed: *signed,
                })
            }
            Expr::Bin(op, a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                self.binary_typed(*op, a, b)
            }
            Expr::Neg(a) => {
                let a = self.eval(a)?;
                let zero = Val {
                    sig: self.zero(1)?,
                    signed: false,
                };
                self.binary_typed(ExprOp::Sub, zero, a)
            }
            Expr::Not(a) => {
                let a = self.eval(a)?;
                Ok(Val {
                    sig: self.not(a.sig)?,
                    signed: a.signed,
                })
            }
            Expr::Reduce { all, a } => {
                let a = self.eval(a)?;
                let sig = if *all {
                    self.reduce_and(a.sig)?
                } else {
                    self.reduce_or(a.sig)?
                };
                Ok(sig.u())
            }
            Expr::Mux(sel, t, f) => {
                let sel = self.eval(sel)?;
                let (t, f) = (self.eval(t)?, self.eval(f)?);
                let (t, f) = self.common(t, f, 0, false)?;
                Ok(Val {
                    sig: self.mux(sel.sig, t.sig, f.sig)?,
                    signed: t.signed,
                })
            }
            Expr::Bits(a, hi, lo) => {
                let a = self.eval(a)?;
                Ok(self.slice(a.sig, *hi, *lo)?.u())
            }
            Expr::Resize(a, w) => {
                let a = self.eval(a)?;
                self.fit(a, *w)
            }
            Expr::Cast(a, signed) => Ok(Val {
                sig: self.eval(a)?.sig,
                signed: *signed,
            }),
            Expr::Shl(a, k) => {
                let a = self.eval(a)?;
                if *k == 0 {
                    return Ok(a);
                }
                let zeros = self.zero(*k)?;
                self.width_sum(a.width(), *k)?;
                Ok(Val {
                    sig: self.concat(&[a.sig, zeros])?,
                    signed: a.signed,
                })
            }
            Expr::Signed(a) => {
                let a = self.eval(a)?;
                self.signed_view(a)
            }
            Expr::Wrap(inner, w) => {
                if let Expr::Neg(a) = &**inner {
                    let zero = Expr::Lit {
                        value: 0,
                        width: 1,
                        signed: false,
                    };
                    let sub = Expr::Bin(ExprOp::Sub, Box::new(zero), a.clone());
                    return self.eval(&Expr::Wrap(Box::new(sub), *w));
                }
                if let Expr::Bin(op @ (ExprOp::Add | ExprOp::Sub), a, b) = &**inner {
                    let (a, b) = (self.eval(a)?, self.eval(b)?);
                    let (a, b) = (self.fit(a, *w)?, self.fit(b, *w)?);
                    let sig = if *op == ExprOp::Add {
                        self.add(a.sig, b.sig)?
                    } else {
                        self.sub(a.sig, b.sig)?
                    };
                    let signed = a.signed || b.signed;
                    return Ok(Val { sig, signed });
                }
                let v = self.eval(inner)?;
                if v.width() > *w {
                    let sig = self.slice(v.sig, w - 1, 0)?;
                    return Ok(Val {
                        sig,
                        signed: v.signed,
                    });
                }
                self.fit(v, *w)
            }
            Expr::Cat(parts) => {
                let mut sigs = Vec::with_capacity(parts.len());
                let mut w = 0u32;
                for p in parts {
                    let v = self.eval(p)?;
                    w = self.width_sum(w, v.width())?;
                    sigs.push(v.sig);
                }
                Ok(self.concat(&sigs)?.u())
            }
        }
    }

    fn binary_typed(&mut self, op: ExprOp, a: Val, b: Val) -> Result<Val> {
        match op {
            ExprOp::Add | ExprOp::Sub => {
                let (a, b) = self.common(a, b, 1, op == ExprOp::Sub)?;
                let sig = if op == ExprOp::Add {
                    self.add(a.sig, b.sig)?
                } else {
                    self.sub(a.sig, b.sig)?
                };
                Ok(Val {
                    sig,
                    signed: a.signed,
                })
            }
            ExprOp::Mul => {
                let (a, b) = if a.signed == b.signed {
                    (a, b)
                } else {
                    (self.signed_view(a)?, self.signed_view(b)?)
                };
                self.width_sum(a.width(), b.width())?;
                Ok(Val {
                    sig: self.mul(a.sig, b.sig, a.signed)?,
                    signed: a.signed,
                })
            }
            ExprOp::And | ExprOp::Or | ExprOp::Xor => {
                let signed = a.signed && b.signed;
                let (a, b) = self.common(a, b, 0, false)?;
                let sig = match op {
                    ExprOp::And => self.and(a.sig, b.sig)?,
                    ExprOp::Or => self.or(a.sig, b.sig)?,
                    _ => self.xor(a.sig, b.sig)?,
                };
                Ok(Val { sig, signed })
            }
            ExprOp::Eq | ExprOp::Lt => {
                let (a, b) = self.common(a, b, 0, false)?;
                let sig = if op == ExprOp::Eq {
                    self.eq(a.sig, b.sig)?
                } else {
                    self.lt(a.sig, b.sig, a.signed)?
                };
                Ok(sig.u())
            }
        }
    }

    /// Drive output `name` with `e`, extended (by its signedness) to the port's width;
    /// an error if it is wider.
    pub fn out(&mut self, name: &str, e: impl Into<Expr>) -> Result<()> {
        let v = self.val(e)?;
        let width = match self.ports.iter().find(|p| p.name == name) {
            Some(p) => p.width,
            None => return self.err(format!("there is no output port '{name}'")),
        };
        let v = self.fit(v, width)?;
        self.drive_output(name, v.sig)
    }

    /// Drive each output of `outs` with its signal, as [`ModuleBuilder::out`].
    pub fn outs<const N: usize>(&mut self, outs: [(&str, Sig); N]) -> Result<()> {
        for (name, v) in outs {
            self.out(name, v)?;
        }
        Ok(())
    }

    /// Set the next value of register `r` to `e`, extended (by its signedness) to the
    /// register's width; loaded on every edge or only where `enable` is high.
    pub fn next(
        &mut self,
        r: impl Into<Sig>,
        e: impl Into<Expr>,
        enable: Option<Sig>,
    ) -> Result<()> {
        let r = r.into();
        let v = self.val(e)?;
        let v = self.fit(v, r.width())?;
        self.drive_reg(r, v.sig, enable)
    }
}
