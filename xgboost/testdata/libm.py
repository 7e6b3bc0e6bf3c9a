"""Writes C's expf and logf, as XGBoost calls them, for libm_internal_test.go:
    python libm.py OUTDIR
writes OUTDIR/expf.bin and OUTDIR/logf.bin, float32 inputs and outputs as
big-endian uint32 pairs.
"""
import ctypes
import sys

import numpy as np

OUT = sys.argv[1]
RNG = np.random.default_rng(7)
libm = ctypes.CDLL("libm.so.6")
for name, lo, hi in (("expf", -104.0, 89.0), ("logf", 1e-30, 1e4)):
    fn = getattr(libm, name)
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    if name == "expf":
        xs = np.concatenate([RNG.uniform(lo, hi, 100000), RNG.uniform(-12, 12, 100000)])
    else:
        xs = np.concatenate([np.exp(RNG.uniform(np.log(lo), np.log(hi), 100000)), RNG.uniform(0, 1, 100000)])
    xs = xs.astype(np.float32)
    ys = np.array([fn(x) for x in xs.tolist()], dtype=np.float32)
    np.stack([xs.view(np.uint32), ys.view(np.uint32)], axis=1).astype(">u4").tofile(f"{OUT}/{name}.bin")
