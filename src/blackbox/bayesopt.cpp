#include "descent/blackbox/bayesopt.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

#include <Eigen/Eigenvalues>

#include "descent/core/error.hpp"
#include "descent/optim/lbfgs.hpp"

namespace descent::blackbox {
namespace {

constexpr double kInvSqrt2Pi = 0.39894228040143267794;

double normal_pdf(double z) { return kInvSqrt2Pi * std::exp(-0.5 * z * z); }
double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }

// Probabilists' Gauss-Hermite rule (Golub-Welsch): E[g(Z)] ~ sum_k w_k g(z_k), Z ~ N(0,1).
void gauss_hermite(int k, Vector& nodes, Vector& weights) {
  Matrix J = Matrix::Zero(k, k);
  for (int i = 1; i < k; ++i) J(i, i - 1) = J(i - 1, i) = std::sqrt(double(i));
  Eigen::SelfAdjointEigenSolver<Matrix> es(J);
  nodes = es.eigenvalues();
  weights = es.eigenvectors().row(0).transpose().array().square();
}

std::vector<Vector> latin_hypercube(int n, Eigen::Index d, Rng& rng) {
  std::vector<Vector> pts(n, Vector(d));
  for (Eigen::Index j = 0; j < d; ++j) {
    auto perm = rng.permutation(n);
    for (int i = 0; i < n; ++i) pts[i][j] = (double(perm[i]) + rng.uniform()) / double(n);
  }
  return pts;
}

Matrix to_columns(const std::vector<Vector>& v, Eigen::Index d) {
  Matrix M(d, static_cast<Eigen::Index>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) M.col(static_cast<Eigen::Index>(i)) = v[i];
  return M;
}

}  // namespace

double probability_of_improvement(double mean, double sd, double best) {
  if (sd <= 0) return mean < best ? 1.0 : 0.0;
  return normal_cdf((best - mean) / sd);
}

double expected_improvement(double mean, double sd, double best) {
  if (sd <= 0) return std::max(best - mean, 0.0);
  const double z = (best - mean) / sd;
  return sd * (z * normal_cdf(z) + normal_pdf(z));
}

double log_expected_improvement(double mean, double sd, double best) {
  if (sd <= 0) return best > mean ? std::log(best - mean) : -std::numeric_limits<double>::infinity();
  const double z = (best - mean) / sd;
  if (z > -6.0) return std::log(sd) + std::log(std::max(z * normal_cdf(z) + normal_pdf(z), 1e-300));
  // z Phi(z) + phi(z) = phi(z) (1/z^2 - 3/z^4 + 15/z^6 - 105/z^8 ...) as z -> -inf (Mills ratio).
  const double z2 = z * z;
  return std::log(sd) - 0.5 * z2 + std::log(kInvSqrt2Pi) + std::log(1.0 / z2 - 3.0 / (z2 * z2) + 15.0 / (z2 * z2 * z2) - 105.0 / (z2 * z2 * z2 * z2));
}

double expected_improvement_monte_carlo(const GaussianProcess& gp, const Vector& x, double best, int samples,
                                        Rng& rng) {
  const Matrix F = gp.sample_posterior(x, samples, rng);
  return (best - F.col(0).array()).max(0.0).mean();
}

Vector knowledge_gradient(const GaussianProcess& gp, const Matrix& A, int quadrature_nodes) {
  Vector mu, var;
  gp.predict(A, mu, var);
  const Matrix S = gp.posterior_covariance(A);
  const double noise = gp.noise_variance();
  Vector z, w;
  gauss_hermite(quadrature_nodes, z, w);
  const double current = mu.minCoeff();
  const Eigen::Index m = A.cols();
  Vector kg(m);
  for (Eigen::Index j = 0; j < m; ++j) {
    // mu_{n+1}(x') = mu_n(x') + sigma~(x', x_j) Z with sigma~ = S(x', x_j) / sqrt(S_jj + s_n^2).
    const Vector sig = S.col(j) / std::sqrt(std::max(S(j, j), 0.0) + noise);
    double expected_min = 0.0;
    for (int k = 0; k < quadrature_nodes; ++k) expected_min += w[k] * (mu + z[k] * sig).minCoeff();
    kg[j] = std::max(current - expected_min, 0.0);
  }
  return kg;
}

Acquisition parse_acquisition(const std::string& name) {
  if (name == "ei") return Acquisition::expected_improvement;
  if (name == "pi") return Acquisition::probability_of_improvement;
  if (name == "ucb" || name == "lcb") return Acquisition::lower_confidence_bound;
  if (name == "thompson") return Acquisition::thompson_sampling;
  if (name == "kg") return Acquisition::knowledge_gradient;
  if (name == "wei") return Acquisition::weighted_expected_improvement;
  fail<InputError>("unknown acquisition '{}' (use ei, pi, ucb, thompson, kg or wei)", name);
}

