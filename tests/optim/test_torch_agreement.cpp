// Trajectories of the named optimizers against torch.optim (float64, analytic gradients, 200
// steps, every option): SGD (momentum, dampening, Nesterov, weight decay, maximize, StepLR),
// AdaGrad (lr_decay, initial accumulator), RMSProp (centered, momentum), Adam/AdamW (AMSGrad,
// maximize, cosine), NAdam, RAdam, Adamax, Adadelta, ASGD, Rprop; torch.optim.LBFGS (fixed
// step and strong Wolfe) against optim::TorchLbfgs; and the schedules against
// torch.optim.lr_scheduler (OneCycleLR, CyclicLR, MultiStepLR, LinearLR→CosineAnnealingLR,
// ReduceLROnPlateau).
// The peer script is tests/optim/torch_agreement.py; skipped when torch is not importable.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "common/peer.hpp"
#include "descent/core/objective.hpp"
#include "descent/core/ops.hpp"
#include "descent/optim/lbfgs_torch.hpp"
#include "descent/optim/optimizers.hpp"
#include "descent/optim/problems.hpp"

using namespace descent;
using namespace descent::optim;

namespace {

constexpr int kSteps = 200;
// Relative agreement asked of every coordinate of every iterate: |a − b| ≤ tol · max(|b|, 1e-3).
constexpr double kTolerance = 1e-10;
// One configuration is held to 1e-9 instead: centered RMSprop with α = 0.9 and momentum on
// the quadratic is ill-conditioned as a trajectory — torch itself, started 1e-15 (relative)
// away, ends 4e-9 away after 200 steps (√(v − m²) cancels as the gradient settles) — so the
// 1-ulp differences of a chain against torch's kernels (its `add_(y, alpha=c)` is a fused
// multiply-add) grow to 2.2e-10. Its other forms pass at 1e-10.
double tolerance_for(const std::string& config) {
  if (config == "rmsprop lr=0.001 alpha=0.9 momentum=0.5 centered=1") return 1e-9;
  return kTolerance;
}

const std::vector<std::string> kConfigs = {
    "sgd lr=0.001",
    "sgd lr=0.001 momentum=0.9",
    "sgd lr=0.001 momentum=0.9 nesterov=1",
    "sgd lr=0.001 momentum=0.5 weight_decay=0.1",
    "sgd lr=0.001 momentum=0.9 sched=step:50:0.5",
    "adagrad lr=0.1",
    "rmsprop lr=0.001",
    "rmsprop lr=0.001 alpha=0.9 momentum=0.5 centered=1",
    "adam lr=0.01",
    "adam lr=0.01 betas0=0.8 weight_decay=0.1 sched=cos:400",
    "adamw lr=0.01 weight_decay=0.1",
    "sgd lr=0.001 momentum=0.9 dampening=0.3",
    "sgd lr=0.001 momentum=0.9 dampening=0.5 weight_decay=0.1 maximize=1",
    "sgd lr=0.001 momentum=0.9 nesterov=1 weight_decay=0.05 maximize=1",
    "adagrad lr=0.1 lr_decay=0.01 initial_accumulator_value=0.5",
    "adagrad lr=0.1 weight_decay=0.1 eps=1e-6 maximize=1",
    "rmsprop lr=0.001 centered=1",
    "rmsprop lr=0.001 momentum=0.9 weight_decay=0.1 maximize=1",
    "adam lr=0.01 amsgrad=1",
    "adam lr=0.01 amsgrad=1 weight_decay=0.1 maximize=1",
    "adamw lr=0.01 weight_decay=0.1 amsgrad=1 betas1=0.99",
    "adamw lr=0.01 weight_decay=0.1 maximize=1",
    "nadam lr=0.01",
    "nadam lr=0.01 betas0=0.8 weight_decay=0.1 momentum_decay=0.01",
    "radam lr=0.01",
    "radam lr=0.01 betas1=0.99 weight_decay=0.1",
    "adamax lr=0.01",
    "adamax lr=0.01 betas0=0.8 weight_decay=0.1 maximize=1",
    "adadelta lr=1",
    "adadelta lr=0.1 rho=0.8 eps=1e-5 weight_decay=0.1 maximize=1",
    "adadelta lr=0.5 weight_decay=0.1 maximize=1",
    "rmsprop lr=0.001 momentum=0.5 centered=1",
    "asgd lr=0.001",
    "asgd lr=0.001 lambd=0.01 alpha=0.6 t0=50 weight_decay=0.1 maximize=1",
    "rprop lr=0.001",
    "rprop lr=0.001 etas0=0.3 etas1=1.5 step_sizes0=1e-4 step_sizes1=0.01 maximize=1",
};

GradientTransformation build(const std::string& config) {
  std::istringstream in(config);
  std::string name, pair;
  in >> name;
  std::map<std::string, std::string> kv;
  while (in >> pair) kv[pair.substr(0, pair.find('='))] = pair.substr(pair.find('=') + 1);
  auto num = [&](const std::string& k, double d) { return kv.count(k) ? std::stod(kv[k]) : d; };
  const double lr = num("lr", 1e-3);
  Schedule s(lr);
  if (kv.count("sched")) {
    const std::string v = kv["sched"];
    if (v.rfind("step:", 0) == 0) {
      const auto c2 = v.find(':', 5);
      s = step_decay(lr, std::stod(v.substr(c2 + 1)), std::stoll(v.substr(5, c2 - 5)));
    } else {
      s = cosine_decay(lr, std::stoll(v.substr(4)));
    }
  }
  const double wd = num("weight_decay", 0.0);
  const double b1 = num("betas0", 0.9), b2 = num("betas1", 0.999);
  const bool amsgrad = num("amsgrad", 0) != 0;
  auto opt = [&]() -> GradientTransformation {
    if (name == "sgd") return sgd(s, num("momentum", 0.0), num("nesterov", 0) != 0, wd, num("dampening", 0.0));
    if (name == "adagrad")
      return adagrad(s, num("eps", 1e-10), num("initial_accumulator_value", 0.0), wd, num("lr_decay", 0.0));
    if (name == "rmsprop")
      return rmsprop(s, num("alpha", 0.99), num("eps", 1e-8), num("momentum", 0.0), num("centered", 0) != 0, wd);
    if (name == "adam") return adam(s, b1, b2, 1e-8, wd, amsgrad);
    if (name == "adamw") return adamw(s, b1, b2, 1e-8, wd, amsgrad);
    if (name == "nadam") return nadam(s, b1, b2, 1e-8, wd, num("momentum_decay", 4e-3));
    if (name == "radam") return radam(s, b1, b2, 1e-8, wd);
    if (name == "adamax") return adamax(s, b1, b2, 1e-8, wd);
    if (name == "adadelta") return adadelta(s, num("rho", 0.9), num("eps", 1e-6), wd);
    if (name == "asgd") return asgd(lr, num("lambd", 1e-4), num("alpha", 0.75), num("t0", 1e6), wd);
    if (name == "rprop")
      return rprop(lr, num("etas0", 0.5), num("etas1", 1.2), num("step_sizes0", 1e-6), num("step_sizes1", 50));
    fail<InputError>("unknown optimizer in config '{}'", config);
  }();
  // torch's maximize: the gradient is negated before anything else (the peer feeds −∇f).
  return num("maximize", 0) != 0 ? chain(negate(), opt) : opt;
}

bool maximizes(const std::string& config) { return config.find("maximize=1") != std::string::npos; }

// ½ xᵀAx − bᵀx with the matrix of torch_agreement.py.
FunctionObjective quadratic() {
  return FunctionObjective(5, [](const Tensor& x, Tensor& g) {
    static const double a[5][5] = {{2, 0.5, 0, 0, 0}, {0.5, 4, 0.5, 0, 0}, {0, 0.5, 6, 0.5, 0},
                                   {0, 0, 0.5, 8, 0.5}, {0, 0, 0, 0.5, 10}};
    double f = 0;
    for (int i = 0; i < 5; ++i) {
      double ax = 0;
      for (int j = 0; j < 5; ++j) ax += a[i][j] * x.at(j);
      g.set(i, ax - 1.0);
      f += 0.5 * x.at(i) * ax - x.at(i);
    }
    return f;
  });
}

// torch.optim.LBFGS settings; one step is one optimizer.step(closure) (max_iter iterations at
// most), so max_iter=1 compares every iteration and larger max_iter the inner loop and its
// stopping tests.
const std::vector<std::string> kLbfgsConfigs = {
    "lbfgs lr=0.1 max_iter=1 history_size=5",
    "lbfgs lr=0.5 history_size=7",
    "lbfgs lr=1 max_iter=1 history_size=10 line_search_fn=strong_wolfe",
    "lbfgs lr=1 max_iter=4 line_search_fn=strong_wolfe",
};

TorchLbfgsOptions lbfgs_options(const std::string& config) {
  std::istringstream in(config);
  std::string name, pair;
  in >> name;
  TorchLbfgsOptions o;
  while (in >> pair) {
    const std::string k = pair.substr(0, pair.find('=')), v = pair.substr(pair.find('=') + 1);
    if (k == "lr") o.lr = std::stod(v);
    else if (k == "max_iter") o.max_iter = std::stoi(v);
    else if (k == "history_size") o.history_size = std::stoi(v);
    else if (k == "line_search_fn") o.strong_wolfe = v == "strong_wolfe";
    else fail<InputError>("unknown L-BFGS option '{}' in config '{}'", k, config);
  }
  return o;
}

// Runs every config (`run(config, check)` calls check(step, θ) after each step) against its
// torch trajectory, one line per config, coordinate by coordinate.
template <class Run>
void compare_lines(std::istringstream& lines, const std::string& problem, const std::vector<std::string>& configs,
                   int64_t p, Run&& run) {
  for (const auto& config : configs) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << "no torch trajectory for " << config;
    std::istringstream nums(line);
    double worst = 0.0;
    run(config, [&](int t, const double* theta) {
      for (int64_t i = 0; i < p; ++i) {
        double ref;
        if (!(nums >> ref)) return ::testing::AssertionFailure() << config << ": short torch trajectory";
        const double rel = std::abs(theta[i] - ref) / std::max(std::abs(ref), 1e-3);
        worst = std::max(worst, rel);
        if (rel > tolerance_for(config))
          return ::testing::AssertionFailure() << problem << " / " << config << ": step " << t + 1 << " coordinate "
                                               << i << ": descent " << theta[i] << ", torch " << ref;
      }
      return ::testing::AssertionSuccess();
    });
    std::printf("  %-10s %-66s max relative difference %.2e\n", problem.c_str(), config.c_str(), worst);
  }
}

