#!/usr/bin/env python3
"""CNN speed: descent's training step and Hessian-vector product against PyTorch's (CPU).

The CNN of `descent train --model cnn`: Conv2d(1, c1, 5, padding 2)-ReLU-MaxPool2d(2)-
Conv2d(c1, c2, 5, padding 2)-ReLU-MaxPool2d(2)-Flatten-Linear(49 c2, 256)-ReLU-Linear(256, 10),
float32, 1x28x28 inputs, batch 128, for c1/c2 = 16/32 (the README's) and 32/64 (the default).

  step: forward, cross-entropy, backward, SGD with momentum 0.9 (issue 14 target: >= 1.5x).
  HVP:  H v of the mean loss over 128 examples; PyTorch by double backward (grad with
        create_graph, then grad of <g, v>); descent by ModelObjective::hessian_vector_product
        (everything recomputed) and by ModelHessianOperator (the probes' operator, whose
        products reuse their v-independent state) (target: >= 2x).
  threads: descent's step with 2 threads against 1, in wall time (target: >= 1.7x).

One thread each (OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1, torch.set_num_threads(1)); both
sides count the thread's CPU time (Google Benchmark's cpu_time; time.thread_time here), the
minimum over repeats, so other load on a shared machine is not counted. Prints the CPU model
and the instruction sets in use.

usage: /usr/bin/python3 bench/cnn_peer.py BUILD_DIR [--repeats 5]
"""
import argparse
import json
import os
import subprocess
import time

import torch
import torch.nn.functional as F

BATCH = 128


def cnn(c1, c2):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, c1, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(c1, c2, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(49 * c2, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))


def best_seconds(fn, repeats, per_block):
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.thread_time()
        for _ in range(per_block):
            fn()
        best = min(best, (time.thread_time() - t0) / per_block)
    return best


def torch_step(c1, c2, repeats):
    model = cnn(c1, c2)
    x = torch.randn(10 * BATCH, 1, 28, 28)
    y = torch.randint(0, 10, (10 * BATCH,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    state = {"step": 0}

    def step():
        i = (state["step"] % 10) * BATCH
        state["step"] += 1
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i:i + BATCH]), y[i:i + BATCH]).backward()
        opt.step()

    return best_seconds(step, repeats, 10)


def torch_hvp(c1, c2, repeats):
    model = cnn(c1, c2)
    x = torch.randn(BATCH, 1, 28, 28)
    y = torch.randint(0, 10, (BATCH,))
    params = list(model.parameters())
    v = [torch.randn_like(p) for p in params]

    def hvp():
        loss = F.cross_entropy(model(x), y)
        g = torch.autograd.grad(loss, params, create_graph=True)
        torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), params)

    return best_seconds(hvp, repeats, 5)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = json.loads(subprocess.run(
        [os.path.join(args.build_dir, "bench", "bench_cnn"), "--benchmark_format=json",
         f"--benchmark_repetitions={args.repeats}", "--benchmark_min_time=0.5"],
        env=env, check=True, capture_output=True, text=True).stdout)
    ours = {}
    for b in out["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name, *nums = b["run_name"].split("/")
        key = (name, *(int(n) for n in nums))
        cpu, real = b["cpu_time"] * 1e-3, b["real_time"] * 1e-3  # milliseconds -> seconds
        old = ours.get(key, (float("inf"), float("inf")))
        ours[key] = (min(old[0], cpu), min(old[1], real))
    ctx = out["context"]
    print(f"CPU: {ctx.get('cpu', cpu_model())}\n"
          f"PyTorch {torch.__version__} (oneDNN convolutions: {torch.backends.mkldnn.is_available()}), 1 thread")
    print(f"{'workload':<44}{'descent ms':>12}{'torch ms':>10}{'ratio':>8}{'target':>8}")
    for c1, c2 in ((16, 32), (32, 64)):
        t = torch_step(c1, c2, args.repeats)
        d = ours[("BM_CnnStep", c1, c2, 1)][0]
        print(f"{f'CNN {c1}/{c2} training step, batch 128':<44}{d * 1e3:>12.2f}{t * 1e3:>10.2f}{t / d:>7.2f}x{1.5:>7.1f}x")
    for c1, c2 in ((16, 32), (32, 64)):
        t = torch_hvp(c1, c2, args.repeats)
        for name, label in (("BM_CnnHvp", "objective"), ("BM_CnnHvpOperator", "operator")):
            d = ours[(name, c1, c2, 1)][0]
            print(f"{f'CNN {c1}/{c2} HVP f32, 128 examples ({label})':<44}{d * 1e3:>12.2f}{t * 1e3:>10.2f}"
                  f"{t / d:>7.2f}x{2.0:>7.1f}x")
    for c1, c2 in ((16, 32), (32, 64)):
        one, two = ours[("BM_CnnStep", c1, c2, 1)][1], ours[("BM_CnnStep", c1, c2, 2)][1]
        print(f"{f'CNN {c1}/{c2} step, 2 threads / 1 (wall)':<44}{two * 1e3:>12.2f}{one * 1e3:>10.2f}"
              f"{one / two:>7.2f}x{1.7:>7.1f}x")


if __name__ == "__main__":
    main()
