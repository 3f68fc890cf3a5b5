"""GMM fit time and final log-likelihood, descent vs scikit-learn, from the same start.

Usage: bound_peer.py BENCH_BOUND [N] [ITERATIONS] [REPEATS]
Runs `BENCH_BOUND --gmm-compare N ITERATIONS REPEATS DIR` (Fashion-MNIST PCA-50, K = 10,
full covariances, k-means++ start written to DIR), then scikit-learn's GaussianMixture on
the same files (tests/bound/sklearn_gmm_peer.py, tol = 0, the same number of EM steps).
CPU time, min over REPEATS, with the thread count of OPENBLAS_NUM_THREADS /
OMP_NUM_THREADS (set both to 1 for the 1-thread figure). Prints one JSON object.
"""
import json
import os
import subprocess
import sys
import tempfile

bench = sys.argv[1]
n = sys.argv[2] if len(sys.argv) > 2 else "60000"
iterations = sys.argv[3] if len(sys.argv) > 3 else "50"
repeats = sys.argv[4] if len(sys.argv) > 4 else "3"
here = os.path.dirname(os.path.abspath(__file__))
with tempfile.TemporaryDirectory() as d:
    ours = json.loads(subprocess.run([bench, "--gmm-compare", n, iterations, repeats, d], check=True,
                                     capture_output=True, text=True).stdout)
    peer = os.path.join(here, "..", "tests", "bound", "sklearn_gmm_peer.py")
    theirs = json.loads(subprocess.run([sys.executable, peer, d, "full", iterations, "1e-06", repeats], check=True,
                                       capture_output=True, text=True).stdout)
print(json.dumps({
    "n": ours["n"], "d": ours["d"], "k": ours["k"], "iterations": int(iterations),
    "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
    "omp_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
    "descent": {"log_likelihood": ours["log_likelihood"], "cpu_seconds": ours["cpu_seconds"]},
    "sklearn": {"log_likelihood": theirs["log_likelihood"], "cpu_seconds": theirs["cpu_seconds"]},
    "relative_log_likelihood_difference": abs(ours["log_likelihood"] - theirs["log_likelihood"]) /
                                          abs(theirs["log_likelihood"]),
    "speedup": theirs["cpu_seconds"] / ours["cpu_seconds"],
    "cpu": ours["cpu"],
}, indent=1))
