#!/usr/bin/env python3
"""Autodiff: descent vs PyTorch (Debian's python3-torch, CPU), MLP 784-256-256-10, batch 128,
float32, ReLU, softmax cross-entropy.

Prints: gemm GFLOP/s of descent's matmul next to OpenBLAS's own (cblas_sgemm) on the MLP's
shapes; the time of one gradient and of one HVP, each as a speed ratio to PyTorch
(loss.backward(); double backward for the HVP); and HVP time / gradient time. Targets:
gradient >= 1.0x PyTorch's speed, HVP >= 1.5x, HVP/gradient <= 3.

Both sides run with the same thread count (OPENBLAS_NUM_THREADS for descent,
torch.set_num_threads for PyTorch; default 1). Times are the minimum over rounds of the
mean time per call within a block, the blocks of the functions compared interleaved in each
round (robust to other load on the machine); with one thread
they are the process's CPU time on both sides (CLOCK_PROCESS_CPUTIME_ID, time.process_time:
all threads count, PyTorch's autograd helper threads included), so that time spent
descheduled on a shared machine is not counted; --wall uses wall-clock
time instead (always, with more than one thread).

usage: /usr/bin/python3 bench/autodiff_peer.py BUILD_DIR [--threads N] [--blocks B] [--wall] [--json OUT]
"""
import argparse
import json
import os
import subprocess
import sys
import time


def _threads_from_argv():
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


# Thread pools are sized when torch is imported: fix them first (both sides the same).
os.environ["OMP_NUM_THREADS"] = _threads_from_argv()
os.environ["OPENBLAS_NUM_THREADS"] = _threads_from_argv()
os.environ["MKL_NUM_THREADS"] = _threads_from_argv()
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


CLOCK = time.perf_counter


def min_block_seconds(fs, rounds, block_seconds=0.05):
    """Minimum over rounds of the mean time per call within a block; the functions' blocks
    are interleaved in each round, so a burst of other load hits all of them alike."""
    per_block = []
    for f in fs:
        f()
        n = 1
        while True:
            t0 = CLOCK()
            for _ in range(n):
                f()
            if CLOCK() - t0 >= block_seconds or n >= (1 << 20):
                break
            n *= 2
        per_block.append(n)
    best = [float("inf")] * len(fs)
    for _ in range(rounds):
        for i, f in enumerate(fs):
            t0 = CLOCK()
            for _ in range(per_block[i]):
                f()
            best[i] = min(best[i], (CLOCK() - t0) / per_block[i])
    return best


def mlp(n, d, h, k, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, k, (n,), generator=g)
    params = []
    for a, b in ((d, h), (h, h), (h, k)):
        params.append((torch.randn(a, b, generator=g) / a ** 0.5).requires_grad_())
        params.append(torch.zeros(b).requires_grad_())

    def loss(p):
        a = F.relu(x @ p[0] + p[1])
        a = F.relu(a @ p[2] + p[3])
        return F.cross_entropy(a @ p[4] + p[5], y)

    return params, loss


def torch_times(blocks):
    params, loss = mlp(128, 784, 256, 10)
    v = [torch.randn_like(p) for p in params]

    def gradient():
        for p in params:
            p.grad = None
        loss(params).backward()

    def hvp():
        g = torch.autograd.grad(loss(params), params, create_graph=True)
        dot = sum((gi * vi).sum() for gi, vi in zip(g, v))
        return torch.autograd.grad(dot, params)

    tparams, tloss = mlp(32, 784, 32, 10)

    def sgd_step():
        for p in tparams:
            p.grad = None
        tloss(tparams).backward()
        with torch.no_grad():
            for p in tparams:
                p.add_(p.grad, alpha=-1e-3)

    t = min_block_seconds([gradient, hvp, sgd_step], blocks)
    return {"gradient_s": t[0], "hvp_s": t[1], "tiny_sgd_step_s": t[2]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--wall", action="store_true", help="wall-clock time even with one thread")
    args = ap.parse_args()
    global CLOCK
    cpu = args.threads == 1 and not args.wall
    CLOCK = time.process_time if cpu else time.perf_counter

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    exe = os.path.join(args.build_dir, "bench", "bench_autodiff")
    ours = json.loads(subprocess.run([exe, "--compare", str(args.blocks), "cpu" if cpu else "wall"], env=env, check=True,
                                     capture_output=True, text=True).stdout)
    peer = torch_times(args.blocks)

    print(f"MLP 784-256-256-10, batch 128, float32, {args.threads} thread(s); torch {torch.__version__};"
          f" {'process CPU' if cpu else 'wall-clock'} time")
    print("\ngemm GFLOP/s (descent matmul vs cblas_sgemm, same shapes)")
    for g in ours["gemm"]:
        print(f"  {g['name']:<18} descent {g['descent_gflops']:8.2f}   openblas {g['openblas_gflops']:8.2f}"
              f"   ratio {g['descent_gflops'] / g['openblas_gflops']:.2f}")
    grad_ratio = peer["gradient_s"] / ours["gradient_s"]
    hvp_ours = ours["hvp_automatic_s"]
    hvp_ratio = peer["hvp_s"] / hvp_ours
    print("\ntimes (ms) and speed ratios (PyTorch time / descent time; > 1 means descent is faster)")
    print(f"  gradient            descent {1e3 * ours['gradient_s']:8.3f}   torch {1e3 * peer['gradient_s']:8.3f}"
          f"   speed ratio {grad_ratio:5.2f}x  (target >= 1.0)")
    print(f"  HVP (automatic)     descent {1e3 * hvp_ours:8.3f}   torch {1e3 * peer['hvp_s']:8.3f}"
          f"   speed ratio {hvp_ratio:5.2f}x  (target >= 1.5)")
    print(f"    forward-over-reverse {1e3 * ours['hvp_forward_over_reverse_s']:8.3f} ms,"
          f" reverse-over-reverse {1e3 * ours['hvp_reverse_over_reverse_s']:8.3f} ms")
    print(f"  HVP / gradient      descent {hvp_ours / ours['gradient_s']:5.2f}"
          f"   torch {peer['hvp_s'] / peer['gradient_s']:5.2f}   (target <= 3)")
    print(f"\ntiny MLP 784-32-32-10, batch 32, one SGD step: descent {1e3 * ours['tiny_sgd_step_s']:.4f} ms,"
          f" torch {1e3 * peer['tiny_sgd_step_s']:.4f} ms, speed ratio"
          f" {peer['tiny_sgd_step_s'] / ours['tiny_sgd_step_s']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"descent": ours, "torch": peer, "threads": args.threads}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
