#!/usr/bin/python3
"""A whole `descent train` default run against the same recipe in PyTorch, over several seeds.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/train_run_peer.py build/release/apps/descent/descent [--seeds 5]

The recipe (`descent train` with no flags; src/train/trainer.cpp): Fashion-MNIST, 60,000
training and 10,000 test images, pixels / 255 then standardized by the training set's global
mean and standard deviation; MLP 784-256-256-10, ReLU, float32; hidden weights N(0, 2/fan_in),
output weights N(0, 1/fan_in), biases zero (nn::Linear, standard parameterization); momentum
SGD (μ = 0.9) with coupled weight decay 5e-4 on every parameter, biases included (PyTorch's
SGD(weight_decay=...) form: d = g + λθ, b = μb + d, θ -= η_t b); η_t = 0.05·(1 + cos(πt/T))/2
per step, T = 10 epochs × 469 steps; batches of 128 from a fresh permutation each epoch, the
last one short; test loss and accuracy after every epoch. Both sides use one thread.

descent is timed as the whole command (process start to exit: data loading, training,
evaluation, checkpoints, CSV, no plots); PyTorch from data loading to the last evaluation
(interpreter start and `import torch` not counted). Wall time and CPU time (user + system) are
both printed: on a shared machine CPU time is the fair clock. Means over the seeds are printed
at the end.
"""
import argparse
import gzip
import json
import math
import os
import resource
import subprocess
import tempfile
import time

import numpy as np
import torch


def cpu_line():
    model, flags = "?", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    return f"CPU: {model}, supports {isa}; PyTorch {torch.__version__} ({torch.__config__.show().split('CPU capability usage: ')[-1].split()[0]} kernels), 1 thread"


def load(directory, split):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(f"{directory}/{prefix}-images-idx3-ubyte.gz", "rb") as f:
        x = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255.0
    with gzip.open(f"{directory}/{prefix}-labels-idx1-ubyte.gz", "rb") as f:
        y = np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(np.int64)
    return x, y


def torch_run(seed, data_dir, epochs=10, batch=128, lr=0.05, momentum=0.9, wd=5e-4):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    xtr, ytr = load(data_dir, "train")
    xte, yte = load(data_dir, "test")
    mean, std = xtr.mean(dtype=np.float64), xtr.std(dtype=np.float64)
    xtr = torch.from_numpy((xtr - mean) / std).float()
    xte = torch.from_numpy((xte - mean) / std).float()
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    layers = [torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
              torch.nn.Linear(256, 10)]
    with torch.no_grad():
        for i, layer in enumerate(l for l in layers if isinstance(l, torch.nn.Linear)):
            gain = 1.0 if i == 2 else math.sqrt(2.0)
            layer.weight.normal_(0.0, gain / math.sqrt(layer.in_features), generator=g)
            layer.bias.zero_()
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=wd)
    n = xtr.shape[0]
    steps_per_epoch = (n + batch - 1) // batch
    total = epochs * steps_per_epoch
    t = 0
    accuracy = []
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        for s in range(steps_per_epoch):
            idx = perm[s * batch:(s + 1) * batch]
            for group in opt.param_groups:
                group["lr"] = lr * (1.0 + math.cos(math.pi * t / total)) / 2.0
            opt.zero_grad(set_to_none=True)
            out = model(xtr[idx])
            loss = torch.nn.functional.cross_entropy(out, ytr[idx])
            loss.backward()
            opt.step()
            t += 1
        with torch.no_grad():
            correct = sum(int((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum())
                          for i in range(0, xte.shape[0], 1000))
        accuracy.append(correct / xte.shape[0])
    return accuracy[-1]


def descent_run(binary, seed):
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        out = subprocess.run([binary, "train", "--seed", str(seed), "--out", os.path.join(tmp, "run"), "--no-plots",
                              "--no-progress", "--json", "--threads", "1"], check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(out.stdout)["final"]["test_accuracy"], wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("descent")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--data", default=os.environ.get("DESCENT_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(cpu_line(), flush=True)
    rows = []
    for seed in range(args.seeds):
        acc_d, wall_d, cpu_d = descent_run(args.descent, seed)
        r0, t0, c0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter(), time.process_time()
        acc_t = torch_run(seed, args.data)
        wall_t, cpu_t = time.perf_counter() - t0, time.process_time() - c0
        rows.append((acc_d, wall_d, cpu_d, acc_t, wall_t, cpu_t))
        print(f"seed {seed}: descent {100 * acc_d:.2f}% {wall_d:.2f} s wall {cpu_d:.2f} s CPU | PyTorch "
              f"{100 * acc_t:.2f}% {wall_t:.2f} s wall {cpu_t:.2f} s CPU | CPU ratio {cpu_t / cpu_d:.2f}x, "
              f"wall ratio {wall_t / wall_d:.2f}x", flush=True)
    m = np.mean(np.array(rows), axis=0)
    s = np.std(np.array(rows), axis=0, ddof=1) if len(rows) > 1 else np.zeros(6)
    print(f"mean over {len(rows)} seeds: descent {100 * m[0]:.2f}% (sd {100 * s[0]:.2f}) {m[1]:.2f} s wall "
          f"{m[2]:.2f} s CPU | PyTorch {100 * m[3]:.2f}% (sd {100 * s[3]:.2f}) {m[4]:.2f} s wall {m[5]:.2f} s CPU | "
          f"CPU ratio {m[5] / m[2]:.2f}x, wall ratio {m[4] / m[1]:.2f}x")


if __name__ == "__main__":
    main()
