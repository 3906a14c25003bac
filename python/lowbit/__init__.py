"""Bit-exact NumPy models of lowbit's low-precision arithmetic units, and their Verilog.

Every function calls the Rust model crate (the project's spec) on whole arrays; the
results equal the generated RTL bit for bit. Parameters are the units' ``gen`` flags as
keywords (``exp_bits=10`` is ``--exp-bits 10``, ``unsigned=True`` is ``--unsigned``,
``in_=8`` is ``--in 8``); a value outside its range raises ``ValueError`` naming the
parameter and its allowed values, exactly as the command line would refuse it.
"""

import json

import numpy as np

from . import _lowbit

__version__ = _lowbit.__version__

__all__ = [
    "mac",
    "fpacc",
    "fpacc_long",
    "bfp_quantize",
    "bfp_dequantize",
    "bfp_dot",
    "mx_quantize",
    "mx_dequantize",
    "mx_dot",
    "expq_quantize",
    "expq_fit",
    "requantize",
    "generate",
    "simulate",
    "units",
    "to_signed",
]


def _ints(x):
    return np.asarray(x, dtype=np.int64)


def _flat(x, dtype=np.int64):
    """A flat, contiguous copy (or view) of `x` as `dtype` (keeps 0-d inputs' shape out)."""
    return np.ascontiguousarray(np.asarray(x, dtype=dtype).reshape(-1))


def _pair(a, b):
    a, b = np.broadcast_arrays(_ints(a), _ints(b))
    if a.ndim == 0:
        raise ValueError("'a': operands need at least one dimension (rows of products)")
    return a, b


def _f32_bits(x):
    x = np.asarray(x, dtype=np.float32)
    return _flat(x, np.float32).view(np.uint32), x.shape


def _rnd(rnd, shape):
    if rnd is None:
        return None
    return _flat(np.broadcast_to(np.asarray(rnd, dtype=np.uint64), shape), np.uint64)


