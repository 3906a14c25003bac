//! Library calls on typed values: range checks and saturation, clamping, rounding,
//! leading-zero count and normalisation, barrel shifts, magnitudes, and pipeline stages
//! registered as a whole. Each names its result (and its helpers, `<name>_<part>`), so a
//! datapath reads as one call per step.

use super::typed::{const_width, lit, mux, ExprOps};
use super::{ModuleBuilder, Result, Sig, Val};

/// How [`ModuleBuilder::round`] rounds away the dropped bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Toward minus infinity (for unsigned values: truncation).
    Floor,
    /// To nearest, ties to even.
    HalfEven,
    /// To nearest, ties upward.
    HalfUp,
}

/// The smallest and largest value of `width` bits (at least one) of the given signedness.
pub fn limits(width: u32, signed: bool) -> (i128, i128) {
    let width = width.max(1);
    if signed {
        let h = 1i128 << (width - 1).min(126);
        (-h, h - 1)
    } else {
        (0, (1i128 << width.min(126)) - 1)
    }
}

impl ModuleBuilder {
    /// The prefix for the helper wires a library call makes from `v`: `v`'s own name if
    /// it has one (`sum` gives `sum_top`, `sum_low`, `sum_negative`), else `name`.
    fn prefix(&self, name: &str, v: Val) -> String {
        match self.nodes.get(v.sig.id) {
            Some((_, _, Some(n))) => n.clone(),
            _ => name.to_string(),
        }
    }

    /// One bit: `v` fits `width` bits of its own signedness (its bits from `width - 1`
    /// up all equal, if signed; from `width` up all zero, if not).
    pub fn fits(&mut self, name: &str, v: Val, width: u32) -> Result<Val> {
        let w = v.width();
        let lo = if v.signed {
            width.saturating_sub(1)
        } else {
            width
        };
        if width == 0 || lo >= w || (v.signed && width >= w) {
            return self.wire(name, lit(1, 1, false));
        }
        let top = format!("{}_top", self.prefix(name, v));
        let top = self.wire(&top, v.bits(w - 1, lo))?;
        if v.signed {
            self.wire(name, top.all() | !top.any())
        } else {
            self.wire(name, !top.any())
        }
    }

    /// The low `width` bits of `v`, of its signedness (two's-complement wrap). The bits
    /// above must be read elsewhere (e.g. by [`ModuleBuilder::fits`]) or discarded.
    pub fn wrap(&mut self, name: &str, v: Val, width: u32) -> Result<Val> {
        if width == 0 || width > v.width() {
            let msg = format!("'{name}': cannot keep {width} of {} bits", v.width());
            return self.err(msg);
        }
        let low = self.slice(v.sig, width - 1, 0)?;
        let low = Val {
            sig: low,
            signed: v.signed,
        };
        self.wire(name, low)
    }

    /// `v` in exactly `width` bits, for a value known to fit: extended if narrower; if
    /// wider, its low bits, the rest discarded (`unused_<name>_high`).
    pub fn narrow(&mut self, name: &str, v: Val, width: u32) -> Result<Val> {
        if v.width() <= width {
            return self.wire(name, v.resize(width));
        }
        let high = self.slice(v.sig, v.width() - 1, width)?;
        self.discard(high, &format!("{name}_high"))?;
        self.wrap(name, v, width)
    }

