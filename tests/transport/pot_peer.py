"""POT's answers on a problem written by tests/transport: prints one JSON object.

Input file: line 1 "n m epsilon tolerance", line 2 the n weights a, line 3 the m weights
b, then n lines of the cost matrix. Run with the Python that imports POT (Debian's
python3-pot).
"""
import json
import sys

import numpy as np
import ot

with open(sys.argv[1]) as fh:
    n, m, eps, tol = fh.readline().split()
    n, m, eps, tol = int(n), int(m), float(eps), float(tol)
    a = np.array(fh.readline().split(), dtype=np.float64)
    b = np.array(fh.readline().split(), dtype=np.float64)
    C = np.loadtxt(fh, dtype=np.float64, ndmin=2).reshape(n, m)

plan_emd, log = ot.emd(a, b, C, numItermax=10_000_000, log=True)
plan_sk = ot.sinkhorn(a, b, C, eps, method="sinkhorn", stopThr=tol, numItermax=1_000_000)
plan_log = ot.sinkhorn(a, b, C, eps, method="sinkhorn_log", stopThr=tol, numItermax=1_000_000)
print(json.dumps({
    "emd": float(np.sum(plan_emd * C)),
    "sinkhorn": float(np.sum(plan_sk * C)),
    "sinkhorn_log": float(np.sum(plan_log * C)),
    "sinkhorn_plan": plan_sk.ravel().tolist(),
}))