void compare(std::istringstream& lines, const std::string& problem, Objective& f, const std::vector<double>& x0) {
  const int64_t p = static_cast<int64_t>(x0.size());
  compare_lines(lines, problem, kConfigs, p, [&](const std::string& config, auto&& check) {
    const auto opt = build(config);
    Tensor theta = Tensor::from_vector(x0, {p}, DType::f64);
    Tensor g = Tensor::empty({p}, DType::f64);
    State s = opt.init(theta);
    const bool negated = maximizes(config);
    for (int t = 0; t < kSteps; ++t) {
      f.value_and_gradient(theta, g);
      if (negated) scale_inplace(g, -1.0);
      opt.step(theta, g, s);
      ASSERT_TRUE(check(t, theta.data<double>()));
    }
  });
}

void compare_lbfgs(std::istringstream& lines, const std::string& problem, Objective& f,
                   const std::vector<double>& x0) {
  const int64_t p = static_cast<int64_t>(x0.size());
  // The objective on Eigen vectors, as TorchLbfgs takes it.
  const ValueAndGradient closure = [&](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    const Tensor theta = Tensor::from_vector(std::vector<double>(x.data(), x.data() + p), {p}, DType::f64);
    Tensor grad = Tensor::empty({p}, DType::f64);
    const double value = f.value_and_gradient(theta, grad);
    for (int64_t i = 0; i < p; ++i) g[i] = grad.at(i);
    return value;
  };
  compare_lines(lines, problem, kLbfgsConfigs, p, [&](const std::string& config, auto&& check) {
    TorchLbfgs opt(lbfgs_options(config));
    Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(x0.data(), p);
    for (int t = 0; t < kSteps; ++t) {
      opt.step(closure, x);
      ASSERT_TRUE(check(t, x.data()));
    }
  });
}