    /// `v` saturated to `width` bits of its own signedness: the value where it fits, else
    /// the limit on its side. Returns the result and the `fits` flag (`<name>_fits`); the
    /// helpers are `<v>_top`, `<v>_low`, `<v>_negative` (`v`'s name, if it has one) and
    /// `<name>_limit`.
    pub fn saturate(&mut self, name: &str, v: Val, width: u32) -> Result<(Val, Val)> {
        if width == 0 {
            return self.err(format!("'{name}': cannot saturate to 0 bits"));
        }
        let fits = self.fits(&format!("{name}_fits"), v, width)?;
        if v.width() <= width {
            return Ok((self.wire(name, v.resize(width))?, fits));
        }
        let base = self.prefix(name, v);
        let low = self.wrap(&format!("{base}_low"), v, width)?;
        let (min, max) = limits(width, v.signed);
        let limit = if v.signed {
            let negative = self.wire(&format!("{base}_negative"), v.bit(v.width() - 1))?;
            mux(negative, lit(min, width, true), lit(max, width, true))
        } else {
            lit(max, width, false)
        };
        let limit = self.wire(&format!("{name}_limit"), limit)?;
        let r = self.wire(name, mux(fits, low, limit))?;
        Ok((r, fits))
    }

    /// `v` clamped to `lo..=hi`, in the fewest bits that hold that range (signed when
    /// `lo < 0`). The bits above are discarded (`unused_<name>_range`): the clamp makes
    /// them copies of the sign.
    pub fn clamp(&mut self, name: &str, v: Val, lo: i128, hi: i128) -> Result<Val> {
        if lo > hi {
            return self.err(format!("clamp '{name}': empty range {lo}..={hi}"));
        }
        let below = self.wire(&format!("{name}_below"), v.less(lo))?;
        let above = self.wire(&format!("{name}_above"), v.greater(hi))?;
        let wide = self.val(mux(below, lo, mux(above, hi, v)))?;
        let signed = lo < 0;
        let w = if signed {
            let hw = const_width(hi).0 + u32::from(hi >= 0);
            const_width(lo).0.max(hw)
        } else {
            const_width(hi).0
        };
        let wide = if wide.width() < w {
            self.fit(wide, w)?
        } else {
            wide
        };
        if w < wide.width() {
            let high = self.slice(wide.sig, wide.width() - 1, w)?;
            self.discard(high, &format!("{name}_range"))?;
        }
        let low = self.slice(wide.sig, w - 1, 0)?;
        self.wire(name, Val { sig: low, signed })
    }

    /// `v / 2^drop` rounded by `mode`, of `v`'s signedness, with room for the carry of
    /// rounding up (the exact sum `kept + up`: `w - drop + 1` bits, 3 at least if signed). Floor discards the dropped bits
    /// (`unused_<name>_dropped`).
    pub fn round(&mut self, name: &str, v: Val, drop: u32, mode: Round) -> Result<Val> {
        let w = v.width();
        if drop == 0 {
            let w1 = self.width_sum(w, 1)?;
            return self.wire(name, v.resize(w1));
        }
        if drop >= w {
            return self.err(format!("round '{name}': cannot drop {drop} of {w} bits"));
        }
        let kept = self.slice(v.sig, w - 1, drop)?;
        let kept = Val {
            sig: kept,
            signed: v.signed,
        };
        let up = match mode {
            Round::Floor => {
                let dropped = self.slice(v.sig, drop - 1, 0)?;
                self.discard(dropped, &format!("{name}_dropped"))?;
                return self.wire(name, kept.resize(w - drop + 1));
            }
            Round::HalfUp => v.bit(drop - 1),
            Round::HalfEven => {
                let sticky = if drop >= 2 {
                    v.bits(drop - 2, 0).any()
                } else {
                    lit(0, 1, false)
                };
                v.bit(drop - 1) & (sticky | kept.bit(0))
            }
        };
        let up = self.wire(&format!("{name}_up"), up)?;
        self.wire(name, kept + up)
    }