def _per_block(values, shape, block_len):
    """Per-block results shaped as the input's rows of blocks when they divide evenly."""
    if len(shape) >= 1 and shape[-1] % block_len == 0:
        return values.reshape(shape[:-1] + (shape[-1] // block_len,))
    return values


def mac(a, b, **params):
    """Integer MAC dot products (docs/mac.md, ``gen mac``).

    ``a`` and ``b`` (broadcast, at least 1-D) hold integer operands; each row along the
    last axis is accumulated from a cleared accumulator, one product a beat, with the
    unit's overflow policy (``overflow="saturate"`` or ``"wrap"``). Returns ``(acc,
    ovf)`` shaped ``a.shape[:-1]``: the accumulator (int64, uint64 when ``unsigned``)
    and the sticky overflow flag. Parameters: ``in_``, ``acc``, ``unsigned``,
    ``overflow``.
    """
    a, b = _pair(a, b)
    acc, ovf = _lowbit.mac(_flat(a), _flat(b), a.shape[-1], **params)
    return acc.reshape(a.shape[:-1]), ovf.reshape(a.shape[:-1])


def _fpacc(fn, a, b, params):
    a, b = _pair(a, b)
    bits, value, uf, of = fn(_flat(a), _flat(b), a.shape[-1], **params)
    s = a.shape[:-1]
    return bits.reshape(s), value.reshape(s), uf.reshape(s), of.reshape(s)


def fpacc(a, b, **params):
    """The floating-point accumulator (docs/fpacc.md, ``gen fpacc``) over rows.

    Operands are integers (``in_``, ``in_frac``) or raw codes of a small float
    (``in_float="e5m2"``, ...); each row along the last axis is accumulated from a clear.
    Returns ``(bits, value, uf, of)``: the accumulator's raw bits, its value (float64,
    exact), the sticky underflow and overflow flags. Parameters: ``preset``, ``exp``,
    ``man``, ``bias``, ``prod_exp``, ``prod_man``, ``prod_bias``, ``in_``, ``in_frac``,
    ``in_float``, ``in_bias``, ``rounding``, ``chunk``.
    """
    return _fpacc(_lowbit.fpacc, a, b, params)


def fpacc_long(a, b, **params):
    """The long (exact) accumulator ``fpacc_long``, rounded once per row; as ``fpacc``."""
    return _fpacc(_lowbit.fpacc_long, a, b, params)


def bfp_quantize(x, rnd=None, **params):
    """Convert binary32 values to HBFP blocks (docs/bfp.md, ``gen bfp-quant``).

    ``x`` (float32; its size a multiple of ``block``, default 16) is cut into blocks in
    C order. Returns ``(q, exp, inv)``: the mantissas (int8, shaped as ``x``: widen them
    before multiplying), the
    shared exponent per block (int32) and whether the block held a NaN or infinity;
    per-block results are shaped ``x.shape[:-1] + (blocks per row,)`` when the last axis
    is whole blocks. With ``rounding="sr"``, ``rnd`` gives one random word of
    ``rnd_bits`` bits per element. Parameters: ``block``, ``mant``, ``exp_bits``,
    ``rounding``, ``rnd_bits``, ``exp_rule``.
    """
    bits, shape = _f32_bits(x)
    q, e, inv = _lowbit.bfp_quantize(bits, _rnd(rnd, shape), **params)
    n = q.size // max(e.size, 1)
    return q.reshape(shape), _per_block(e, shape, n), _per_block(inv, shape, n)


def bfp_dequantize(q, exp):
    """The values ``q * 2**exp`` of HBFP blocks (float64, exact): ``q`` holds whole
    blocks in C order, ``exp`` one exponent per block."""
    q = _ints(q)
    return _lowbit.bfp_dequantize(_flat(q), _flat(exp, np.int32)).reshape(q.shape)


def bfp_dot(qa, ea, qb, eb, **params):
    """Exact dot products of HBFP block pairs (docs/bfp.md, ``model::bfp::dot``).

    ``qa``, ``qb``: mantissas, whole blocks of ``block`` (default 16) in C order, checked
    against ``mant`` bits; ``ea``, ``eb``: one exponent per block. Returns ``(sum, exp,
    value)`` per block: the integer sum of products, ``ea + eb``, and ``sum * 2**exp``
    (float64, exact). Parameters: ``block``, ``mant``, ``exp_bits``.
    """
    s, e = _lowbit.bfp_dot(
        _flat(qa), _flat(ea, np.int32), _flat(qb), _flat(eb, np.int32), **params
    )
    return s, e, np.ldexp(s.astype(np.float64), e)


def mx_quantize(x, rnd=None, **params):
    """Convert binary32 values to OCP MX blocks (docs/mx.md, ``gen mx-quant``).

    ``x`` (float32, whole blocks of ``block``, default 32, in C order). Returns ``(codes,
    scales)``: one element code per value (uint8, shaped as ``x``) and one E8M0 scale
    byte per block (0xFF: the block held a NaN or infinity). Parameters: ``elem``
    (``e4m3``, ``e5m2``, ``e3m2``, ``e2m3``, ``e2m1``, ``int8``), ``block``,
    ``rounding`` (``rne``, ``away``, ``sr``), ``rnd_bits``.
    """
    bits, shape = _f32_bits(x)
    codes, scales = _lowbit.mx_quantize(bits, _rnd(rnd, shape), **params)
    n = codes.size // max(scales.size, 1)
    return codes.reshape(shape), _per_block(scales, shape, n)


def mx_dequantize(codes, scales, **params):
    """MX elements back to float32 (docs/mx.md, ``gen mx-dequant``): ``element *
    2**(scale - 127)`` rounded to nearest even, no subnormals; NaN for the NaN scale or
    a NaN/infinity code. ``codes`` holds whole blocks in C order, ``scales`` one byte per
    block. Parameter: ``elem``."""
    shape = np.shape(codes)
    bits = _lowbit.mx_dequantize(_flat(codes, np.uint64), _flat(scales, np.uint32), **params)
    return bits.view(np.float32).reshape(shape)


def mx_dot(codes_a, scales_a, codes_b, scales_b, **params):
    """The MX block dot product (docs/mx.md, ``gen mx-dot``) of each row.

    ``codes_a``, ``codes_b``: element codes (as ``mx_quantize`` returns them), rows along
    the last axis of whole blocks of ``block`` (default 32); ``scales_a``, ``scales_b``:
    one E8M0 byte per block (shaped ``codes.shape[:-1] + (blocks,)`` or flat). Each
    block pair's exact dot product is rounded once to binary32 and the blocks of a row
    are accumulated in binary32 from zero, as the unit does between two ``clear``\ s.
    Returns ``(acc, uf, of, nan)`` per row: the float32 result, underflow, overflow, and
    whether a block was NaN (NaN scale byte or NaN/infinity code; it adds +0).
    Parameters: ``elem`` (of ``a``), ``elem_b`` (default ``elem``), ``block``.
    """
    shape = np.shape(codes_a)
    if np.shape(codes_b) != shape:
        raise ValueError(f"'codes_b': shape {np.shape(codes_b)} is not codes_a's {shape}")
    if len(shape) == 0:
        raise ValueError("'codes_a': codes need at least one dimension (rows of blocks)")
    acc, uf, of, nan = _lowbit.mx_dot(
        _flat(codes_a, np.uint64),
        _flat(scales_a, np.uint32),
        _flat(codes_b, np.uint64),
        _flat(scales_b, np.uint32),
        shape[-1],
        **params,
    )
    rows = shape[:-1]
    return (
        acc.view(np.float32).reshape(rows),
        uf.reshape(rows),
        of.reshape(rows),
        nan.reshape(rows),
    )


def expq_fit(x, bits=4, metric="mse"):
    """The DNA-TEQ-style exponential quantization of a tensor (``model::expq::fit``, the
    fit ``gen fit`` reports for each width): the base and top level ``alpha`` that
    minimize ``metric`` (``mse`` or ``mae``) at ``bits`` bits per value (one sign bit,
    ``bits - 1`` exponent bits, 2..=8). ``x``: finite values (read as float32), not all
    zero. Returns a dict with ``bits``, ``exp_bits``, ``base``, ``alpha``, ``exp_min``
    and ``mse`` (the fit's mean squared error)."""
    xs = _flat(x, np.float32)
    return _lowbit.expq_fit(xs, int(bits), str(metric))


def expq_quantize(x, **params):
    """The exponential quantizer (docs/log-domain.md, ``gen expq-quant``).

    ``x``: signed fixed-point inputs in units of ``2**-in_frac``. Returns ``(s, z, e)``
    per input: sign, zero flag and code (nearest level ``alpha * base**(e + exp_min)``,
    ties to the smaller). Parameters: ``in_``, ``in_frac``, ``exp_bits``, ``base``,
    ``alpha``, ``exp_min``.
    """
    x = _ints(x)
    s, z, e = _lowbit.expq_quantize(_flat(x), **params)
    return s.reshape(x.shape), z.reshape(x.shape), e.reshape(x.shape)


def requantize(acc, mult, shift, zp=0, **params):
    """The requantizer (docs/requant.md, ``gen requant``): TFLite's
    ``MultiplyByQuantizedMultiplier(acc, mult, shift) + zp`` clamped to ``out_bits`` bits
    (``unsigned=True`` for an unsigned output). Arguments broadcast. Parameters:
    ``out_bits``, ``signed``/``unsigned``."""
    arrays = np.broadcast_arrays(_ints(acc), _ints(mult), _ints(shift), _ints(zp))
    shape = arrays[0].shape
    flat = [_flat(a) for a in arrays]
    return _lowbit.requantize(*flat, **params).reshape(shape)


def generate(unit, pipeline=0, golden=False, **params):
    """Verilog and metadata of any registered unit, as ``gen <unit>`` writes them.

    ``unit`` is the ``gen`` subcommand (``"mac"``, ``"bfp-quant"``, ...; see ``units()``),
    ``pipeline`` the register stages, ``golden=True`` the behavioural reference instead of
    the RTL. Returns ``(verilog, metadata)``, the metadata as a dict
    (docs/conventions.md).
    """
    verilog, meta = _lowbit.generate(unit, pipeline=pipeline, golden=golden, **params)
    return verilog, json.loads(meta)


def simulate(unit, inputs, pipeline=0, **params):
    """Run a unit's cycle-accurate model beat by beat (what the RTL does each clock).

    ``inputs`` maps input port names (see ``generate(...)[1]["ports"]``) to one value per
    beat (a port wider than 64 bits: rows of 64-bit words, low word first); ports left out
    are 0, so give ``in_valid``. Returns every output port's raw bits per beat (uint64;
    ``to_signed`` reads a signed port).
    """
    beats = None
    flat = []
    for name, values in inputs.items():
        v = np.asarray(values)
        if v.dtype == np.uint64:
            v = v.view(np.int64)
        v = _ints(v)
        b = v.shape[0] if v.ndim else 1
        if beats is None:
            beats = b
        elif b != beats:
            raise ValueError(f"'{name}': {b} beats where the other ports have {beats}")
        flat.append((name, _flat(v)))
    out = _lowbit.simulate(unit, flat, beats or 0, pipeline=pipeline, **params)
    return {name: (bits if w == 1 else bits.reshape(-1, w)) for name, w, bits in out}


def units():
    """Every registered unit as ``gen list --json`` describes it."""
    return json.loads(_lowbit.units_json())


def to_signed(bits, width):
    """Raw ``width``-bit two's-complement port bits as signed int64."""
    b = np.asarray(bits, dtype=np.uint64) & np.uint64((1 << width) - 1 if width < 64 else ~0 & 0xFFFFFFFFFFFFFFFF)
    s = b.astype(np.int64)
    if width < 64:
        s = np.where(s >= (1 << (width - 1)), s - (1 << width), s)
    return s
