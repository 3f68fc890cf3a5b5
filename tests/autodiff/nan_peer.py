# Values and gradients of each primitive at NaN, ±inf and finite points, from PyTorch: the
# peer of test_nan_propagation.cpp. Prints one JSON object {primitive: {"value": [...],
# "grad": [...]}}, NaN and ±inf written as the strings "nan", "inf", "-inf".
import json
import math
import sys

import torch

x0 = [float("nan"), 1.5, -2.0, 0.0, float("inf"), -float("inf")]
other = [0.5, float("nan"), -3.0, 0.0, 1.0, float("nan")]
cases = {
    "relu": lambda x, y: torch.relu(x),
    "abs": lambda x, y: torch.abs(x),
    "clamp": lambda x, y: torch.clamp(x, -1.0, 1.0),
    "maximum": lambda x, y: torch.maximum(x, y),
    "minimum": lambda x, y: torch.minimum(x, y),
    "tanh": lambda x, y: torch.tanh(x),
    "sigmoid": lambda x, y: torch.sigmoid(x),
    "softplus": lambda x, y: torch.nn.functional.softplus(x),
    "exp": lambda x, y: torch.exp(x),
    "square": lambda x, y: x * x,
}


def enc(v):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


out = {}
for name, f in cases.items():
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(other, dtype=torch.float64)
    v = f(x, y)
    v.backward(torch.ones_like(v))
    out[name] = {"value": [enc(a) for a in v.detach().tolist()], "grad": [enc(a) for a in x.grad.tolist()]}
json.dump(out, sys.stdout, allow_nan=False)