    /// Shift `v` left until its top bit is one. Returns the shifted value and the
    /// leading-zero count; for `v = 0` the value is 0 and the count is all ones, never
    /// less than `width - 1`.
    ///
    /// The count is a tree of depth log2(width): `v`, padded with zeros below to a power
    /// of two, is cut into halves recursively, and each pair of halves merges as
    /// `(any, count) = (any_hi | any_lo, any_hi ? 0:count_hi : 1:count_lo)`. One barrel
    /// shift by the count follows, its stages most significant first: the tree settles
    /// its top count bit first (the OR of the top half), each lower bit one merge later,
    /// so every stage waits for little more than the stage before it.
    pub fn normalize(&mut self, v: Sig) -> Result<(Sig, Sig)> {
        let w = v.width();
        let stages = model::int::index_bits(w);
        // Count bits, most significant first, each its own signal: the shift stage of a
        // bit waits for that bit alone.
        let bits = (0..w)
            .rev()
            .map(|i| self.slice(v, i, i))
            .collect::<Result<Vec<_>>>()?;
        let count = self.lz_tree(bits, stages)?;
        let mut x = v;
        for (k, &bit) in (0..stages).rev().zip(&count) {
            let s = 1u32 << k;
            if s >= w {
                // Count bit k is set only for a zero `v`, which no shift changes.
                continue;
            }
            let shifted = self.val(x.bits(w - 1 - s, 0) << s)?.sig;
            x = self.mux(bit, shifted, x)?;
        }
        let count = self.concat(&count)?;
        Ok((x, count))
    }

    /// The leading-zero count of the bits `bits` (most significant first, one bit each)
    /// padded with zeros below to `2^levels` bits (all
    /// ones for zero), as a merge tree of `levels` levels: its `levels` bits, most
    /// significant first. The padded value's last bit never matters (a one there and
    /// none at all both count all ones).
    fn lz_tree(&mut self, bits: Vec<Sig>, levels: u32) -> Result<Vec<Sig>> {
        let mut leaves = bits;
        while leaves.len() < 1 << levels {
            leaves.push(self.zero(1)?);
        }
        Ok(self.lz_node(&leaves, false)?.1)
    }

    /// One node of [`ModuleBuilder::lz_tree`] over `bits` (most significant first, a
    /// power of two of them): `(any, count)`, the OR only where a parent reads it.
    fn lz_node(&mut self, bits: &[Sig], need_any: bool) -> Result<(Option<Sig>, Vec<Sig>)> {
        if bits.len() == 1 {
            return Ok((Some(bits[0]), Vec::new()));
        }
        let (hi, lo) = bits.split_at(bits.len() / 2);
        let (any_hi, count_hi) = self.lz_node(hi, true)?;
        let (any_lo, count_lo) = self.lz_node(lo, need_any)?;
        let any_hi = any_hi.expect("asked for");
        let mut count = vec![self.not(any_hi)?];
        for (&h, &l) in count_hi.iter().zip(&count_lo) {
            count.push(self.mux(any_hi, h, l)?);
        }
        let any = match (need_any, any_lo) {
            (true, Some(any_lo)) => Some(self.val(any_hi | any_lo)?.sig),
            _ => None,
        };
        Ok((any, count))
    }

    /// The number of leading zeros of `v` (all ones for zero; see
    /// [`ModuleBuilder::normalize`]): the tree alone, without the shift.
    pub fn lzc(&mut self, name: &str, v: Sig) -> Result<Val> {
        let w = v.width();
        let levels = model::int::index_bits(w);
        let bits = (0..w)
            .rev()
            .map(|i| self.slice(v, i, i))
            .collect::<Result<Vec<_>>>()?;
        if w == 1 << levels {
            // The last bit: see `lz_tree`.
            let low = self.slice(v, 0, 0)?;
            self.discard(low, &format!("{name}_low"))?;
        }
        let count = self.lz_tree(bits, levels)?;
        let count = self.concat(&count)?;
        self.wire(name, count.u())
    }

    /// The number of trailing zeros of `v` (all ones for zero), as the leading-zero tree
    /// of [`ModuleBuilder::normalize`] on the reversed bits: log2(width) levels.
    pub fn tzc(&mut self, name: &str, v: Sig) -> Result<Val> {
        let w = v.width();
        let reversed = (0..w)
            .map(|i| self.slice(v, i, i))
            .collect::<Result<Vec<_>>>()?;
        let levels = model::int::index_bits(w);
        if w == 1 << levels {
            // The reversed value's last bit: see `lz_tree`.
            let top = self.slice(v, w - 1, w - 1)?;
            self.discard(top, &format!("{name}_top"))?;
        }
        let count = self.lz_tree(reversed, levels)?;
        let count = self.concat(&count)?;
        self.wire(name, count.u())
    }

