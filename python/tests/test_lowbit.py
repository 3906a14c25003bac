"""The lowbit package: the docs' worked cases, the vectorised functions against the
units' cycle models (a second path through the model crate: beat by beat through
`simulate`, as the RTL is co-simulated), parameter errors, and lint-clean Verilog."""

import shutil
import subprocess

import numpy as np
import pytest

import lowbit

RNG = np.random.default_rng(19)


# --- helpers -------------------------------------------------------------------------


def run(unit, inputs, **params):
    """Simulate `unit` on the given beats (in_valid high), then `latency` idle beats;
    the outputs that belong to each input beat."""
    _, meta = lowbit.generate(unit, **params)
    lat = meta["latency"]
    beats = len(next(iter(inputs.values())))
    padded = {"in_valid": np.r_[np.ones(beats, np.int64), np.zeros(lat, np.int64)]}
    for name, v in inputs.items():
        v = np.asarray(v)
        pad = np.zeros((lat,) + v.shape[1:], dtype=v.dtype)
        padded[name] = np.concatenate([v, pad])
    out = lowbit.simulate(unit, padded, **params)
    return {k: v[lat:] for k, v in out.items()}, meta


def pack(values, bits):
    """Rows of `bits`-bit fields (element 0 lowest) into rows of 64-bit words."""
    values = np.asarray(values)
    count = values.shape[-1]
    words = -(-bits * count // 64)
    out = np.zeros((values.shape[0], words), dtype=np.uint64)
    mask = (1 << bits) - 1
    for r, row in enumerate(values):
        n = 0
        for i, v in enumerate(row):
            n |= (int(v) & mask) << (bits * i)
        for w in range(words):
            out[r, w] = (n >> (64 * w)) & 0xFFFFFFFFFFFFFFFF
    return out


def unpack(words, bits, count, signed):
    """The inverse of `pack`, rows of `count` fields, signed or not."""
    words = np.asarray(words, dtype=np.uint64).reshape(len(words), -1)
    out = np.zeros((len(words), count), dtype=np.int64)
    for r, row in enumerate(words):
        n = sum(int(w) << (64 * i) for i, w in enumerate(row))
        for i in range(count):
            v = (n >> (bits * i)) & ((1 << bits) - 1)
            if signed and v >> (bits - 1):
                v -= 1 << bits
            out[r, i] = v
    return out


def f32(values):
    return np.array(values, dtype=np.float32)


def random_f32(n):
    """Random binary32 values over a wide range of magnitudes, with zeros and ties."""
    x = RNG.standard_normal(n) * np.exp2(RNG.integers(-20, 20, n))
    x[RNG.random(n) < 0.05] = 0.0
    ties = RNG.random(n) < 0.05  # halves and quarters: rounding ties at small widths
    x[ties] = RNG.integers(-64, 64, ties.sum()) / 4.0
    return x.astype(np.float32)


# --- worked cases (docs/) ------------------------------------------------------------


def test_mac_worked_cases_docs_mac_md():
    acc, ovf = lowbit.mac([[127, -128], [-128, 127]], [[127, 16], [16, 127]])
    assert acc.tolist() == [-1, 2047] and ovf.tolist() == [True, True]
    acc, ovf = lowbit.mac([-128], [16])
    assert acc.tolist() == -2048 and not ovf
    acc, ovf = lowbit.mac([40, 10], [50, 10], overflow="wrap")
    assert (acc, ovf) == (-1996, True)
    acc, ovf = lowbit.mac([25, 2], [10, 3], unsigned=True, acc=8)
    assert (acc, ovf) == (255, True) and acc.dtype == np.uint64
    acc, ovf = lowbit.mac([25, 2], [10, 3], unsigned=True, acc=8, overflow="wrap")
    assert (acc, ovf) == (0, True)
    acc, ovf = lowbit.mac([-(2**31)] * 2, [-(2**31)] * 2, in_=32, acc=64)
    assert (acc, ovf) == (2**63 - 1, True)
    # Mixed operands (W4A8, docs/mac.md): int4 -8 times uint8 255 is -2040; a second
    # product saturates the 12-bit accumulator; a uint8 operand out of its range is refused.
    acc, ovf = lowbit.mac([-8], [255], in_a=4, in_b=8, b_unsigned=True)
    assert (acc, ovf) == (-2040, False)
    acc, ovf = lowbit.mac([-8, -1], [255, 255], in_a=4, in_b=8, b_unsigned=True)
    assert (acc, ovf) == (-2048, True)
    with pytest.raises(ValueError, match="'b'"):
        lowbit.mac([1], [-1], in_a=4, in_b=8, b_unsigned=True)


def test_bfp_worked_cases_docs_bfp_md():
    q, e, inv = lowbit.bfp_quantize(f32([1.5, -0.3, 0.05, 0.9]), block=4, mant=4)
    assert q.tolist() == [6, -1, 0, 4] and e.tolist() == [-2] and inv.tolist() == [False]
    assert lowbit.bfp_dequantize(q, e).tolist() == [1.5, -0.25, 0.0, 1.0]
    q, _, _ = lowbit.bfp_quantize(f32([1.5, -0.3, 0.05, 0.9]), block=4, mant=4, rounding="rz")
    assert q[3] == 3
    q, e, _ = lowbit.bfp_quantize(f32([1.0, 0.3]), block=2, mant=4)
    assert (q.tolist(), e.tolist()) == ([4, 1], [-2])
    q, _, _ = lowbit.bfp_quantize(f32([1.5, 0.375, 0.625, 0]), block=4, mant=4)
    assert q.tolist() == [6, 2, 2, 0]
    q, e, _ = lowbit.bfp_quantize(f32([1.99, 0.5]), block=2, mant=4)
    assert (q.tolist(), e.tolist()) == ([7, 2], [-2])
    qw, ew, _ = lowbit.bfp_quantize(f32([0.5, 0.5, -1.0, 0.25]), block=4, mant=4)
    assert (qw.tolist(), ew.tolist()) == ([2, 2, -4, 1], [-2])
    s, x, v = lowbit.bfp_dot([6, -1, 0, 4], [-2], qw, ew, block=4, mant=4)
    assert (s.tolist(), x.tolist(), v.tolist()) == ([14], [-4], [0.875])


def test_mx_worked_cases_docs_mx_md():
    block = f32([1, 0.3, -2.6, 5.9, 0.25, 0.75, 2.5, 0])
    codes, scales = lowbit.mx_quantize(block, elem="e2m1", block=8)
    assert scales.tolist() == [127]
    values = lowbit.mx_dequantize(codes, scales, elem="e2m1")
    assert values.tolist() == [1, 0.5, -3, 6, 0, 1, 2, 0]
    codes, scales = lowbit.mx_quantize(block, elem="e2m1", block=8, rounding="away")
    assert lowbit.mx_dequantize(codes, scales, elem="e2m1").tolist() == [1, 0.5, -3, 6, 0.5, 1, 3, 0]
    codes, scales = lowbit.mx_quantize(f32([1.0, 0.3] + [0] * 30), elem="int8")
    assert scales.tolist() == [127] and codes[:2].tolist() == [64, 19]
    codes, scales = lowbit.mx_quantize(f32([127.9999, 1.0] + [0] * 30), elem="e5m2")
    assert scales.tolist() == [118]
    assert lowbit.mx_dequantize(codes, scales, elem="e5m2")[:2].tolist() == [112.0, 1.0]
    a = lowbit.mx_quantize(f32([1, 0.3, -2.6, 5.9]), elem="e2m1", block=4)
    b = lowbit.mx_quantize(f32([0.5, -1, 1, 0.24]), elem="e2m1", block=4)
    assert b[1].tolist() == [125]
    va, vb = (lowbit.mx_dequantize(c, s, elem="e2m1") for c, s in (a, b))
    assert va.tolist() == [1, 0.5, -3, 6] and float(np.dot(va, vb)) == -1.5


def test_mx_dot_worked_case_docs_mx_md():
    # docs/mx.md: the two E2M1 blocks of 4 whose dot product is -1.5.
    qa, xa = lowbit.mx_quantize(f32([1, 0.3, -2.6, 5.9]), elem="e2m1", block=4)
    qb, xb = lowbit.mx_quantize(f32([0.5, -1, 1, 0.24]), elem="e2m1", block=4)
    acc, uf, of, nan = lowbit.mx_dot(qa, xa, qb, xb, elem="e2m1", block=4)
    assert acc.dtype == np.float32 and acc.shape == ()
    assert (float(acc), bool(uf), bool(of), bool(nan)) == (-1.5, False, False, False)
    # Two blocks in a row add up; a NaN scale byte adds nothing and sets nan.
    q2, x2 = np.tile(qa, 2), np.r_[xa, xa]
    acc, _, _, nan = lowbit.mx_dot(q2, x2, np.tile(qb, 2), np.r_[xb, xb], elem="e2m1", block=4)
    assert (float(acc), bool(nan)) == (-3.0, False)
    acc, _, _, nan = lowbit.mx_dot(q2, x2, np.tile(qb, 2), np.r_[xb, 0xFF], elem="e2m1", block=4)
    assert (float(acc), bool(nan)) == (-1.5, True)


def test_expq_fit_worked_case():
    # A tensor on the ladder 1/4, 1/2, 1 (3 bits: 3 levels): the fit finds alpha = 1 and
    # a base within the search grid's 1% steps of 2, with almost no error left.
    x = f32([1.0, -0.5, 0.25, 0.5, -1.0, 0.25])
    f = lowbit.expq_fit(x, bits=3)
    assert set(f) == {"bits", "exp_bits", "base", "alpha", "exp_min", "mse"}
    assert (f["bits"], f["exp_bits"], f["exp_min"]) == (3, 2, -2)
    assert f["alpha"] == 1.0
    assert f["base"] == pytest.approx(2.0, rel=0.01)
    assert f["mse"] == pytest.approx(0.0, abs=1e-4)


def test_requant_worked_cases_docs_requant_md():
    assert lowbit.requantize(1000, 1518500250, -4, -3).tolist() == 41
    # SRDHM rows, through a zero point that brings the value into 8 bits.
    assert lowbit.requantize(2**30, 2**30, 0, -(2**29) + 5) == 5
    assert lowbit.requantize(-(2**31), -(2**31), 0, -(2**31 - 1) + 7) == 7
    assert lowbit.requantize(-(2**15), 2**15, 0, 0) == 0
    # 3 << 30 wraps to -2^30; SRDHM by 2^30 gives -2^29.
    assert lowbit.requantize(3, 2**30, 30, 2**29 + 9) == 9
    # Broadcasting and clamping: 16-bit unsigned output.
    y = lowbit.requantize([0, 10**6, -(10**6)], 2**30, 0, 0, out_bits=16, unsigned=True)
    assert y.tolist() == [0, 65535, 0]


def test_expq_worked_cases_docs_log_domain_md():
    s, z, e = lowbit.expq_quantize([8, 9, 24, 25, 256, 32767, -256])
    assert z.tolist() == [True, False, False, False, False, False, False]
    assert e.tolist()[1:] == [0, 0, 1, 4, 7, 4] and s.tolist()[-1] == 1
    _, _, e = lowbit.expq_quantize([22, 23], base=1.5, alpha=0.75, in_frac=4, exp_bits=2, exp_min=-1)
    assert e.tolist() == [2, 3]


def test_fpacc_worked_cases_docs_fpacc_md():
    ones = [16] + [1] * 256  # 1.0 then 2^-8 x 256 (8-bit operands, 4 fraction bits)
    _, v, uf, of = lowbit.fpacc(ones, ones, in_frac=4)
    assert v == 1.0 and not uf and not of
    chunked = [16] + [0] * 15 + [1] * 256
    _, v, _, _ = lowbit.fpacc(chunked, chunked, in_frac=4, chunk=16)
    assert v == 2.0
    _, v, _, of = lowbit.fpacc([255, 2], [1, 2], in_=10, in_frac=1)
    assert v == 63.75 and of
    _, v, uf, _ = lowbit.fpacc([1], [1], in_frac=5)
    assert v == 0.0 and uf
    a, b = [4096, 1, -4096], [4096, 1, 4096]
    assert lowbit.fpacc(a, b, preset="fp32", in_=16)[1] == 0.0
    assert lowbit.fpacc_long(a, b, preset="fp32", in_=16)[1] == 1.0
    # fpacc_long with mixed operands (W4A8): int4 a by uint8 b, summed exactly; -8 * 255
    # + 7 * 255 is -255 in binary32; a uint8 operand out of its range is refused.
    kw = dict(preset="fp32", in_a=4, in_b=8, b_unsigned=True)
    bits, v, uf, of = lowbit.fpacc_long([-8, 7], [255, 255], **kw)
    assert v == -255.0 and not uf and not of
    with pytest.raises(ValueError, match="'b'"):
        lowbit.fpacc_long([1], [-1], **kw)


# --- the functions against the cycle models on random data ---------------------------


@pytest.mark.parametrize("kw", [{}, {"overflow": "wrap", "acc": 10}, {"unsigned": True, "in_": 5, "acc": 9}])
def test_mac_equals_the_cycle_model(kw):
    rows, n = 50, 7
    signed = not kw.get("unsigned")
    bits = kw.get("in_", 8)
    lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    a = RNG.integers(lo, hi, (rows, n))
    b = RNG.integers(lo, hi, (rows, n))
    acc, ovf = lowbit.mac(a, b, **kw)
    clear = np.tile(np.eye(1, n, dtype=np.int64)[0], rows)
    out, meta = run("mac", {"clear": clear, "a": a.reshape(-1), "b": b.reshape(-1)}, **kw)
    width = meta["params"]["acc_bits"]
    last = np.arange(rows) * n + n - 1
    sim = out["acc"][last]
    sim = lowbit.to_signed(sim, width) if signed else sim
    assert sim.tolist() == acc.tolist()
    assert (out["ovf"][last] == 1).tolist() == ovf.tolist()


@pytest.mark.parametrize(
    "kw",
    [
        {"block": 16},
        {"block": 8, "mant": 8, "rounding": "rz"},
        {"block": 4, "mant": 3, "exp_rule": "hbfp"},
        {"block": 8, "rounding": "sr", "rnd_bits": 5},
        {"block": 8, "exp_bits": 9, "mant": 6},
    ],
)
def test_bfp_quantize_equals_the_cycle_model(kw):
    block, m = kw["block"], kw.get("mant", 4)
    x = random_f32(40 * block).reshape(40, block)
    x[3, 2] = np.inf
    x[5, 1] = np.nan
    x[7] = 0.0
    x[9] = np.float32(1e-40)  # subnormals are zero
    rnd = RNG.integers(0, 1 << kw["rnd_bits"], x.shape).astype(np.uint64) if "rnd_bits" in kw else None
    q, e, inv = lowbit.bfp_quantize(x, rnd=rnd, **kw)
    assert q.shape == x.shape and e.shape == (40, 1)
    inputs = {"x": x.view(np.uint32).view(np.uint64).reshape(40, -1)}
    if rnd is not None:
        inputs["rnd"] = pack(rnd, kw["rnd_bits"])
    out, _ = run("bfp-quant", inputs, **kw)
    assert lowbit.to_signed(out["e"], kw.get("exp_bits", 10)).tolist() == e[:, 0].tolist()
    assert unpack(out["q"], m, block, True).tolist() == q.tolist()
    assert (out["inv"] == 1).tolist() == inv[:, 0].tolist()


@pytest.mark.parametrize(
    "kw",
    [
        {"elem": "e4m3"},
        {"elem": "e5m2", "block": 16},
        {"elem": "e2m1", "block": 8, "rounding": "away"},
        {"elem": "int8", "block": 4},
        {"elem": "e3m2", "block": 8, "rounding": "sr", "rnd_bits": 6},
    ],
)
def test_mx_quantize_equals_the_cycle_model(kw):
    block = kw.get("block", 32)
    x = random_f32(30 * block).reshape(30, block)
    x[4, 0] = -np.inf
    x[6] = 0.0
    rnd = RNG.integers(0, 1 << kw["rnd_bits"], x.shape).astype(np.uint64) if "rnd_bits" in kw else None
    codes, scales = lowbit.mx_quantize(x, rnd=rnd, **kw)
    assert scales[4, 0] == 0xFF and scales[6, 0] == 0
    inputs = {"x": x.view(np.uint32).view(np.uint64).reshape(30, -1)}
    if rnd is not None:
        inputs["rnd"] = pack(rnd, kw["rnd_bits"])
    out, meta = run("mx-quant", inputs, **kw)
    bits = next(p for p in meta["ports"] if p["name"] == "q")["format"]["bits"]
    assert out["scale"].tolist() == scales[:, 0].tolist()
    assert unpack(out["q"], bits, block, False).tolist() == codes.tolist()


@pytest.mark.parametrize("elem", ["e4m3", "e5m2", "e2m1", "int8"])
def test_mx_dequantize_equals_the_cycle_model(elem):
    width = 8 if elem in ("e4m3", "e5m2", "int8") else 4
    lanes = 4
    codes = RNG.integers(0, 1 << width, (300, lanes))
    scales = RNG.integers(100, 160, 300)
    scales[::37] = 0xFF
    y = lowbit.mx_dequantize(codes, scales, elem=elem)
    out, _ = run("mx-dequant", {"scale": scales, "q": pack(codes, width)}, elem=elem, lanes=lanes)
    sim = unpack(out["y"], 32, lanes, False).astype(np.uint32)
    assert sim.tolist() == y.view(np.uint32).tolist()


def test_expq_quantize_equals_the_cycle_model():
    kw = {"in_": 12, "in_frac": 6, "base": 1.5, "alpha": 0.75, "exp_bits": 3, "exp_min": -3}
    x = RNG.integers(-2048, 2048, 2000)
    s, z, e = lowbit.expq_quantize(x, **kw)
    out, _ = run("expq-quant", {"x": x}, **kw)
    assert out["s"].tolist() == s.tolist()
    assert (out["z"] == 1).tolist() == z.tolist()
    assert out["e"].tolist() == e.tolist()


@pytest.mark.parametrize("kw", [{}, {"out_bits": 4, "unsigned": True}, {"out_bits": 16}])
def test_requantize_equals_the_cycle_model(kw):
    n = 2000
    acc = RNG.integers(-(2**31), 2**31, n)
    mult = RNG.integers(-(2**31), 2**31, n)
    shift = RNG.integers(-31, 31, n)
    zp = RNG.integers(-300, 300, n)
    y = lowbit.requantize(acc, mult, shift, zp, **kw)
    out, meta = run("requant", {"acc": acc, "mult": mult, "shift": shift, "zp": zp}, **kw)
    width = meta["params"]["out_bits"]
    sim = out["y"] if kw.get("unsigned") else lowbit.to_signed(out["y"], width)
    assert sim.tolist() == y.tolist()


@pytest.mark.parametrize(
    "kw",
    [{}, {"chunk": 4}, {"preset": "fp32", "in_": 16}, {"in_float": "5,2", "preset": "bf16"}],
)
def test_fpacc_equals_the_cycle_model(kw):
    rows, n = 40, 9
    if "in_float" in kw:
        a = RNG.integers(0, 256, (rows, n))
        b = RNG.integers(0, 256, (rows, n))
    else:
        bits = kw.get("in_", 8)
        a = RNG.integers(-(1 << (bits - 1)), 1 << (bits - 1), (rows, n))
        b = RNG.integers(-(1 << (bits - 1)), 1 << (bits - 1), (rows, n))
    bits_out, value, uf, of = lowbit.fpacc(a, b, **kw)
    clear = np.tile(np.eye(1, n, dtype=np.int64)[0], rows)
    out, _ = run("fpacc", {"clear": clear, "a": a.reshape(-1), "b": b.reshape(-1)}, **kw)
    last = np.arange(rows) * n + n - 1
    assert out["acc"][last].tolist() == bits_out.tolist()
    assert (out["uf"][last] == 1).tolist() == uf.tolist()
    assert (out["of"][last] == 1).tolist() == of.tolist()
    assert np.all(np.isfinite(value))


def test_bfp_dot_is_the_dot_of_the_dequantized_blocks():
    x = random_f32(64 * 16).reshape(64, 16)
    w = random_f32(64 * 16).reshape(64, 16)
    qa, ea, _ = lowbit.bfp_quantize(x, mant=8)
    qb, eb, _ = lowbit.bfp_quantize(w, mant=8)
    s, e, v = lowbit.bfp_dot(qa, ea, qb, eb, mant=8)
    exact = (lowbit.bfp_dequantize(qa, ea) * lowbit.bfp_dequantize(qb, eb)).sum(axis=1)
    # Products of 8-bit mantissas and sums of 16 of them are exact in binary64.
    assert v.tolist() == exact.tolist()
    assert (e == (ea + eb)[:, 0]).all()


@pytest.mark.parametrize(
    "kw",
    [{}, {"elem": "e2m1", "block": 8}, {"elem": "e5m2", "elem_b": "int8", "block": 4}],
)
def test_mx_dot_equals_the_cycle_model(kw):
    ea = kw.get("elem", "e4m3")
    eb = kw.get("elem_b", ea)
    block, rows, blocks = kw.get("block", 32), 12, 3
    xa = random_f32(rows * blocks * block).reshape(rows, blocks * block)
    xb = random_f32(rows * blocks * block).reshape(rows, blocks * block)
    xa[2, 0] = np.nan  # a NaN block: adds nothing, sets nan
    qa, sa = lowbit.mx_quantize(xa, elem=ea, block=block)
    qb, sb = lowbit.mx_quantize(xb, elem=eb, block=block)
    sb[5, 1] = 0xFF
    acc, uf, of, nan = lowbit.mx_dot(qa, sa, qb, sb, **kw)
    assert acc.shape == (rows,) and nan.tolist() == [r in (2, 5) for r in range(rows)]
    # The unit: one block pair a beat, clear on a row's first block.
    wa = 8 if ea in ("e4m3", "e5m2", "int8") else 4
    wb = 8 if eb in ("e4m3", "e5m2", "int8") else 4
    inputs = {
        "clear": np.tile(np.eye(1, blocks, dtype=np.int64)[0], rows),
        "xa": sa.reshape(-1),
        "qa": pack(qa.reshape(-1, block), wa),
        "xb": sb.reshape(-1),
        "qb": pack(qb.reshape(-1, block), wb),
    }
    out, _ = run("mx-dot", inputs, **kw)
    last = np.arange(rows) * blocks + blocks - 1
    assert out["acc"][last].tolist() == acc.view(np.uint32).tolist()
    assert (out["uf"][last] == 1).tolist() == uf.tolist()
    assert (out["of"][last] == 1).tolist() == of.tolist()
    assert (out["nan"][last] == 1).tolist() == nan.tolist()
    # Without NaN blocks the result is the dequantized blocks' dot product, to binary32
    # rounding (each block rounded once, then accumulated: approx, not equal).
    ok = ~nan
    va = lowbit.mx_dequantize(qa, sa, elem=ea).astype(np.float64)
    vb = lowbit.mx_dequantize(qb, sb, elem=eb).astype(np.float64)
    exact = (va * vb).sum(axis=1)
    assert acc[ok].astype(np.float64) == pytest.approx(exact[ok], rel=1e-5, abs=1e-30)


def test_expq_fit_equals_the_model_on_random_data():
    """The wrapper returns model::expq::fit: the levels it reports give the mse it
    reports (recomputed here in NumPy), and no other alpha on the fit's grid at that
    base does better; a heavier tail needs a larger base."""
    x = (RNG.standard_normal(4000) * 0.1).astype(np.float32)
    for bits in (3, 4, 5):
        f = lowbit.expq_fit(x, bits=bits)
        count = (1 << f["exp_bits"]) - 1
        levels = f["alpha"] * f["base"] ** np.arange(-(count - 1), 1, dtype=np.float64)
        assert f["exp_min"] == -(count - 1)
        m = np.abs(x.astype(np.float64))
        # Nearest level, ties down; zero at or below half the smallest.
        i = np.clip(np.searchsorted(levels, m), 1, count - 1)
        lo, hi = levels[i - 1], levels[i]
        q = np.where(hi - m < m - lo, hi, lo)
        q = np.where(m <= levels[0] / 2, 0.0, np.where(m >= levels[-1], levels[-1], q))
        q = np.where(m < levels[0], np.where(m <= levels[0] / 2, 0.0, levels[0]), q)
        mse = np.mean((m - q) ** 2)
        assert f["mse"] == pytest.approx(mse, rel=1e-9)
        assert 0.25 * np.abs(x).max() <= f["alpha"] <= np.abs(x).max()
    mae = lowbit.expq_fit(x, bits=4, metric="mae")
    assert mae["mse"] >= lowbit.expq_fit(x, bits=4)["mse"]


def test_bfp_quantize_error_is_bounded():
    """Round to nearest: every element within half a step of its input (the float
    comparison with a tolerance: pytest.approx)."""
    x = RNG.standard_normal((100, 16)).astype(np.float32)
    q, e, _ = lowbit.bfp_quantize(x, mant=8)
    step = np.exp2(e.astype(np.float64))
    err = np.abs(lowbit.bfp_dequantize(q, e) - x) / step
    assert err.max() == pytest.approx(0.5, abs=0.5)  # in [0, 1]: clamp aside, <= 0.5
    assert (err[np.abs(q) < 127] <= 0.5).all()


# --- parameter and argument errors ---------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: lowbit.mac([1], [2], acc=65), "invalid value '65' for 'acc' (--acc): allowed 2..=64"),
        (lambda: lowbit.mac([1], [2], in_=1), "invalid value '1' for 'in' (--in): allowed 2..=32"),
        (lambda: lowbit.mac([1], [2], overflow="clip"), "for 'overflow' (--overflow): allowed saturate, wrap"),
        (lambda: lowbit.mac([200], [2]), "invalid value 200 in 'a': allowed -128..=127"),
        (lambda: lowbit.mac([1], [2], unsigned=True, signed=True), "cannot be given together"),
        (lambda: lowbit.mac([1], [2], accumulator=3), "unknown parameter 'accumulator'"),
        (lambda: lowbit.bfp_quantize(f32([1.0] * 16), mant=9), "for 'mant' (--mant): allowed 2..=8"),
        (lambda: lowbit.bfp_quantize(f32([1.0] * 10)), "'x': 10 values are not whole rows (blocks) of 16"),
        (lambda: lowbit.bfp_quantize(f32([1.0] * 16), rounding="sr"), "'rnd': rounding='sr' needs"),
        (lambda: lowbit.mx_quantize(f32([1.0] * 32), elem="e9m9"), "for 'elem' (--elem)"),
        (lambda: lowbit.mx_dequantize([16], [127], elem="e2m1"), "invalid code 0x10 in 'codes'"),
        (lambda: lowbit.mx_dot([0] * 32, [127], [0] * 32, [127], elem="e9m9"), "for 'elem' (--elem)"),
        (lambda: lowbit.mx_dot([0] * 32, [127], [0] * 32, [127], block=65), "for 'block' (--block)"),
        (lambda: lowbit.mx_dot([0] * 48, [127], [0] * 48, [127]), "48 values are not whole rows (blocks) of 32"),
        (lambda: lowbit.mx_dot([16] * 4, [127], [0] * 4, [127], elem="e2m1", block=4), "invalid code 0x10 in 'qa'"),
        (lambda: lowbit.mx_dot([0] * 4, [256], [0] * 4, [127], elem="e2m1", block=4), "invalid scale 256 in 'xa'"),
        (lambda: lowbit.mx_dot([0] * 4, [127], [0] * 8, [127], block=4), "'codes_b': shape"),
        (lambda: lowbit.expq_fit([1.0, 2.0], bits=9), "invalid value '9' for 'bits': allowed 2..=8"),
        (lambda: lowbit.expq_fit([1.0, 2.0], metric="max"), "for 'metric': allowed mse"),
        (lambda: lowbit.expq_fit([0.0, 0.0]), "all 0"),
        (lambda: lowbit.expq_fit([1.0, np.inf]), "a finite float32"),
        (lambda: lowbit.requantize(1, 1, 0, 0, out_bits=17), "for 'out_bits' (--out-bits): allowed 2..=16"),
        (lambda: lowbit.requantize(2**31, 1, 0, 0), "in 'acc'"),
        (lambda: lowbit.expq_quantize([1], exp_bits=7), "for 'exp_bits' (--exp-bits)"),
        (lambda: lowbit.fpacc([1], [1], chunk=-1), "for 'chunk' (--chunk)"),
        (lambda: lowbit.generate("mac", pipeline=99), "for 'pipeline' (--pipeline)"),
        (lambda: lowbit.generate("fft"), "unknown unit 'fft'"),
        (lambda: lowbit.simulate("mac", {"x": [1]}), "unknown input port 'x'"),
    ],
)
def test_errors_are_value_errors_naming_the_parameter(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


# --- generate ------------------------------------------------------------------------


def test_generate_every_registered_unit_lints_clean(tmp_path):
    verilator = shutil.which("verilator")
    assert verilator, "verilator is needed (make tools installs it)"
    units = lowbit.units()
    assert len(units) >= 19
    for u in units:
        for pipeline in ([0, 2] if u["pipeline"] else [0]):
            verilog, meta = lowbit.generate(u["command"], pipeline=pipeline)
            assert meta["unit"] == u["kind"]
            assert (meta.get("timing") or {}).get("pipeline", 0) == pipeline
            path = tmp_path / f"{meta['module']}.v"
            path.write_text(verilog)
            r = subprocess.run(
                [verilator, "--lint-only", "-Wall", "--top-module", meta["module"], str(path)],
                capture_output=True,
                text=True,
            )
            assert r.returncode == 0, f"{u['command']} pipeline {pipeline}:\n{r.stderr}"


def test_generate_header_and_reference():
    verilog, meta = lowbit.generate("bfp-quant", block=8, mant=6, rounding="sr", rnd_bits=4)
    assert meta["module"] in verilog and "gen bfp-quant --block 8 --mant 6 --rounding sr --rnd-bits 4" in verilog
    assert meta["params"]["block"] == 8 and meta["params"]["rnd_bits"] == 4
    golden, gmeta = lowbit.generate("bfp-quant", golden=True, block=8)
    assert gmeta["module"] in golden and golden != lowbit.generate("bfp-quant", block=8)[0]
