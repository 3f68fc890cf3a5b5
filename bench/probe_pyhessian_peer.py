#!/usr/bin/python3
"""PyHessian's top-n eigenvalue method, in PyTorch, as the peer of descent's Lanczos (issue 6).

What PyHessian (Yao et al. 2020, pyhessian/hessian.py, `hessian.eigenvalues`) does, on one
batch: build the gradient graph once (create_graph=True), get each HVP by double backward,
and run power iteration with deflation against the eigenvectors already found, stopping a
pair when |λ_t − λ_{t−1}| / (|λ_{t−1}| + 1e-6) < tol (default 1e-3) or after maxIter = 100.

Model and data: the 784-256-256-10 ReLU MLP (mean softmax cross-entropy) on the first N
Fashion-MNIST training images (pixels / 255), read with gzip + numpy from
/usr/share/datasets/fashion-mnist. θ is read from --theta (a flat .npy in descent's layout,
which is PyTorch's: W1 [256,784], b1, W2, b2, W3, b3) so both sides see the same Hessian;
without it the model is initialised from --seed.

Prints one JSON object: setup and eigenvalue seconds, HVPs, eigenvalues, and the residuals
‖Hv − λv‖ / |λ| of the returned vectors (computed afterwards with extra, untimed HVPs).

    /usr/bin/python3 bench/probe_pyhessian_peer.py --n 5000 --dtype float64 --theta theta.npy
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch


def load_fashion_mnist(directory, n):
    with gzip.open(f"{directory}/train-images-idx3-ubyte.gz", "rb") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)[:n]
    with gzip.open(f"{directory}/train-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:n]
    return images.astype(np.float64) / 255.0, labels.astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    ap.add_argument("--top-n", type=int, default=5)
    ap.add_argument("--tol", type=float, default=1e-3)  # PyHessian's default
    ap.add_argument("--max-iter", type=int, default=100)  # PyHessian's default
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--theta", default="")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    torch.manual_seed(args.seed)

    x_np, y_np = load_fashion_mnist(args.data, args.n)
    x = torch.from_numpy(x_np).to(dtype)
    y = torch.from_numpy(y_np)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                torch.nn.ReLU(), torch.nn.Linear(256, 10)).to(dtype)
    params = [p for p in model.parameters() if p.requires_grad]
    if args.theta:
        theta = torch.from_numpy(np.load(args.theta)).to(dtype)
        assert theta.numel() == sum(p.numel() for p in params), "theta does not match the MLP's parameter count"
        offset = 0
        with torch.no_grad():
            for p in params:
                p.copy_(theta[offset:offset + p.numel()].view_as(p))
                offset += p.numel()

    def group_product(xs, ys):
        return sum(torch.sum(a * b) for a, b in zip(xs, ys))

    def normalization(v):
        s = torch.sqrt(group_product(v, v))
        return [vi / (s + 1e-6) for vi in v]  # PyHessian adds 1e-6, as here

    def orthnormal(w, v_list):
        for v in v_list:
            w = [wi - group_product(w, v) * vi for wi, vi in zip(w, v)]
        return normalization(w)

    # --- PyHessian: hessian.__init__ (one batch) then hessian.eigenvalues ---
    t0, c0 = time.perf_counter(), time.process_time()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    t_setup, c_setup = time.perf_counter() - t0, time.process_time() - c0
    hvps = 0

    def hvp(v):
        nonlocal hvps
        hvps += 1
        return torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)

    t0, c0 = time.perf_counter(), time.process_time()
    eigenvalues, eigenvectors = [], []
    for _ in range(args.top_n):
        eigenvalue = None
        v = normalization([torch.randn_like(p) for p in params])
        for _ in range(args.max_iter):
            v = orthnormal(v, eigenvectors)
            hv = hvp(v)
            tmp = group_product(hv, v).item()
            v = normalization(hv)
            if eigenvalue is None:
                eigenvalue = tmp
            elif abs(eigenvalue - tmp) / (abs(eigenvalue) + 1e-6) < args.tol:
                break
            else:
                eigenvalue = tmp
        eigenvalues.append(eigenvalue)
        eigenvectors.append(v)
    t_eigen, c_eigen = time.perf_counter() - t0, time.process_time() - c0
    hvps_used = hvps

    # Residuals of what PyHessian returns (untimed).
    residuals = []
    for lam, v in zip(eigenvalues, eigenvectors):
        hv = hvp(v)
        r = torch.sqrt(sum(torch.sum((a - lam * b) ** 2) for a, b in zip(hv, v))).item()
        residuals.append(r / abs(lam))
    # One HVP alone, for the per-product cost.
    t0, c0 = time.perf_counter(), time.process_time()
    hvp(eigenvectors[0])
    t_hvp, c_hvp = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({
        "method": "PyHessian power iteration with deflation", "n": args.n, "dtype": args.dtype,
        "threads": torch.get_num_threads(), "tol": args.tol, "setup_seconds": t_setup,
        "eigen_seconds": t_eigen, "total_seconds": t_setup + t_eigen, "hvps": hvps_used,
        "seconds_per_hvp": t_hvp, "total_cpu_seconds": c_setup + c_eigen, "cpu_seconds_per_hvp": c_hvp, "eigenvalues": eigenvalues, "relative_residuals": residuals,
        "loss": loss.item(),
    }))


if __name__ == "__main__":
    main()
