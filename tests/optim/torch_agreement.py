"""torch.optim trajectories for tests/optim/test_torch_agreement.cpp.

usage: torch_agreement.py STEPS CONFIG...
Runs every config on two problems, quadratic (5-D, fixed A, b) then rosenbrock (4-D
extended, start (-1.2, 1, -1.2, 1)), in one process (importing torch is the slow part).
CONFIG: "name key=value ..." with name in sgd, adagrad, rmsprop, adam, adamw, lbfgs, torch's
own keyword names, and sched=step:STEP_SIZE:GAMMA or sched=cos:T_MAX. lbfgs steps with a
closure (value and gradient); one step is one optimizer.step(closure) call, max_iter
iterations at most.
Prints one line per config: the iterates after each step, flattened, as %.17g.
Everything is float64; the gradient is analytic (the same formulas as the C++ problems).
"""
import sys

import torch

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

A = torch.tensor([[2.0, 0.5, 0, 0, 0], [0.5, 4.0, 0.5, 0, 0], [0, 0.5, 6.0, 0.5, 0],
                  [0, 0, 0.5, 8.0, 0.5], [0, 0, 0, 0.5, 10.0]])
B = torch.ones(5)


def value(problem, x):
    if problem == "quadratic":
        return float(0.5 * x @ (A @ x) - B @ x)
    return float(sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(x.numel() - 1)))


def gradient(problem, x):
    if problem == "quadratic":  # f = ½ xᵀAx − bᵀx
        return A @ x - B
    g = torch.zeros_like(x)
    for i in range(x.numel() - 1):
        a = x[i + 1] - x[i] * x[i]
        b = 1 - x[i]
        g[i] += -400 * a * x[i] - 2 * b
        g[i + 1] += 200 * a
    return g


def start(problem):
    if problem == "quadratic":
        return torch.tensor([1.0, -1.0, 0.5, 2.0, -0.5])
    return torch.tensor([-1.2, 1.0, -1.2, 1.0])


def run(problem, steps, config):
    name, *pairs = config.split()
    kw = {}
    sched = None
    for pair in pairs:
        k, v = pair.split("=")
        if k == "sched":
            sched = v
        elif k == "betas0":
            kw["betas"] = (float(v), 0.999)
        elif k in ("nesterov", "centered"):
            kw[k] = bool(int(v))
        elif k in ("history_size", "max_iter", "max_eval"):
            kw[k] = int(v)
        elif k == "line_search_fn":
            kw[k] = v
        else:
            kw[k] = float(v)
    p = torch.nn.Parameter(start(problem).clone())
    cls = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
           "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "lbfgs": torch.optim.LBFGS}[name]
    opt = cls([p], **kw)
    scheduler = None
    if sched:
        kind, *args = sched.split(":")
        if kind == "step":
            scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=int(args[0]), gamma=float(args[1]))
        else:
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(args[0]))
    def closure():
        x = p.detach().clone()
        p.grad = gradient(problem, x)
        return value(problem, x)

    out = []
    for _ in range(steps):
        if name == "lbfgs":
            opt.step(closure)
        else:
            p.grad = gradient(problem, p.detach().clone())
            opt.step()
        if scheduler:
            scheduler.step()
        out.extend(p.detach().tolist())
    return out


def main():
    steps = int(sys.argv[1])
    for problem in ("quadratic", "rosenbrock"):
        for config in sys.argv[2:]:
            print(" ".join("%.17g" % v for v in run(problem, steps, config)))


if __name__ == "__main__":
    main()
