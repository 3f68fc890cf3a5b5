#include "descent/estimators/score_function.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "descent/core/error.hpp"

namespace descent::estimators {

namespace {

Eigen::VectorXd softmax(const Eigen::VectorXd& logits) {
  Eigen::VectorXd p = (logits.array() - logits.maxCoeff()).exp();
  return p / p.sum();
}

void check_samples(int64_t samples, const char* who) {
  DESCENT_CHECK(samples >= 2, InputError, "{}: samples must be at least 2, got {}", who, samples);
}

}  // namespace

int64_t sample_index(const Eigen::VectorXd& p, Rng& rng) {
  const double u = rng.uniform() * p.sum();
  double c = 0;
  for (int64_t k = 0; k < p.size(); ++k) {
    c += p[k];
    if (u < c) return k;
  }
  // Rounding left u beyond the last partial sum: the last value with positive mass.
  for (int64_t k = p.size() - 1; k >= 0; --k)
    if (p[k] > 0) return k;
  fail<InputError>("sample_index: all probabilities are zero");
}

Distribution diagonal_gaussian(int64_t d) {
  Distribution q;
  q.sample = [d](const Eigen::VectorXd& theta, Rng& rng) {
    Eigen::VectorXd z(d);
    for (int64_t i = 0; i < d; ++i) z[i] = theta[i] + std::sqrt(theta[d + i]) * rng.normal();
    return z;
  };
  q.score = [d](const Eigen::VectorXd& theta, const Eigen::VectorXd& z) {
    Eigen::VectorXd s(2 * d);
    for (int64_t i = 0; i < d; ++i) {
      const double v = theta[d + i], r = z[i] - theta[i];
      s[i] = r / v;                              // ∂ log N / ∂μ
      s[d + i] = (r * r / v - 1.0) / (2.0 * v);  // ∂ log N / ∂v
    }
    return s;
  };
  return q;
}

Distribution categorical(int64_t K) {
  Distribution q;
  q.sample = [](const Eigen::VectorXd& theta, Rng& rng) {
    return Eigen::VectorXd::Constant(1, static_cast<double>(sample_index(softmax(theta), rng)));
  };
  q.score = [](const Eigen::VectorXd& theta, const Eigen::VectorXd& z) {
    Eigen::VectorXd s = -softmax(theta);
    s[static_cast<int64_t>(z[0])] += 1.0;  // ∇ log softmax_k = e_k − p
    return s;
  };
  return q;
}

DiscreteDistribution categorical_discrete(int64_t K) {
  DiscreteDistribution q;
  q.support = K;
  q.probabilities = [](const Eigen::VectorXd& theta) { return softmax(theta); };
  q.score = [](const Eigen::VectorXd& theta, int64_t k) {
    Eigen::VectorXd s = -softmax(theta);
    s[k] += 1.0;
    return s;
  };
  return q;
}

GradientEstimate score_function_gradient(const Distribution& q, const Eigen::VectorXd& theta, const Integrand& f,
                                         const ScoreFunctionOptions& options, Rng& rng) {
  check_samples(options.samples, "score_function_gradient");
  const int64_t S = options.samples;
  std::vector<Eigen::VectorXd> scores(S);
  Eigen::VectorXd values(S);
  for (int64_t s = 0; s < S; ++s) {
    const Eigen::VectorXd z = q.sample(theta, rng);
    values[s] = f(z);
    scores[s] = q.score(theta, z);
  }
  const double total = values.sum();
  Eigen::MatrixXd terms(S, theta.size());
  for (int64_t s = 0; s < S; ++s) {
    double b = 0;
    if (options.baseline == Baseline::constant) b = options.baseline_value;
    if (options.baseline == Baseline::leave_one_out) b = (total - values[s]) / static_cast<double>(S - 1);
    terms.row(s) = ((values[s] - b) * scores[s]).transpose();
  }
  return summarize(terms);
}

ControlVariateEstimate control_variate_gradient(const Distribution& q, const Eigen::VectorXd& theta,
                                                const Integrand& f, const ControlVariate& cv,
                                                const ControlVariateOptions& options, Rng& rng) {
  check_samples(options.samples, "control_variate_gradient");
  const int64_t P = theta.size();
  const Eigen::VectorXd grad_eh = cv.grad_expectation ? cv.grad_expectation(theta) : Eigen::VectorXd::Zero(P);
  DESCENT_CHECK(grad_eh.size() == P, ShapeError, "control_variate_gradient: ∇E[h] has {} entries, θ has {}",
                grad_eh.size(), P);
  // Rows of g = f s (the plain terms) and w = h s − ∇E[h] (mean zero) for n draws.
  auto draw = [&](int64_t n, Eigen::MatrixXd& g, Eigen::MatrixXd& w) {
    g.resize(n, P);
    w.resize(n, P);
    for (int64_t s = 0; s < n; ++s) {
      const Eigen::VectorXd z = q.sample(theta, rng);
      const Eigen::VectorXd score = q.score(theta, z);
      g.row(s) = (f(z) * score).transpose();
      w.row(s) = ((cv.h ? cv.h(z) : 1.0) * score - grad_eh).transpose();
    }
  };
  // c_j = Cov(g_j, w_j) / Var(w_j), the minimizer of Var(g_j − c_j w_j).
  auto coefficient = [P](const Eigen::MatrixXd& g, const Eigen::MatrixXd& w) {
    const Eigen::MatrixXd gc = g.rowwise() - g.colwise().mean();
    const Eigen::MatrixXd wc = w.rowwise() - w.colwise().mean();
    Eigen::VectorXd c(P);
    for (int64_t j = 0; j < P; ++j) {
      const double var = wc.col(j).squaredNorm();
      c[j] = var > 0 ? gc.col(j).dot(wc.col(j)) / var : 0.0;
    }
    return c;
  };
  ControlVariateEstimate out;
  Eigen::MatrixXd g, w;
  if (options.fit == CoefficientFit::held_out) {
    check_samples(options.held_out_samples, "control_variate_gradient (held-out samples)");
    Eigen::MatrixXd gh, wh;
    draw(options.held_out_samples, gh, wh);
    out.coefficient = coefficient(gh, wh);
    draw(options.samples, g, w);
  } else {
    draw(options.samples, g, w);
    out.coefficient = coefficient(g, w);
  }
  out.estimate = summarize(g - w * out.coefficient.asDiagonal());
  return out;
}

Eigen::VectorXd exact_discrete_gradient(const DiscreteDistribution& q, const Eigen::VectorXd& theta,
                                        const DiscreteIntegrand& f) {
  const Eigen::VectorXd p = q.probabilities(theta);
  Eigen::VectorXd g = Eigen::VectorXd::Zero(theta.size());
  for (int64_t k = 0; k < q.support; ++k)
    if (p[k] > 0) g += f(k) * p[k] * q.score(theta, k);
  return g;
}

RaoBlackwellEstimate rao_blackwell_gradient(const DiscreteDistribution& q, const Eigen::VectorXd& theta,
                                            const DiscreteIntegrand& f, const RaoBlackwellOptions& options,
                                            Rng& rng) {
  check_samples(options.samples, "rao_blackwell_gradient");
  const Eigen::VectorXd p = q.probabilities(theta);
  DESCENT_CHECK(p.size() == q.support, ShapeError, "rao_blackwell_gradient: {} probabilities for support {}",
                p.size(), q.support);
  DESCENT_CHECK(options.enumerate >= 0 && options.enumerate <= q.support, InputError,
                "rao_blackwell_gradient: enumerate must be in [0, {}], got {}", q.support, options.enumerate);
  std::vector<int64_t> order(q.support);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
  // S₁ exactly: Σ f q ∇log q.
  Eigen::VectorXd exact = Eigen::VectorXd::Zero(theta.size());
  Eigen::VectorXd rest = p;  // q restricted to S₂
  RaoBlackwellEstimate out;
  for (int64_t i = 0; i < options.enumerate; ++i) {
    const int64_t k = order[i];
    if (p[k] > 0) exact += f(k) * p[k] * q.score(theta, k);
    out.mass_enumerated += p[k];
    rest[k] = 0;
  }
  const double mass_rest = rest.sum();  // q_θ(S₂)
  Eigen::MatrixXd terms(options.samples, theta.size());
  for (int64_t s = 0; s < options.samples; ++s) {
    Eigen::VectorXd t = exact;
    if (mass_rest > 0) {
      const int64_t k = sample_index(rest, rng);  // z ~ q(z | z ∈ S₂)
      t += mass_rest * f(k) * q.score(theta, k);
    }
    terms.row(s) = t.transpose();
  }
  out.estimate = summarize(terms);
  return out;
}

}  // namespace descent::estimators
