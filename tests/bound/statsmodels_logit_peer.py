"""statsmodels' Logit and MNLogit on the problems written by tests/bound/test_peers.cpp.

Reads one JSON file (argv[1]) and prints one JSON object with the fitted coefficients.
Run with the Python that imports statsmodels (Debian's python3-statsmodels).
"""
import json
import sys

import numpy as np
import statsmodels.api as sm

with open(sys.argv[1]) as fh:
    req = json.load(fh)
out = {}
b = req["binary"]
X = np.array(b["X"]).reshape(b["n"], b["d"])
y = np.array(b["y"])
res = sm.Logit(y, X).fit(method="newton", tol=1e-14, maxiter=200, disp=0)
out["logit"] = res.params.tolist()
m = req["multiclass"]
X = np.array(m["X"]).reshape(m["n"], m["d"])
labels = np.array(m["labels"])
res = sm.MNLogit(labels, X).fit(method="newton", tol=1e-14, maxiter=200, disp=0)
# params [d, C-1], columns for classes 1..C-1 against class 0.
out["mnlogit"] = np.asarray(res.params).ravel().tolist()
print(json.dumps(out))
