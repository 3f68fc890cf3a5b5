#include "descent/blackbox/cmaes.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <Eigen/Eigenvalues>

#include "descent/core/error.hpp"

namespace descent::blackbox {

Cmaes::Cmaes(Vector mean, double sigma, CmaesOptions options)
    : opt_(std::move(options)), rng_(opt_.seed), mean_(std::move(mean)), sigma_(sigma), sigma0_(sigma) {
  n_ = static_cast<int>(mean_.size());
  DESCENT_CHECK(n_ >= 1, InputError, "cma-es: the initial mean is empty (give at least one coordinate)");
  DESCENT_CHECK(std::isfinite(sigma) && sigma > 0, InputError, "cma-es: sigma must be positive and finite, got {}", sigma);
  DESCENT_CHECK(mean_.allFinite(), InputError, "cma-es: the initial mean has a NaN or infinite coordinate");
  if (opt_.bounds) {
    DESCENT_CHECK(opt_.bounds->dim() == n_, InputError, "cma-es: bounds have {} dimensions but the mean has {}",
                  opt_.bounds->dim(), n_);
  }
  lambda_ = opt_.population_size > 0 ? opt_.population_size : 4 + static_cast<int>(std::floor(3.0 * std::log(n_)));
  DESCENT_CHECK(lambda_ >= 2, InputError, "cma-es: population size must be >= 2, got {}", lambda_);
  mu_ = lambda_ / 2;

  // Tutorial eqs. (49)-(53): log-rank weights, positive ones summing to 1, negative ones
  // scaled by min(alpha_mu^-, alpha_mueff^-, alpha_posdef^-).
  Vector wp(lambda_);
  for (int i = 0; i < lambda_; ++i) wp[i] = std::log((lambda_ + 1) / 2.0) - std::log(i + 1.0);
  const double pos_sum = wp.head(mu_).sum();
  mu_eff_ = pos_sum * pos_sum / wp.head(mu_).squaredNorm();
  const double neg_sum = -wp.tail(lambda_ - mu_).cwiseMin(0.0).sum();
  const double mu_eff_minus = neg_sum > 0 ? neg_sum * neg_sum / wp.tail(lambda_ - mu_).squaredNorm() : 0.0;

  const double n = n_;
  c1_ = 2.0 / ((n + 1.3) * (n + 1.3) + mu_eff_);
  cmu_ = std::min(1.0 - c1_ - 1e-8, 2.0 * (mu_eff_ - 2.0 + 1.0 / mu_eff_) / ((n + 2.0) * (n + 2.0) + mu_eff_));
  const double alpha_min = std::min({1.0 + c1_ / cmu_, 1.0 + 2.0 * mu_eff_minus / (mu_eff_ + 2.0),
                                     (1.0 - c1_ - cmu_) / (n * cmu_)});
  weights_.resize(lambda_);
  for (int i = 0; i < lambda_; ++i) {
    if (wp[i] >= 0) weights_[i] = wp[i] / pos_sum;
    else weights_[i] = opt_.active && neg_sum > 0 ? alpha_min * wp[i] / neg_sum : 0.0;
  }
  sum_weights_ = weights_.sum();
  c_sigma_ = (mu_eff_ + 2.0) / (n + mu_eff_ + 5.0);
  d_sigma_ = 1.0 + 2.0 * std::max(0.0, std::sqrt((mu_eff_ - 1.0) / (n + 1.0)) - 1.0) + c_sigma_;
  cc_ = (4.0 + mu_eff_ / n) / (n + 4.0 + 2.0 * mu_eff_ / n);
  chi_n_ = std::sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));

  p_sigma_ = Vector::Zero(n_);
  pc_ = Vector::Zero(n_);
  C_ = Matrix::Identity(n_, n_);
  B_ = Matrix::Identity(n_, n_);
  BD_ = Matrix::Identity(n_, n_);
  invsqrtC_ = Matrix::Identity(n_, n_);
  D_ = Vector::Ones(n_);
  eigen_generation_ = 0;
  Y_.resize(n_, lambda_);
  z_.resize(n_);
  yw_.resize(n_);
  tmp_.resize(n_);
  w_o_.resize(lambda_);
  order_.resize(lambda_);
  best_f_ = std::numeric_limits<double>::infinity();
}

// C = B D^2 B^T; recomputed lazily, every lambda / ((c1 + cmu) n 10) generations
// (tutorial appendix B.2), which keeps the O(n^3) cost at O(n^2) per sample.
void Cmaes::update_eigensystem() {
  if (eigen_generation_ == generation_) return;
  const double gap = lambda_ / ((c1_ + cmu_) * n_ * 10.0);
  if (generation_ - eigen_generation_ < gap) return;
  eigen_generation_ = generation_;
  C_ = 0.5 * (C_ + C_.transpose()).eval();
  Eigen::SelfAdjointEigenSolver<Matrix> es(C_);
  B_ = es.eigenvectors();
  D_ = es.eigenvalues().cwiseMax(1e-300).cwiseSqrt();
  BD_ = B_ * D_.asDiagonal();
  invsqrtC_ = B_ * D_.cwiseInverse().asDiagonal() * B_.transpose();
}

