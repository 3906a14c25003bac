"""Values per second of lowbit's BFP and MX quantizers on one core (issue 19's target:
50 M values/s). The Rust side runs single-threaded; this script pins itself to one CPU
where the OS allows it, times each call on 4 M binary32 values (best of 5) and prints
one line per quantizer."""

import os
import time

import numpy as np

import lowbit

TARGET = 50e6
N = 1 << 22


def best(fn, repeat=5):
    fn()  # warm up (page faults, code paths)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(N) * np.exp2(rng.integers(-8, 8, N))).astype(np.float32)
    rnd = rng.integers(0, 256, N).astype(np.uint64)
    cases = [
        ("bfp_quantize  block 16, m 8, rne", lambda: lowbit.bfp_quantize(x, block=16, mant=8)),
        ("bfp_quantize  block 32, m 4, sr8", lambda: lowbit.bfp_quantize(x, rnd, block=32, rounding="sr", rnd_bits=8)),
        ("mx_quantize   e4m3, block 32, rne", lambda: lowbit.mx_quantize(x, elem="e4m3")),
        ("mx_quantize   e2m1, block 32, rne", lambda: lowbit.mx_quantize(x, elem="e2m1")),
        ("mx_quantize   int8, block 32, rne", lambda: lowbit.mx_quantize(x, elem="int8")),
        ("mx_dequantize e4m3", None),
    ]
    codes, scales = lowbit.mx_quantize(x, elem="e4m3")
    cases[-1] = ("mx_dequantize e4m3, block 32", lambda: lowbit.mx_dequantize(codes, scales, elem="e4m3"))
    print(f"{N} binary32 values a call, one core, best of 5; target {TARGET / 1e6:.0f} M values/s")
    for name, fn in cases:
        rate = N / best(fn)
        verdict = "meets" if rate >= TARGET else "below"
        print(f"  {name:36s} {rate / 1e6:8.1f} M values/s  ({verdict} the target)")


if __name__ == "__main__":
    main()
