//! Constant evaluation of the input cone with every data input zero: the reset values of
//! the pipeline registers.

use num_bigint::{BigInt, BigUint, Sign};

use crate::ir::netlist::{BinOp, Op, UnOp};
use crate::ir::Sig;

/// The low `width` bits of `v` as little-endian words.
pub(super) fn words(v: &BigUint, width: u32) -> Vec<u64> {
    let mut w = v.to_u64_digits();
    w.resize(width.div_ceil(64) as usize, 0);
    w
}

fn mask(width: u32) -> BigUint {
    (BigUint::from(1u8) << width) - 1u8
}

fn signed(v: &BigUint, width: u32) -> BigInt {
    if width > 0 && v.bit(u64::from(width - 1)) {
        BigInt::from_biguint(Sign::Plus, v.clone()) - (BigInt::from(1) << width)
    } else {
        BigInt::from_biguint(Sign::Plus, v.clone())
    }
}

fn unsigned(v: &BigInt, width: u32) -> BigUint {
    let m = BigInt::from(1) << width;
    let r = ((v % &m) + &m) % &m;
    r.to_biguint().expect("non-negative")
}

/// The value of `op` (a `width`-bit node) from its operands' values.
pub(super) fn eval(op: &Op, width: u32, get: impl Fn(Sig) -> BigUint) -> BigUint {
    let b = |x: bool| BigUint::from(u8::from(x));
    match op {
        Op::Input => BigUint::default(),
        Op::Const(w) => {
            let mut v = BigUint::default();
            for (i, word) in w.iter().enumerate() {
                v |= BigUint::from(*word) << (64 * i);
            }
            v & mask(width)
        }
        Op::Reg(_) | Op::InstOut { .. } => unreachable!("not in the input cone"),
        Op::Unary(UnOp::Not, a) => get(*a) ^ mask(width),
        Op::Unary(UnOp::ReduceAnd, a) => b(get(*a) == mask(a.width())),
        Op::Unary(UnOp::ReduceOr, a) => b(get(*a) != BigUint::default()),
        Op::Binary(bop, x, y) => {
            let (p, q) = (get(*x), get(*y));
            match bop {
                BinOp::And => p & q,
                BinOp::Or => p | q,
                BinOp::Xor => p ^ q,
                BinOp::Add => (p + q) & mask(width),
                BinOp::Sub => (p + (BigUint::from(1u8) << width) - q) & mask(width),
                BinOp::Eq => b(p == q),
                BinOp::Lt { signed: false } => b(p < q),
                BinOp::Lt { signed: true } => b(signed(&p, x.width()) < signed(&q, y.width())),
            }
        }
        Op::Mul { a, b: y, signed: s } => {
            let (p, q) = (get(*a), get(*y));
            if *s {
                unsigned(&(signed(&p, a.width()) * signed(&q, y.width())), width)
            } else {
                (p * q) & mask(width)
            }
        }
        Op::Mux { sel, t, f } => {
            if get(*sel) != BigUint::default() {
                get(*t)
            } else {
                get(*f)
            }
        }
        Op::Slice { a, lo } => (get(*a) >> *lo) & mask(width),
        Op::Concat(parts) => parts
            .iter()
            .fold(BigUint::default(), |acc, p| (acc << p.width()) | get(*p)),
        Op::Ext { a, signed: s } => {
            let v = get(*a);
            if *s {
                unsigned(&signed(&v, a.width()), width)
            } else {
                v
            }
        }
        Op::Shift {
            a,
            amount,
            left,
            arith,
        } => {
            let v = get(*a);
            let k = get(*amount);
            let k = u32::try_from(&k).unwrap_or(u32::MAX).min(width + 1);
            if *left {
                (v << k) & mask(width)
            } else if *arith {
                unsigned(&(signed(&v, a.width()) >> k), width)
            } else {
                v >> k
            }
        }
    }
}
