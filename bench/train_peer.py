#!/usr/bin/env python3
"""Training throughput: descent's training step against PyTorch's (Debian python3-torch, CPU).

One step = forward, softmax cross-entropy, backward, SGD with momentum 0.9 on an MLP
784-H-H-10, float32, ReLU. Two shapes (issue 7): H = 256 at batch 128 (target: ratio >= 1.0)
and H = 32 at batch 32, where per-operation overhead dominates (target: >= 5x).

Both sides use one thread (OPENBLAS_NUM_THREADS=1 for descent, torch.set_num_threads(1)) and
count the thread's CPU time (Google Benchmark's cpu_time; time.thread_time here), so other
load on a shared machine is not counted. PyTorch's figure is the minimum over blocks.

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/train_peer.py BUILD_DIR [--blocks 10]
"""
import argparse
import json
import os
import subprocess
import time

import torch
import torch.nn.functional as F


def torch_step_seconds(hidden, batch, blocks):
    torch.manual_seed(0)
    n = 60 * batch
    x = torch.randn(n, 784)
    y = torch.randint(0, 10, (n,))
    model = torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    state = {"step": 0}

    def step():
        i = (state["step"] % 60) * batch
        state["step"] += 1
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[i:i + batch]), y[i:i + batch])
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    per_block = 50
    best = float("inf")
    for _ in range(blocks):
        t0 = time.thread_time()
        for _ in range(per_block):
            step()
        best = min(best, (time.thread_time() - t0) / per_block)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--blocks", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(1)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([os.path.join(args.build_dir, "bench", "bench_train"), "--benchmark_format=json",
                          "--benchmark_filter=BM_TrainStep/",
                          "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true"],
                         env=env, check=True, capture_output=True, text=True).stdout
    ours = {}
    report = json.loads(out)
    print(f"CPU: {report['context'].get('cpu', '?')}; PyTorch {torch.__version__}, 1 thread")
    for b in report["benchmarks"]:
        if b.get("aggregate_name") == "median" and b["run_name"].startswith("BM_TrainStep/"):
            hidden, batch = (int(v) for v in b["run_name"].split("/")[1:3])
            ours[(hidden, batch)] = b["cpu_time"] * 1e-6  # microseconds -> seconds
    print(f"{'MLP':<16}{'batch':>6}{'descent ms/step':>17}{'torch ms/step':>15}{'speed ratio':>13}{'target':>8}")
    for (hidden, batch), target in (((256, 128), 1.0), ((32, 32), 5.0)):
        t = torch_step_seconds(hidden, batch, args.blocks)
        d = ours[(hidden, batch)]
        print(f"784-{hidden}-{hidden}-10{batch:>6}{d * 1e3:>17.4f}{t * 1e3:>15.4f}{t / d:>12.2f}x{target:>7.1f}x")


if __name__ == "__main__":
    main()
