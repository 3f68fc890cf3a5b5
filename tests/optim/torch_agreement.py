"""torch.optim trajectories for tests/optim/test_torch_agreement.cpp.

usage: torch_agreement.py STEPS CONFIG...
       torch_agreement.py schedules STEPS CONFIG...
Runs every config on two problems, quadratic (5-D, fixed A, b) then rosenbrock (4-D
extended, start (-1.2, 1, -1.2, 1)), in one process (importing torch is the slow part).
CONFIG: "name key=value ..." with name in sgd, adagrad, rmsprop, adam, adamw, nadam, radam,
adamax, adadelta, asgd, rprop, lbfgs, torch's own keyword names (betas0/betas1, etas0/etas1,
step_sizes0/step_sizes1 for the tuples), and sched=step:STEP_SIZE:GAMMA or sched=cos:T_MAX.
maximize=1 feeds the optimizer −∇f, so that maximizing stays a convergent run. lbfgs steps
with a closure (value and gradient); one step is one optimizer.step(closure) call, max_iter
iterations at most.
Prints one line per config: the iterates after each step, flattened, as %.17g.

The schedules form prints, per config, the learning rate each of STEPS optimizer steps uses
(onecycle, cyclic, multistep, warmup_cosine, plateau; see run_schedule).

torch 1.13's NAdam multiplies the product of the momentum coefficients once more by μ_t in
the Nesterov term's denominator (mu_product_next = mu_product * mu * mu_next, after
mu_product *= mu); torch 2.0 corrected it to Dozat's μ_{t+1}/(1 − Π_{i≤t+1} μ_i). Under
torch < 2 the nadam configs run `NAdam2`, torch 2.x's _single_tensor_nadam transcribed.
Everything is float64; the gradient is analytic (the same formulas as the C++ problems).
"""
import math
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


class NAdam2(torch.optim.Optimizer):
    """torch 2.x's NAdam (single-tensor path, decoupled_weight_decay=False), for torch < 2."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["mu_product"] = 1.0
                    state["exp_avg"] = torch.zeros_like(param)
                    state["exp_avg_sq"] = torch.zeros_like(param)
                grad = param.grad
                state["step"] += 1
                step = state["step"]
                bias_correction2 = 1 - beta2 ** step
                if group["weight_decay"] != 0:
                    grad = grad.add(param, alpha=group["weight_decay"])
                mu = beta1 * (1. - 0.5 * (0.96 ** (step * group["momentum_decay"])))
                mu_next = beta1 * (1. - 0.5 * (0.96 ** ((step + 1) * group["momentum_decay"])))
                state["mu_product"] *= mu
                mu_product = state["mu_product"]
                state["exp_avg"].lerp_(grad, 1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = state["exp_avg_sq"].div(bias_correction2).sqrt().add_(group["eps"])
                lr = group["lr"]
                param.addcdiv_(grad, denom, value=(-lr * (1. - mu) / (1. - mu_product)))
                param.addcdiv_(state["exp_avg"], denom, value=(-lr * mu_next) / (1. - mu_product * mu_next))


def optimizer_class(name):
    if name == "nadam" and int(torch.__version__.split(".")[0]) < 2:
        return NAdam2
    return {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
            "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "lbfgs": torch.optim.LBFGS,
            "nadam": torch.optim.NAdam, "radam": torch.optim.RAdam, "adamax": torch.optim.Adamax,
            "adadelta": torch.optim.Adadelta, "asgd": torch.optim.ASGD, "rprop": torch.optim.Rprop}[name]


def run(problem, steps, config):
    name, *pairs = config.split()
    kw = {}
    tuples = {}
    sched = None
    sign = 1.0
    for pair in pairs:
        k, v = pair.split("=")
        if k == "sched":
            sched = v
        elif k[-1] in "01" and k[:-1] in ("betas", "etas", "step_sizes"):
            tuples.setdefault(k[:-1], {})[int(k[-1])] = float(v)
        elif k == "maximize":
            kw[k] = bool(int(v))
            sign = -1.0 if kw[k] else 1.0
        elif k in ("nesterov", "centered", "amsgrad"):
            kw[k] = bool(int(v))
        elif k in ("history_size", "max_iter", "max_eval"):
            kw[k] = int(v)
        elif k == "line_search_fn":
            kw[k] = v
        else:
            kw[k] = float(v)
    defaults = {"betas": (0.9, 0.999), "etas": (0.5, 1.2), "step_sizes": (1e-6, 50)}
    for k, given in tuples.items():
        kw[k] = tuple(given.get(i, defaults[k][i]) for i in range(2))
    p = torch.nn.Parameter(start(problem).clone())
    opt = optimizer_class(name)([p], **kw)
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
            p.grad = sign * gradient(problem, p.detach().clone())
            opt.step()
        if scheduler:
            scheduler.step()
        out.extend(p.detach().tolist())
    return out


def run_schedule(steps, config):
    """Learning rates of `steps` optimizer steps (read before each scheduler.step())."""
    name, *pairs = config.split()
    kw = dict(pair.split("=") for pair in pairs)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=float(kw.get("lr", 1.0)), momentum=0.9)
    metric = None
    if name == "onecycle":
        s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(kw["max_lr"]), total_steps=int(kw["total"]),
                                                pct_start=float(kw["pct"]), anneal_strategy="cos",
                                                div_factor=float(kw["div"]), final_div_factor=float(kw["final_div"]))
    elif name == "cyclic":
        s = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=float(kw["base"]), max_lr=float(kw["max"]),
                                              step_size_up=int(kw["up"]), step_size_down=int(kw["down"]),
                                              mode=kw["mode"], gamma=float(kw.get("gamma", 1.0)))
    elif name == "multistep":
        s = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[int(m) for m in kw["milestones"].split(":")],
                                                 gamma=float(kw["gamma"]))
    elif name == "warmup_cosine":
        w, t = int(kw["warmup"]), int(kw["total"])
        s = torch.optim.lr_scheduler.SequentialLR(opt, [
            torch.optim.lr_scheduler.LinearLR(opt, start_factor=float(kw["start_factor"]), end_factor=1.0,
                                              total_iters=w),
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t)], milestones=[w])
    elif name == "plateau":
        s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=float(kw["factor"]),
                                                       patience=int(kw["patience"]),
                                                       threshold=float(kw["threshold"]), threshold_mode="rel",
                                                       cooldown=int(kw["cooldown"]), min_lr=float(kw["min_lr"]))
        metric = plateau_metric
    out = []
    for t in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if metric:
            s.step(metric(t))
        else:
            s.step()
    return out


def plateau_metric(t):
    """A loss that improves, stalls, and improves again (the C++ test has the same formula)."""
    return 1.0 / (1.0 + 0.05 * t) + 0.02 * math.sin(0.7 * t) + (0.3 if 60 <= t < 90 else 0.0)


def main():
    if sys.argv[1] == "schedules":
        steps = int(sys.argv[2])
        for config in sys.argv[3:]:
            print(" ".join("%.17g" % v for v in run_schedule(steps, config)))
        return
    steps = int(sys.argv[1])
    for problem in ("quadratic", "rosenbrock"):
        for config in sys.argv[2:]:
            print(" ".join("%.17g" % v for v in run(problem, steps, config)))


if __name__ == "__main__":
    main()
