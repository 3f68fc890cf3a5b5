"""NumPy/SciPy peers for tests/dynamics.

usage: numpy_dynamics.py euler_maruyama | lyapunov
euler_maruyama: the Euler-Maruyama path of dX = -grad f(X) dt + sqrt(eta) Sigma(X)^{1/2} dW for
  the 2-D double well f(x, y) = (x^2 - 1)^2 / 4 + y^2 / 2 + x y / 4 with
  Sigma(x, y) = [[1 + x^2, x y / 2], [x y / 2, 1 + y^2 / 2]] (square root by eigh), eta = 0.3,
  dt = 0.01, X_0 = (-1, 0.5), and the increments dW[k, i] = sqrt(dt) sin(1.7 k + 2.3 i + 0.4 k i),
  k = 0..199; prints the 201 states, one "x y" line each.
lyapunov: scipy.linalg.solve_continuous_lyapunov(A, Q) and solve_discrete_lyapunov(0.4 A / |A|_2, Q)
  for the 6x6 A[i, j] = sin(1.1 i + 0.7 j + 0.3 i j) + 4 delta_ij and the symmetric
  Q = B B^T, B[i, j] = cos(0.9 i - 1.3 j); prints the two solutions row by row, one line per
  matrix.
Everything is float64 and closed-form: the same formulas as the C++ tests.
"""
import sys

import numpy as np


def em():
    eta, dt, steps = 0.3, 0.01, 200
    k = np.arange(steps, dtype=np.float64)[:, None]
    i = np.arange(2, dtype=np.float64)[None, :]
    dw = np.sqrt(dt) * np.sin(1.7 * k + 2.3 * i + 0.4 * k * i)
    x = np.array([-1.0, 0.5])
    out = [x.copy()]
    for s in range(steps):
        g = np.array([x[0] * (x[0] ** 2 - 1) + x[1] / 4, x[1] + x[0] / 4])
        sig = np.array([[1 + x[0] ** 2, x[0] * x[1] / 2], [x[0] * x[1] / 2, 1 + x[1] ** 2 / 2]])
        lam, v = np.linalg.eigh(sig)
        root = v @ np.diag(np.sqrt(np.maximum(lam, 0))) @ v.T
        x = x - dt * g + np.sqrt(eta) * (root @ dw[s])
        out.append(x.copy())
    for x in out:
        print(" ".join(repr(float(v)) for v in x))


def lyapunov():
    from scipy.linalg import solve_continuous_lyapunov, solve_discrete_lyapunov
    n = 6
    i = np.arange(n, dtype=np.float64)[:, None]
    j = np.arange(n, dtype=np.float64)[None, :]
    a = np.sin(1.1 * i + 0.7 * j + 0.3 * i * j) + 4 * np.eye(n)
    b = np.cos(0.9 * i - 1.3 * j)
    q = b @ b.T
    xc = solve_continuous_lyapunov(a, q)
    ad = 0.4 * a / np.linalg.norm(a, 2)
    xd = solve_discrete_lyapunov(ad, q)
    for x in (xc, xd):
        print(" ".join(repr(float(v)) for v in x.ravel()))


if __name__ == "__main__":
    {"euler_maruyama": em, "lyapunov": lyapunov}[sys.argv[1]]()