// The peer script and its arguments: the step count, then each configuration, quoted.
std::string script_args(const std::vector<std::string>& configs) {
  std::string args = "tests/optim/torch_agreement.py " + std::to_string(kSteps);
  for (const auto& c : configs) args += " '" + c + "'";
  return args;
}

// The loss sequence fed to ReduceLROnPlateau (torch_agreement.py's plateau_metric).
double plateau_metric(int t) {
  return 1.0 / (1.0 + 0.05 * t) + 0.02 * std::sin(0.7 * t) + ((t >= 60 && t < 90) ? 0.3 : 0.0);
}

const std::vector<std::string> kScheduleConfigs = {
    "onecycle max_lr=0.1 total=200 pct=0.3 div=25 final_div=1e4",
    "onecycle max_lr=0.5 total=200 pct=0.25 div=10 final_div=100",
    "cyclic base=0.01 max=0.1 up=15 down=10 mode=triangular",
    "cyclic base=0.01 max=0.1 up=20 down=0 mode=triangular2",
    "cyclic base=0.001 max=0.1 up=12 down=7 mode=exp_range gamma=0.995",
    "multistep lr=0.1 milestones=30:80:150 gamma=0.5",
    "warmup_cosine lr=0.1 warmup=20 total=180 start_factor=0.1",
    "plateau lr=1 factor=0.5 patience=3 threshold=1e-4 cooldown=2 min_lr=0.01",
    "plateau lr=1 factor=0.1 patience=0 threshold=0.01 cooldown=0 min_lr=0",
};