Vector Cmaes::sample_one() {
  for (int i = 0; i < n_; ++i) z_[i] = rng_.normal();
  Vector x = mean_;
  x.noalias() += sigma_ * (BD_ * z_);
  return x;
}

std::vector<Vector> Cmaes::ask() {
  update_eigensystem();
  std::vector<Vector> xs(lambda_);
  for (int k = 0; k < lambda_; ++k) {
    Vector x = sample_one();
    if (opt_.bounds) {
      for (int t = 0; t < opt_.max_resampling && !opt_.bounds->contains(x); ++t) x = sample_one();
      x = opt_.bounds->clip(x);
    }
    xs[k] = std::move(x);
  }
  return xs;
}

void Cmaes::tell(const std::vector<Vector>& xs, const std::vector<double>& fs) {
  DESCENT_CHECK(static_cast<int>(xs.size()) == lambda_ && fs.size() == xs.size(), InputError,
                "cma-es: tell needs the {} points of one ask and their values, got {} points and {} values",
                lambda_, xs.size(), fs.size());
  update_eigensystem();
  ++generation_;
  std::iota(order_.begin(), order_.end(), 0);
  // NaN ranks last, like +inf (a failed evaluation).
  auto key = [&](int i) { return std::isnan(fs[i]) ? std::numeric_limits<double>::infinity() : fs[i]; };
  std::stable_sort(order_.begin(), order_.end(), [&](int a, int b) { return key(a) < key(b); });
  if (key(order_[0]) < best_f_) {
    best_f_ = key(order_[0]);
    best_x_ = xs[order_[0]];
  }
  fun_hist_.push_back(key(order_[0]));
  fun_hist_.push_back(key(order_[lambda_ - 1]));

  const double inv_sigma = 1.0 / sigma_;
  for (int k = 0; k < lambda_; ++k) Y_.col(k) = (xs[order_[k]] - mean_) * inv_sigma;  // y_{k:lambda}
  yw_.noalias() = Y_.leftCols(mu_) * weights_.head(mu_);  // eq. (41)
  mean_.noalias() += sigma_ * yw_;                        // c_m = 1

  // CSA, eqs. (43)-(44).
  tmp_.noalias() = invsqrtC_ * yw_;
  p_sigma_ = (1.0 - c_sigma_) * p_sigma_ + std::sqrt(c_sigma_ * (2.0 - c_sigma_) * mu_eff_) * tmp_;
  const double ps_norm = p_sigma_.norm();
  sigma_ *= std::exp((c_sigma_ / d_sigma_) * (ps_norm / chi_n_ - 1.0));

  // Rank-one path with the stall indicator h_sigma, eq. (45).
  const double h_left = ps_norm / std::sqrt(1.0 - std::pow(1.0 - c_sigma_, 2.0 * (generation_ + 1)));
  const double h_sigma = h_left < (1.4 + 2.0 / (n_ + 1.0)) * chi_n_ ? 1.0 : 0.0;
  pc_ = (1.0 - cc_) * pc_ + h_sigma * std::sqrt(cc_ * (2.0 - cc_) * mu_eff_) * yw_;

  // Active rank-mu weights w°: negative weights rescaled by n / ||C^{-1/2} y||^2, eq. (46).
  for (int k = 0; k < lambda_; ++k) {
    if (weights_[k] >= 0) {
      w_o_[k] = weights_[k];
    } else {
      tmp_.noalias() = invsqrtC_ * Y_.col(k);
      w_o_[k] = weights_[k] * n_ / (tmp_.squaredNorm() + 1e-300);
    }
  }
  const double delta_h = (1.0 - h_sigma) * cc_ * (2.0 - cc_);
  // Eq. (47): C <- (1 + c1 delta(h) - c1 - cmu sum w) C + c1 pc pc^T + cmu sum w° y y^T.
  C_ *= 1.0 + c1_ * delta_h - c1_ - cmu_ * sum_weights_;
  C_.noalias() += c1_ * pc_ * pc_.transpose();
  C_.noalias() += (Y_ * (cmu_ * w_o_).asDiagonal()) * Y_.transpose();
}