std::string to_string(Acquisition a) {
  switch (a) {
    case Acquisition::expected_improvement: return "ei";
    case Acquisition::probability_of_improvement: return "pi";
    case Acquisition::lower_confidence_bound: return "ucb";
    case Acquisition::thompson_sampling: return "thompson";
    case Acquisition::knowledge_gradient: return "kg";
    case Acquisition::weighted_expected_improvement: return "wei";
  }
  return "?";
}

BayesianOptimizer::BayesianOptimizer(Bounds bounds, BayesOptOptions options)
    : bounds_(std::move(bounds)), opt_(std::move(options)), rng_(opt_.seed), gp_(opt_.kernel, std::max<Eigen::Index>(1, bounds_.dim())),
      feasibility_gp_(Kernel::matern52, std::max<Eigen::Index>(1, bounds_.dim())) {
  const Eigen::Index d = bounds_.dim();
  DESCENT_CHECK(d >= 1, InputError, "bayesian optimization: the search box is empty (give bounds)");
  DESCENT_CHECK((bounds_.width().array() > 0).all(), InputError,
                "bayesian optimization: every dimension needs lower < upper (a zero-width box cannot be searched)");
  DESCENT_CHECK(opt_.batch_size >= 1, InputError, "bayesian optimization: batch size must be >= 1");
  const int n0 = opt_.initial_points > 0 ? opt_.initial_points : std::max<int>(3, int(d) + 1);
  design_ = latin_hypercube(n0, d, rng_);
  std::reverse(design_.begin(), design_.end());  // handed out from the back
}

void BayesianOptimizer::tell(const std::vector<Vector>& xs, const std::vector<double>& fs) {
  DESCENT_CHECK(xs.size() == fs.size(), InputError, "bayesian optimization: {} points but {} values", xs.size(),
                fs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    DESCENT_CHECK(xs[i].size() == bounds_.dim(), InputError, "bayesian optimization: point {} has {} coordinates, expected {}",
                  i, xs[i].size(), bounds_.dim());
    const Vector u = bounds_.to_unit(xs[i]);
    if (std::isfinite(fs[i])) {
      U_.push_back(u);
      y_.push_back(fs[i]);
    } else {
      failed_.push_back(u);
    }
  }
}

void BayesianOptimizer::refit_surrogate() {
  gp_.set_data(to_columns(U_, bounds_.dim()), Eigen::Map<const Vector>(y_.data(), Eigen::Index(y_.size())));
  gp_.fit(rng_, opt_.gp_fit);
  if (opt_.acquisition == Acquisition::weighted_expected_improvement && !failed_.empty()) {
    // Feasibility by GP regression on +-1 labels, squashed by a probit (a cheap stand-in
    // for the GP classifier of [GSA14]): P(feasible) = Phi(m / sqrt(1 + s^2)).
    std::vector<Vector> all = U_;
    all.insert(all.end(), failed_.begin(), failed_.end());
    Vector labels(Eigen::Index(all.size()));
    labels.head(U_.size()).setOnes();
    labels.tail(failed_.size()).setConstant(-1.0);
    feasibility_gp_.set_data(to_columns(all, bounds_.dim()), labels);
    feasibility_gp_.fit(rng_, opt_.gp_fit);
  }
}

double BayesianOptimizer::feasibility(const Matrix& U, Vector* out) const {
  if (opt_.acquisition != Acquisition::weighted_expected_improvement || failed_.empty()) {
    out->setOnes(U.cols());
    return 1.0;
  }
  Vector m, v;
  feasibility_gp_.predict(U, m, v);
  out->resize(U.cols());
  for (Eigen::Index i = 0; i < U.cols(); ++i) (*out)[i] = normal_cdf(m[i] / std::sqrt(1.0 + v[i]));
  return 0.0;
}

Matrix BayesianOptimizer::candidate_set(int random, int local) {
  const Eigen::Index d = bounds_.dim();
  Matrix C(d, random + local);
  for (int i = 0; i < random; ++i)
    for (Eigen::Index j = 0; j < d; ++j) C(j, i) = rng_.uniform();
  // Perturbations of the best observations, at several scales (exploitation candidates).
  std::vector<int> order(y_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return y_[a] < y_[b]; });
  const int top = std::min<int>(5, static_cast<int>(order.size()));
  for (int i = 0; i < local; ++i) {
    const Vector& base = top > 0 ? U_[order[i % top]] : Vector(Vector::Constant(d, 0.5));
    const double scale = std::pow(10.0, -1.0 - 2.0 * rng_.uniform());
    for (Eigen::Index j = 0; j < d; ++j) C(j, random + i) = std::clamp(base[j] + scale * rng_.normal(), 0.0, 1.0);
  }
  return C;
}

