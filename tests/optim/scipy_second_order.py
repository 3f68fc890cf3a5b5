"""scipy.optimize peers for tests/optim/test_second_order.cpp.

usage: scipy_second_order.py newton_cg | least_squares
  Newton-CG (scipy.optimize.minimize, method="Newton-CG", exact Hessian-vector products) on
  the 4-D extended Rosenbrock from (-1.2, 1, -1.2, 1) and on the logistic regression of
  logistic_data() from zero; prints per problem one line: "nit x_0 x_1 ...".
least_squares: scipy.optimize.least_squares (method "lm", MINPACK, and "trf") on the
  curve fit of decay_data() from (1, 1, 0), tolerances 1e-15; prints per method one line:
  "nfev cost x_0 x_1 x_2".
Everything is float64; the data are closed-form (no random generator), the same formulas as
the C++ test.
"""
import sys

import numpy as np
from scipy.optimize import minimize, rosen, rosen_der, rosen_hess_prod


def logistic_data(n=200, d=5, l2=1e-2):
    i = np.arange(n, dtype=np.float64)[:, None]
    j = np.arange(d, dtype=np.float64)[None, :]
    x = np.sin(1.3 * i + 0.7 * j + 0.1 * i * j)
    w = np.array([1.0, -2.0, 0.5, 1.5, -1.0])[:d]
    y = (x @ w + 0.5 * np.sin(3.7 * i[:, 0]) > 0).astype(np.float64)
    return x, y, l2


def logistic(x, y, l2):
    n = x.shape[0]

    def f(t):
        z = x @ t
        return np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * t @ t

    def g(t):
        p = 1.0 / (1.0 + np.exp(-(x @ t)))
        return x.T @ (p - y) / n + l2 * t

    def hp(t, v):
        p = 1.0 / (1.0 + np.exp(-(x @ t)))
        return x.T @ (p * (1 - p) * (x @ v)) / n + l2 * v

    return f, g, hp


def decay_data(n=50):
    """y = a exp(-b t) + c at t_i = i/10 with a = 2.5, b = 1.3, c = 0.5, plus 0.05 sin(7.1 i)."""
    i = np.arange(n, dtype=np.float64)
    t = i / 10
    return t, 2.5 * np.exp(-1.3 * t) + 0.5 + 0.05 * np.sin(7.1 * i)


def decay_residual(t, y):
    def r(x):
        return x[0] * np.exp(-x[1] * t) + x[2] - y

    def j(x):
        e = np.exp(-x[1] * t)
        return np.stack([e, -x[0] * t * e, np.ones_like(t)], axis=1)

    return r, j


def fmt(r):
    return " ".join([str(r.nit)] + ["%.17g" % v for v in r.x])


def main():
    if sys.argv[1] == "least_squares":
        from scipy.optimize import least_squares
        r, j = decay_residual(*decay_data())
        for method in ("lm", "trf"):
            s = least_squares(r, np.array([1.0, 1.0, 0.0]), jac=j, method=method, xtol=1e-15, ftol=1e-15,
                              gtol=1e-15)
            print(" ".join([str(s.nfev), "%.17g" % s.cost] + ["%.17g" % v for v in s.x]))
        return
    if sys.argv[1] != "newton_cg":
        raise SystemExit("unknown mode " + sys.argv[1])
    opts = {"xtol": 1e-14, "maxiter": 1000}
    r = minimize(rosen, np.array([-1.2, 1.0, -1.2, 1.0]), method="Newton-CG", jac=rosen_der,
                 hessp=rosen_hess_prod, options=opts)
    print(fmt(r))
    f, g, hp = logistic(*logistic_data())
    r = minimize(f, np.zeros(5), method="Newton-CG", jac=g, hessp=hp, options=opts)
    print(fmt(r))


if __name__ == "__main__":
    main()
