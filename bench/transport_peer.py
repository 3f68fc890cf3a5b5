"""descent vs POT on the same optimal transport problems, one thread each.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 bench/transport_peer.py \
        build/<dir>/bench/bench_transport [N] [EPS] [D ...]

For each dimension D (default 2 and 10) the bench program draws x ~ U[0,1]^D and
y ~ U[0,1]^D + 0.25 (n = m = N, default 2000, uniform weights), writes them as .npy, times
descent's solvers and prints their costs; this script then times POT's emd2, sinkhorn
(method='sinkhorn') and sinkhorn (method='sinkhorn_log') on the same points, cost =
squared Euclidean / its max, ε = EPS (default 0.01), stopping threshold 1e-9 on both sides (descent's
rule, the L1 row-marginal error checked every iteration, is at least as strict as POT's
L2 column-marginal error checked every 10 iterations). Times are process CPU times (descent:
least of 3 runs; POT: one run), so that other tenants of a shared machine do not count.
Ratios > 1 mean descent is faster.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import ot  # noqa: E402


def timed(f):
    t0 = time.process_time()
    out = f()
    return time.process_time() - t0, out


def main():
    bench = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    eps_arg = sys.argv[3] if len(sys.argv) > 3 else "0.01"
    dims = [int(d) for d in sys.argv[4:]] or [2, 10]
    for d in dims:
        with tempfile.TemporaryDirectory() as tmp:
            ours = json.loads(subprocess.run([bench, "--compare", str(n), str(d), "1", tmp, eps_arg], check=True,
                                             capture_output=True, text=True).stdout)
            x, y = np.load(os.path.join(tmp, "x.npy")), np.load(os.path.join(tmp, "y.npy"))
        C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
        C /= C.max()
        a = np.full(n, 1.0 / n)
        eps, tol = ours["epsilon"], ours["tolerance"]
        t_emd, emd = timed(lambda: ot.emd2(a, a, C, numItermax=100_000_000))
        t_sk, (P_sk, log_sk) = timed(lambda: ot.sinkhorn(a, a, C, eps, method="sinkhorn", stopThr=tol,
                                                         numItermax=100_000, log=True))
        t_log, (P_log, log_log) = timed(lambda: ot.sinkhorn(a, a, C, eps, method="sinkhorn_log", stopThr=tol,
                                                            numItermax=100_000, log=True))
        sk, sk_log = float(np.sum(P_sk * C)), float(np.sum(P_log * C))
        print(f"CPU: {ours.get('cpu', '?')}")
        print(f"n = m = {n}, d = {d}, eps = {eps}, tol = {tol}")
        print(f"  exact:  descent {ours['exact']['seconds']:.3f} s ({ours['exact']['iterations']} pivots), "
              f"POT emd2 {t_emd:.3f} s; ratio POT/descent = {t_emd / ours['exact']['seconds']:.2f}; "
              f"|cost diff| = {abs(ours['exact']['cost'] - emd):.2e}")
        for name in ("sinkhorn", "sinkhorn_log", "sinkhorn_log_eps_scaling"):
            r = ours[name]
            print(f"  descent {name}: {r['seconds']:.3f} s, {r['iterations']} iterations; "
                  f"POT sinkhorn / descent = {t_sk / r['seconds']:.2f}, "
                  f"POT sinkhorn_log / descent = {t_log / r['seconds']:.2f}; "
                  f"|cost diff| vs POT sinkhorn = {abs(r['cost'] - sk):.2e}, vs sinkhorn_log = {abs(r['cost'] - sk_log):.2e}")
        print(f"  POT: emd2 {t_emd:.3f} s, sinkhorn {t_sk:.3f} s ({log_sk.get('niter', '?')} iterations), "
              f"sinkhorn_log {t_log:.3f} s ({log_log.get('niter', '?')} iterations) "
              f"(sinkhorn_log / sinkhorn = {t_log / t_sk:.1f})", flush=True)


if __name__ == "__main__":
    main()
