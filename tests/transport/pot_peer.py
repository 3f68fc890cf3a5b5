"""POT's answers to the problems written by tests/transport/test_pot_peer.cpp.

Reads one JSON file (argv[1]) and prints one JSON object with POT's results. Run with the
Python that imports POT (Debian's python3-pot); one process, since importing ot is slow.
"""
import json
import sys

import numpy as np
import ot

with open(sys.argv[1]) as fh:
    req = json.load(fh)

out = {}
p = req["ot"]
a, b = np.array(p["a"]), np.array(p["b"])
C = np.array(p["C"]).reshape(len(a), len(b))
eps, tol = p["epsilon"], p["tolerance"]
out["emd"] = float(ot.emd2(a, b, C, numItermax=10_000_000))
plan_sk = ot.sinkhorn(a, b, C, eps, method="sinkhorn", stopThr=tol, numItermax=1_000_000)
plan_log = ot.sinkhorn(a, b, C, eps, method="sinkhorn_log", stopThr=tol, numItermax=1_000_000)
out["sinkhorn"] = float(np.sum(plan_sk * C))
out["sinkhorn_log"] = float(np.sum(plan_log * C))
out["sinkhorn_plan"] = plan_sk.ravel().tolist()

q = req["one_d"]
out["wasserstein_1d"] = float(ot.wasserstein_1d(np.array(q["x"]), np.array(q["y"]), np.array(q["a"]),
                                                np.array(q["b"]), p=q["p"]))

s = req["sliced"]
d = s["d"]
X, Y = np.array(s["x"]).reshape(-1, d), np.array(s["y"]).reshape(-1, d)
dirs = np.array(s["directions"]).reshape(-1, d).T  # POT takes projections as [d, K]
# POT 0.8.2 divides by n_projections (default 50) even when projections are given.
out["sliced"] = float(ot.sliced_wasserstein_distance(X, Y, np.array(s["a"]), np.array(s["b"]), p=s["p"],
                                                     projections=dirs, n_projections=dirs.shape[1]))

r = req["barycenter"]
H = np.array(r["histograms"]).reshape(r["n"], -1)
M = np.array(r["C"]).reshape(r["n"], r["n"])
out["barycenter"] = ot.bregman.barycenter(H, M, r["epsilon"], weights=np.array(r["lambdas"]),
                                          stopThr=1e-14, numItermax=100_000).tolist()
print(json.dumps(out))
