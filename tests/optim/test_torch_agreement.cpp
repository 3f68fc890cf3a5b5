// Trajectories of the named optimizers against torch.optim (float64, analytic gradients, 200
// steps): SGD, heavy-ball momentum, Nesterov, coupled weight decay, StepLR and cosine
// schedules, AdaGrad, RMSProp (plain, centered with momentum), Adam, Adam with L2, AdamW;
// and torch.optim.LBFGS (fixed step and strong Wolfe) against optim::TorchLbfgs.
// The peer script is tests/optim/torch_agreement.py; skipped when torch is not importable.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "common/peer.hpp"
#include "descent/core/objective.hpp"
#include "descent/optim/lbfgs_torch.hpp"
#include "descent/optim/optimizers.hpp"
#include "descent/optim/problems.hpp"

using namespace descent;
using namespace descent::optim;

namespace {

constexpr int kSteps = 200;
// Relative agreement asked of every coordinate of every iterate: |a − b| ≤ tol · max(|b|, 1e-3).
constexpr double kTolerance = 1e-9;

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
  if (name == "sgd") return sgd(s, num("momentum", 0.0), num("nesterov", 0) != 0, wd);
  if (name == "adagrad") return adagrad(s, num("eps", 1e-10), 0.0, wd);
  if (name == "rmsprop") return rmsprop(s, num("alpha", 0.99), num("eps", 1e-8), num("momentum", 0.0),
                                        num("centered", 0) != 0, wd);
  if (name == "adam") return adam(s, num("betas0", 0.9), 0.999, 1e-8, wd);
  if (name == "adamw") return adamw(s, 0.9, 0.999, 1e-8, wd);
  fail<InputError>("unknown optimizer in config '{}'", config);
}

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
        if (rel > kTolerance)
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
    for (int t = 0; t < kSteps; ++t) {
      f.value_and_gradient(theta, g);
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

}  // namespace

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