    /// Barrel shift left by the unsigned `amount`; the width stays (bits leave on top).
    pub fn shift_left(&mut self, v: Val, amount: Sig) -> Result<Val> {
        Ok(Val {
            sig: self.shl(v.sig, amount)?,
            signed: v.signed,
        })
    }

    /// Barrel shift right by the unsigned `amount`: arithmetic for signed values, logical
    /// for unsigned; the width stays.
    pub fn shift_right(&mut self, v: Val, amount: Sig) -> Result<Val> {
        let sig = if v.signed {
            self.ashr(v.sig, amount)?
        } else {
            self.shr(v.sig, amount)?
        };
        Ok(Val {
            sig,
            signed: v.signed,
        })
    }

    /// `|v|` as an unsigned value of `v`'s width (`2^(w-1)` still fits); returns it and
    /// the sign. An unsigned `v` is its own magnitude.
    pub fn abs(&mut self, name: &str, v: Val) -> Result<(Val, Sig)> {
        if !v.signed {
            return Ok((v, self.zero(1)?));
        }
        let negative = self.msb(v.sig)?;
        let zero = self.zero(v.width())?;
        let negated = self.sub(zero, v.sig)?;
        let mag = self.mux(negative, negated, v.sig)?;
        Ok((self.wire(name, mag.u())?, negative))
    }
}

/// A pipeline stage: a valid bit and named fields, registered as a whole by
/// [`ModuleBuilder::register_stage`].
#[derive(Clone, Debug)]
pub struct Stage {
    pub valid: Sig,
    pub fields: Vec<(String, Val)>,
}

impl Stage {
    /// A stage with only its valid bit.
    pub fn new(valid: Sig) -> Stage {
        Stage {
            valid,
            fields: Vec::new(),
        }
    }

    /// Add (or replace) field `name`.
    pub fn with(mut self, name: &str, v: impl Into<Val>) -> Stage {
        let v = v.into();
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = v,
            None => self.fields.push((name.to_string(), v)),
        }
        self
    }

    /// Field `name`.
    ///
    /// # Panics
    /// If there is no such field (a generator bug, not an input error).
    pub fn get(&self, name: &str) -> Val {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("stage has no field '{name}'"))
    }
}

impl ModuleBuilder {
    /// Registers `name <= d` for each pair, all with one clock, optional synchronous reset
    /// to zero and optional load enable.
    pub fn registers<const N: usize>(
        &mut self,
        regs: [(&str, Sig); N],
        clk: Sig,
        reset: Option<Sig>,
        enable: Option<Sig>,
    ) -> Result<[Sig; N]> {
        let mut out = [clk; N];
        for (slot, (name, d)) in out.iter_mut().zip(regs) {
            *slot = self.register(name, d, clk, reset, enable)?;
        }
        Ok(out)
    }

    /// Register a whole stage: `valid_<n>` (reset by `rst`) and `<field>_<n>` for every
    /// field (no reset: they only matter where valid is high).
    pub fn register_stage(&mut self, s: &Stage, n: u32, clk: Sig, rst: Sig) -> Result<Stage> {
        let valid = self.register(&format!("valid_{n}"), s.valid, clk, Some(rst), None)?;
        let mut out = Stage::new(valid);
        for (name, v) in &s.fields {
            let r = self.register(&format!("{name}_{n}"), v.sig, clk, None, None)?;
            out.fields.push((
                name.clone(),
                Val {
                    sig: r,
                    signed: v.signed,
                },
            ));
        }
        Ok(out)
    }
}