// The rates of kSteps steps for one schedule config (same keys as the peer script).
std::vector<double> schedule_rates(const std::string& config) {
  std::istringstream in(config);
  std::string name, pair;
  in >> name;
  std::map<std::string, std::string> kv;
  while (in >> pair) kv[pair.substr(0, pair.find('='))] = pair.substr(pair.find('=') + 1);
  auto num = [&](const std::string& k) { return std::stod(kv.at(k)); };
  std::vector<double> rates;
  if (name == "plateau") {
    // A one-coordinate chain whose update is the factor itself: u = 1 → c.
    const auto link = reduce_on_plateau(num("factor"), std::stoll(kv["patience"]), num("threshold"),
                                        std::stoll(kv["cooldown"]), num("min_lr") / num("lr"));
    Tensor theta = Tensor::zeros({1}, DType::f64);
    State st = link.init(theta);
    for (int t = 0; t < kSteps; ++t) {
      Tensor u = Tensor::full({1}, 1.0, DType::f64);
      link.update(u, st, theta, StepContext{plateau_metric(t), {}});
      rates.push_back(num("lr") * u.at(0));
    }
    return rates;
  }
  Schedule s(0.0);
  if (name == "onecycle")
    s = one_cycle(num("max_lr"), std::stoll(kv["total"]), num("pct"), num("div"), num("final_div"));
  else if (name == "cyclic")
    s = cyclic(num("base"), num("max"), std::stoll(kv["up"]), std::stoll(kv["down"]), kv["mode"],
               kv.count("gamma") ? num("gamma") : 1.0);
  else if (name == "multistep") {
    std::vector<std::pair<int64_t, double>> b;
    std::istringstream ms(kv["milestones"]);
    std::string m;
    while (std::getline(ms, m, ':')) b.emplace_back(std::stoll(m), num("gamma"));
    s = piecewise_constant(num("lr"), b);
  } else if (name == "warmup_cosine") {
    s = linear_warmup(cosine_decay(num("lr"), std::stoll(kv["total"])), std::stoll(kv["warmup"]),
                      num("lr") * num("start_factor"));
  } else {
    fail<InputError>("unknown schedule config '{}'", config);
  }
  for (int t = 0; t < kSteps; ++t) rates.push_back(s(t));
  return rates;
}

}  // namespace

TEST(TorchAgreement, Schedules) {
  std::string args = "tests/optim/torch_agreement.py schedules " + std::to_string(kSteps);
  for (const auto& c : kScheduleConfigs) args += " '" + c + "'";
  DESCENT_RUN_PEER_SCRIPT(out, "torch", args);
  std::istringstream lines(out);
  for (const auto& config : kScheduleConfigs) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << "no torch rates for " << config;
    std::istringstream nums(line);
    const auto ours = schedule_rates(config);
    double worst = 0.0;
    for (int t = 0; t < kSteps; ++t) {
      double ref;
      ASSERT_TRUE(nums >> ref) << config << ": short torch sequence";
      const double rel = std::abs(ours[t] - ref) / std::max(std::abs(ref), 1e-12);
      worst = std::max(worst, rel);
      ASSERT_LE(rel, kTolerance) << config << ": step " << t << ": descent " << ours[t] << ", torch " << ref;
    }
    std::printf("  schedule   %-66s max relative difference %.2e\n", config.c_str(), worst);
  }
}

TEST(TorchAgreement, LbfgsTrajectories) {
  DESCENT_RUN_PEER_SCRIPT(out, "torch", script_args(kLbfgsConfigs));
  std::istringstream lines(out);
  auto q = quadratic();
  compare_lbfgs(lines, "quadratic", q, {1.0, -1.0, 0.5, 2.0, -0.5});
  problems::Rosenbrock r(4);
  compare_lbfgs(lines, "rosenbrock", r, {-1.2, 1.0, -1.2, 1.0});
}

TEST(TorchAgreement, QuadraticAndRosenbrockTrajectories) {
  // One interpreter run for everything: importing torch takes seconds.
  DESCENT_RUN_PEER_SCRIPT(out, "torch", script_args(kConfigs));
  std::istringstream lines(out);
  auto q = quadratic();
  compare(lines, "quadratic", q, {1.0, -1.0, 0.5, 2.0, -0.5});
  problems::Rosenbrock r(4);
  compare(lines, "rosenbrock", r, {-1.2, 1.0, -1.2, 1.0});
}