Vector BayesianOptimizer::propose(double best) {
  const Eigen::Index d = bounds_.dim();
  const Acquisition acq = opt_.acquisition;
  if (acq == Acquisition::thompson_sampling || acq == Acquisition::knowledge_gradient) {
    const int m = opt_.discrete_candidates;
    Matrix A = candidate_set(m - m / 3, m / 3);
    Eigen::Index pick = 0;
    if (acq == Acquisition::thompson_sampling) {
      gp_.sample_posterior(A, 1, rng_).row(0).minCoeff(&pick);  // eq. (6.180)
    } else {
      knowledge_gradient(gp_, A).maxCoeff(&pick);
    }
    return A.col(pick);
  }

  // Acquisition to maximize, evaluated on columns of U.
  auto score = [&](const Matrix& U) {
    Vector mu, var, feas;
    gp_.predict(U, mu, var);
    feasibility(U, &feas);
    Vector s(U.cols());
    for (Eigen::Index i = 0; i < U.cols(); ++i) {
      const double sd = std::sqrt(var[i]);
      switch (acq) {
        case Acquisition::probability_of_improvement:
          s[i] = std::log(std::max(probability_of_improvement(mu[i], sd, best), 1e-300));
          break;
        case Acquisition::lower_confidence_bound: s[i] = -(mu[i] - opt_.ucb_beta * sd); break;
        default:  // EI and weighted EI, in logs
          s[i] = log_expected_improvement(mu[i], sd, best) + std::log(std::max(feas[i], 1e-300));
      }
    }
    return s;
  };

  const Matrix C = candidate_set(opt_.random_candidates, opt_.local_candidates);
  const Vector sc = score(C);
  std::vector<int> order(C.cols());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + std::min<int>(opt_.local_starts, int(order.size())), order.end(),
                    [&](int a, int b) { return sc[a] > sc[b]; });

  // Local refinement: L-BFGS on -score(clip(u)) + wall, central-difference gradients.
  Vector best_u = C.col(order[0]);
  double best_score = sc[order[0]];
  Matrix P(d, 2 * d + 1);
  auto objective = [&](const Vector& u, Vector& g) {
    const Vector uc = u.cwiseMax(0.0).cwiseMin(1.0);
    const double h = 1e-6;
    P.col(0) = uc;
    for (Eigen::Index j = 0; j < d; ++j) {
      P.col(1 + 2 * j) = uc;
      P.col(2 + 2 * j) = uc;
      P(j, 1 + 2 * j) = std::min(uc[j] + h, 1.0);
      P(j, 2 + 2 * j) = std::max(uc[j] - h, 0.0);
    }
    const Vector s = score(P);
    const double wall = (u - uc).squaredNorm();
    for (Eigen::Index j = 0; j < d; ++j) {
      const double step = P(j, 1 + 2 * j) - P(j, 2 + 2 * j);
      g[j] = step > 0 ? -(s[1 + 2 * j] - s[2 + 2 * j]) / step : 0.0;
      g[j] += 2e3 * (u[j] - uc[j]);
    }
    return -s[0] + 1e3 * wall;
  };
  optim::LbfgsOptions lo;
  lo.max_iterations = 60;
  lo.gradient_tolerance = 1e-7;
  lo.function_tolerance = 1e-9;
  for (int k = 0; k < std::min<int>(opt_.local_starts, int(order.size())); ++k) {
    const auto r = optim::lbfgs(objective, C.col(order[k]), lo);
    const Vector u = r.x.cwiseMax(0.0).cwiseMin(1.0);
    const double s = score(u)[0];
    if (std::isfinite(s) && s > best_score) {
      best_score = s;
      best_u = u;
    }
  }
  return best_u;
}

std::vector<Vector> BayesianOptimizer::ask() {
  std::vector<Vector> out;
  if (!design_.empty() || y_.empty()) {
    if (design_.empty()) design_ = latin_hypercube(std::max(1, opt_.batch_size), bounds_.dim(), rng_);
    while (!design_.empty()) {
      out.push_back(bounds_.from_unit(design_.back()));
      design_.pop_back();
    }
    return out;
  }
  refit_surrogate();
  const double best = *std::min_element(y_.begin(), y_.end());
  if (opt_.batch_size == 1) return {bounds_.from_unit(propose(best))};

  // Constant liar (Ginsbourger et al. 2010): pretend each proposal returned the liar value,
  // condition the GP on it (hyper-parameters fixed) and propose the next.
  const double liar = opt_.liar == BayesOptOptions::Liar::min ? best
                      : opt_.liar == BayesOptOptions::Liar::max ? *std::max_element(y_.begin(), y_.end())
                      : std::accumulate(y_.begin(), y_.end(), 0.0) / double(y_.size());
  std::vector<Vector> U = U_;
  std::vector<double> y = y_;
  for (int j = 0; j < opt_.batch_size; ++j) {
    const Vector u = propose(best);
    out.push_back(bounds_.from_unit(u));
    U.push_back(u);
    y.push_back(liar);
    gp_.set_data(to_columns(U, bounds_.dim()), Eigen::Map<const Vector>(y.data(), Eigen::Index(y.size())));
  }
  return out;
}

}  // namespace descent::blackbox
