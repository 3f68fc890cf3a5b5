"""Update-step time of torch.optim (foreach=True and the single-tensor for-loop) against
descent's fused and chained optimizers, one float32 parameter vector of P elements, one
thread on both sides, measured in the same run.

usage: OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 bench/optim_peer.py BENCH_OPTIM [P] [BLOCKS] [ROUNDS]
  BENCH_OPTIM: path of the built bench_optim program.
Prints one line per optimizer: seconds per step for each implementation and the ratio
torch-fastest / descent-fused (or / descent-chain for the optimizers without a fused form:
nadam, radam, adamax, adagrad, rmsprop, adadelta). Times are CPU time of the process on both
sides (the machine may be shared; wall time would count other jobs). torch has no Lion: `LionForeach`
below is Chen et al.'s update written with torch._foreach_* calls the way torch.optim's
foreach optimizers are. The chained form writes the update into the gradient buffer,
so its figure includes copying the gradient back each step (printed alone too); the fused
form reads the gradient only and needs no copy.
"""
import json
import statistics
import subprocess
import sys
import time

import torch

torch.set_num_threads(1)


class LionForeach(torch.optim.Optimizer):
    """Lion (Chen et al. 2023, Alg. 2) with decoupled weight decay; foreach or a per-tensor loop."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, foreach=True):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay, foreach=foreach))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            grads = [p.grad for p in params]
            for p in params:
                if not self.state[p]:
                    self.state[p]["exp_avg"] = torch.zeros_like(p)
            avgs = [self.state[p]["exp_avg"] for p in params]
            b1, b2 = group["betas"]
            lr, wd = group["lr"], group["weight_decay"]
            if group["foreach"]:
                torch._foreach_mul_(params, 1 - lr * wd)
                update = torch._foreach_mul(avgs, b1)
                torch._foreach_add_(update, grads, alpha=1 - b1)
                update = [u.sign_() for u in update]
                torch._foreach_add_(params, update, alpha=-lr)
                torch._foreach_mul_(avgs, b2)
                torch._foreach_add_(avgs, grads, alpha=1 - b2)
            else:
                for p, g, m in zip(params, grads, avgs):
                    p.mul_(1 - lr * wd)
                    p.add_((m * b1).add_(g, alpha=1 - b1).sign_(), alpha=-lr)
                    m.mul_(b2).add_(g, alpha=1 - b2)


NAMES = ("sgd", "momentum", "adam", "adamw", "lion", "nadam", "radam", "adamax", "adagrad", "rmsprop", "adadelta")


def torch_step_seconds(name, foreach, p, blocks):
    torch.manual_seed(0)
    param = torch.nn.Parameter(torch.randn(p, dtype=torch.float32))
    param.grad = torch.randn(p, dtype=torch.float32) * 1e-3
    make = {
        "sgd": lambda: torch.optim.SGD([param], lr=1e-3, foreach=foreach),
        "momentum": lambda: torch.optim.SGD([param], lr=1e-3, momentum=0.9, foreach=foreach),
        "adam": lambda: torch.optim.Adam([param], lr=1e-3, foreach=foreach),
        "adamw": lambda: torch.optim.AdamW([param], lr=1e-3, weight_decay=1e-2, foreach=foreach),
        "lion": lambda: LionForeach([param], lr=1e-4, weight_decay=1e-2, foreach=foreach),
        "nadam": lambda: torch.optim.NAdam([param], lr=2e-3, foreach=foreach),
        "radam": lambda: torch.optim.RAdam([param], lr=1e-3, foreach=foreach),
        "adamax": lambda: torch.optim.Adamax([param], lr=2e-3, foreach=foreach),
        "adagrad": lambda: torch.optim.Adagrad([param], lr=1e-2, foreach=foreach),
        "rmsprop": lambda: torch.optim.RMSprop([param], lr=1e-2, foreach=foreach),
        "adadelta": lambda: torch.optim.Adadelta([param], lr=1.0, foreach=foreach),
    }[name]
    opt = make()
    for _ in range(10):
        opt.step()
    times = []
    for _ in range(blocks):
        t0 = time.process_time()
        for _ in range(20):
            opt.step()
        times.append((time.process_time() - t0) / 20)
    return min(times)


def main():
    bench = sys.argv[1]
    p = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    blocks = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    # On a shared machine: both sides alternate within each round, every figure is the
    # fastest block (the least disturbed), and the ratio printed is the median over rounds.
    best = {}
    ratios = {name: [] for name in NAMES}
    for _ in range(rounds):
        ours = {}
        out = subprocess.run([bench, "--step-times", str(p), str(blocks)], check=True, capture_output=True, text=True)
        for line in out.stdout.splitlines():
            r = json.loads(line)
            ours[(r["optimizer"], r["form"])] = r["seconds_per_step"]
        for name in ratios:
            tf = torch_step_seconds(name, True, p, blocks)
            tl = torch_step_seconds(name, False, p, blocks)
            chain = ours[(name, "chain")]
            row = {"torch_foreach": tf, "torch_loop": tl, "fused": ours.get((name, "fused"), chain), "chain": chain}
            ratios[name].append(min(tf, tl) / row["fused"])
            for k, v in row.items():
                best[(name, k)] = min(best.get((name, k), float("inf")), v)
        best[("copy", "copy")] = min(best.get(("copy", "copy"), float("inf")), ours[("gradient_copy", "copy")])
    print(f"P = {p} float32, 1 thread, CPU time, fastest of {blocks} blocks of 20 steps, {rounds} rounds; torch {torch.__version__}")
    print(f"descent gradient copy alone: {best[('copy', 'copy')] * 1e3:.3f} ms (included in 'descent chain')")
    print(f"{'optimizer':10s} {'torch foreach':>14s} {'torch loop':>11s} {'descent fused':>14s} "
          f"{'descent chain':>14s} {'torch best / descent best (median, min..max over rounds)':>57s}")
    for name, rs in ratios.items():
        b = lambda k: best[(name, k)] * 1e3
        fused = f"{b('fused'):11.3f} ms" if b('fused') != b('chain') else f"{'-':>14s}"
        print(f"{name:10s} {b('torch_foreach'):11.3f} ms {b('torch_loop'):8.3f} ms {fused} "
              f"{b('chain'):11.3f} ms {statistics.median(rs):14.2f}x ({min(rs):.2f}..{max(rs):.2f})")


if __name__ == "__main__":
    main()
