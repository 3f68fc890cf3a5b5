"""Empirical NTK Gram (trace over the 10 outputs) of the 784-256-256-10 MLP with functorch
(jacrev + vmap, the neural-tangents recipe in PyTorch): the peer of bench/ntk.cpp.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 bench/ntk_peer.py N [--chunk K]

Prints one JSON line: n, seconds (jacobian + contraction), peak RSS (MiB), the Gram's trace.
It materializes the n x 10 x P Jacobian (P = 269,322): about 10.8 GB at n = 1,000 in
float32, so keep N small on a shared machine. Inputs: the first N Fashion-MNIST test
images when the IDX file is readable (else uniform noise; the time does not depend on it).
"""
import gzip, json, os, resource, sys, time

import numpy as np
import torch
from functorch import jacrev, make_functional, vmap

torch.set_num_threads(1)
torch.manual_seed(0)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def images(n):
    d = os.environ.get("DESCENT_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    for name in ("t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"):
        path = os.path.join(d, name)
        if os.path.exists(path):
            raw = (gzip.open if name.endswith(".gz") else open)(path, "rb").read()
            x = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 784)[:n]
            return torch.tensor(x, dtype=torch.float32) / 255.0
    return torch.rand(n, 784)


model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                            torch.nn.Linear(256, 10))
fnet, params = make_functional(model)
x = images(n)


def f_single(params, x):
    return fnet(params, x.unsqueeze(0)).squeeze(0)


start = time.perf_counter()
jac = vmap(jacrev(f_single), (None, 0))(params, x)         # per parameter: [n, 10, *shape]
jac = [j.flatten(2) for j in jac]                          # [n, 10, P_k]
gram = sum(torch.einsum("naf,maf->nm", j, j) for j in jac)  # Σ_c J^c J^cᵀ
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"n": n, "seconds": seconds, "peak_rss_MiB": peak, "gram_trace": float(gram.trace())}))
