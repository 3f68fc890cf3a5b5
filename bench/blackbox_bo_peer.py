#!/usr/bin/env python3
"""Bayesian optimization: descent (GP Matern-5/2 + EI) vs optuna's TPE (Debian
python3-optuna) vs random search, on Branin and Hartmann-6; 50 evaluations, 20 seeds,
all in one run. Claim (issue 5): descent's median final simple regret <= 1/5 of TPE's on
Branin and <= 1/2 of TPE's on Hartmann-6.

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/blackbox_bo_peer.py BUILD_DIR OUT_DIR
writes OUT_DIR/bo_regret.csv, bo_summary.json, bo_branin.png, bo_hartmann6.png
"""
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
SEEDS, BUDGET = 20, 50


def branin(x):
    a, b, c, r, s, t = 1.0, 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s


ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann6(x):
    x = np.asarray(x)
    return float(-np.sum(ALPHA * np.exp(-np.sum(A * (x - P) ** 2, axis=1))))


PROBLEMS = {
    "branin": (branin, [(-5.0, 10.0), (0.0, 15.0)], 0.397887357729739, 0.2),
    "hartmann6": (hartmann6, [(0.0, 1.0)] * 6, -3.32236801141551, 0.5),
}


def best_so_far(values, fstar):
    return list(np.minimum.accumulate(np.asarray(values)) - fstar)


def run_tpe(f, box, fstar, seed):
    def objective(trial):
        return f([trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(box)])
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=BUDGET)
    return best_so_far([t.value for t in study.trials], fstar)


def run_random(f, box, fstar, seed):
    rng = np.random.RandomState(seed)
    lo, hi = np.array(box).T
    return best_so_far([f(rng.uniform(lo, hi)) for _ in range(BUDGET)], fstar)


def run_descent(build, name):
    exe = os.path.join(build, "bench", "bench_blackbox")
    out = subprocess.run([exe, "--bo-runs", name, str(SEEDS), str(BUDGET)], check=True, capture_output=True, text=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    return [r["regret"] for r in rows], statistics.median(r["seconds"] for r in rows)


def main():
    build, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    summary, csv = {}, ["problem,method,seed,evaluation,regret"]
    for name, (f, box, fstar, ratio) in PROBLEMS.items():
        curves = {}
        curves["descent-bo"], secs = run_descent(build, name)
        t0 = time.perf_counter()
        curves["optuna-tpe"] = [run_tpe(f, box, fstar, s) for s in range(SEEDS)]
        tpe_secs = (time.perf_counter() - t0) / SEEDS
        curves["random"] = [run_random(f, box, fstar, s) for s in range(SEEDS)]
        for method, runs in curves.items():
            for s, c in enumerate(runs):
                for i, v in enumerate(c):
                    csv.append(f"{name},{method},{s},{i + 1},{v:.9e}")
        final = {m: float(statistics.median(c[-1] for c in runs)) for m, runs in curves.items()}
        summary[name] = dict(median_final_regret=final, descent_over_tpe=final["descent-bo"] / final["optuna-tpe"],
                             required_ratio=ratio, passed=bool(final["descent-bo"] <= ratio * final["optuna-tpe"]),
                             descent_seconds_per_run=secs, tpe_seconds_per_run=tpe_secs)
        print(name, json.dumps(summary[name]))
        dat = os.path.join(out, f"bo_{name}.dat")
        with open(dat, "w") as fh:
            for i in range(BUDGET):
                meds = [statistics.median(c[i] for c in curves[m]) for m in ("descent-bo", "optuna-tpe", "random")]
                fh.write(f"{i + 1} " + " ".join(f"{max(v, 1e-12):.6e}" for v in meds) + "\n")
        script = f"""
set terminal pngcairo size 800,450
set output '{out}/bo_{name}.png'
set format y '%g'
set logscale y
set xlabel 'evaluations'
set ylabel 'median simple regret (20 seeds)'
set title '{name}: GP-EI (descent) vs TPE (optuna) vs random search'
plot '{dat}' using 1:2 with lines lw 2 title 'descent BO', '' using 1:3 with lines lw 2 title 'optuna TPE', '' using 1:4 with lines lw 2 title 'random'
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=False)
    with open(os.path.join(out, "bo_regret.csv"), "w") as fh:
        fh.write("\n".join(csv) + "\n")
    with open(os.path.join(out, "bo_summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2)
    ok = all(s["passed"] for s in summary.values())
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
