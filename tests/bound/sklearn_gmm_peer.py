"""scikit-learn's GaussianMixture from a given start, for tests/bound/test_peers.cpp and
bench/bound.cpp.

argv[1]: folder with X.npy [N, D], weights.npy [K], means.npy [K, D], covariances.npy
[K, D, D]; argv[2]: covariance type (full, diag, spherical); argv[3]: iterations; argv[4]:
reg_covar; argv[5] (optional): repeats for timing. Runs exactly `iterations` EM steps
(tol = 0) and prints the total log-likelihood at the final parameters, the means, and
the minimum process CPU time of a fit over the repeats.
"""
import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

folder, cov_type, iterations, reg = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 1
X = np.load(f"{folder}/X.npy")
w = np.load(f"{folder}/weights.npy")
mu = np.load(f"{folder}/means.npy")
cov = np.load(f"{folder}/covariances.npy")
if cov_type == "full":
    prec = np.linalg.inv(cov)
elif cov_type == "diag":
    prec = 1.0 / np.diagonal(cov, axis1=1, axis2=2)
else:
    prec = 1.0 / cov[:, 0, 0]
best = float("inf")
for _ in range(repeats):
    gm = GaussianMixture(n_components=len(w), covariance_type=cov_type, tol=0.0, reg_covar=reg,
                         max_iter=iterations, weights_init=w, means_init=mu, precisions_init=prec)
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    best = min(best, time.process_time() - t0)
print(json.dumps({"log_likelihood": float(gm.score(X) * X.shape[0]), "n_iter": int(gm.n_iter_),
                  "means": gm.means_.ravel().tolist(), "cpu_seconds": best}))