bool Cmaes::should_stop() const {
  stop_reason_.clear();
  const int fun_term = 10 + static_cast<int>(std::ceil(30.0 * n_ / lambda_));
  if (generation_ > fun_term) {
    const auto first = fun_hist_.end() - 2 * fun_term;
    const auto [lo, hi] = std::minmax_element(first, fun_hist_.end());
    if (std::isfinite(*hi) && *hi - *lo < opt_.tol_fun) stop_reason_ = "tol_fun: recent values differ by less than tol_fun";
  }
  const Vector sd = C_.diagonal().cwiseMax(0.0).cwiseSqrt();
  if (stop_reason_.empty() && (sigma_ * sd.array() < opt_.tol_x * sigma0_).all() &&
      (sigma_ * pc_.array().abs() < opt_.tol_x * sigma0_).all())
    stop_reason_ = "tol_x: the search distribution is smaller than tol_x * sigma0";
  if (stop_reason_.empty() && sigma_ * D_.maxCoeff() > opt_.tol_x_up * sigma0_)
    stop_reason_ = "tol_x_up: sigma grew by more than tol_x_up (is f bounded below?)";
  if (stop_reason_.empty() && D_.maxCoeff() * D_.maxCoeff() > opt_.tol_condition * D_.minCoeff() * D_.minCoeff())
    stop_reason_ = "condition number of C exceeds tol_condition";
  if (stop_reason_.empty() && (mean_.array() == (mean_ + 0.2 * sigma_ * sd).array()).any())
    stop_reason_ = "no effect of a coordinate step on the mean";
  if (stop_reason_.empty() && !std::isfinite(sigma_)) stop_reason_ = "sigma is not finite";
  return !stop_reason_.empty();
}

std::string Cmaes::stop_reason() const {
  should_stop();
  return stop_reason_;
}

// ---- restarts ----

CmaesWithRestarts::CmaesWithRestarts(Vector mean, double sigma, CmaesOptions options, CmaesRestartOptions restarts)
    : base_(std::move(options)), ropt_(std::move(restarts)), rng_(base_.seed ^ 0x9e3779b97f4a7c15ULL), sigma0_(sigma) {
  if (ropt_.restart_box) box_ = *ropt_.restart_box;
  else if (base_.bounds) box_ = *base_.bounds;
  else box_ = Bounds(mean.array() - 2.0 * sigma, mean.array() + 2.0 * sigma);
  cma_ = std::make_unique<Cmaes>(std::move(mean), sigma, base_);
  default_lambda_ = large_lambda_ = cma_->population_size();
}

std::vector<Vector> CmaesWithRestarts::ask() {
  if (cma_->should_stop() && restarts_ < ropt_.max_restarts && ropt_.strategy != CmaesRestartOptions::Strategy::none)
    restart();
  return cma_->ask();
}

void CmaesWithRestarts::tell(const std::vector<Vector>& xs, const std::vector<double>& fs) {
  cma_->tell(xs, fs);
  (running_large_ ? evals_large_ : evals_small_) += static_cast<int64_t>(xs.size());
}

void CmaesWithRestarts::restart() {
  ++restarts_;
  CmaesOptions o = base_;
  o.seed = base_.seed + 1000003ULL * restarts_;
  double sigma = sigma0_;
  if (ropt_.strategy == CmaesRestartOptions::Strategy::ipop) {
    large_lambda_ = static_cast<int>(std::lround(large_lambda_ * ropt_.increase_factor));
    o.population_size = large_lambda_;
    running_large_ = true;
  } else {
    // BIPOP: a large-population run first, then whichever regime has spent fewer evaluations.
    if (large_runs_ == 0 || evals_small_ >= evals_large_) {
      ++large_runs_;
      large_lambda_ = static_cast<int>(std::lround(default_lambda_ * std::pow(ropt_.increase_factor, large_runs_)));
      o.population_size = large_lambda_;
      running_large_ = true;
    } else {
      const double u = rng_.uniform();
      o.population_size = std::max(
          2, static_cast<int>(std::floor(default_lambda_ * std::pow(0.5 * large_lambda_ / default_lambda_, u * u))));
      sigma = sigma0_ * std::pow(10.0, -2.0 * rng_.uniform());
      running_large_ = false;
    }
  }
  cma_ = std::make_unique<Cmaes>(box_.sample(rng_), sigma, o);
}

bool CmaesWithRestarts::should_stop() const {
  return cma_->should_stop() &&
         (ropt_.strategy == CmaesRestartOptions::Strategy::none || restarts_ >= ropt_.max_restarts);
}

std::string CmaesWithRestarts::stop_reason() const {
  return cma_->stop_reason() + fmt::format(" (after {} restarts)", restarts_);
}

std::string CmaesWithRestarts::name() const {
  switch (ropt_.strategy) {
    case CmaesRestartOptions::Strategy::ipop: return "ipop-cma-es";
    case CmaesRestartOptions::Strategy::bipop: return "bipop-cma-es";
    default: return "cma-es";
  }
}

}  // namespace descent::blackbox
