#include "descent/blackbox/population.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <Eigen/Cholesky>

#include "descent/core/error.hpp"

namespace descent::blackbox {
namespace {

std::vector<int> ranks_ascending(const std::vector<double>& fs) {
  std::vector<int> order(fs.size());
  std::iota(order.begin(), order.end(), 0);
  auto key = [&](int i) { return std::isnan(fs[i]) ? std::numeric_limits<double>::infinity() : fs[i]; };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key(a) < key(b); });
  return order;
}

void check_tell(const char* who, size_t xs, size_t fs) {
  DESCENT_CHECK(xs == fs && xs > 0, InputError, "{}: tell needs as many values as points, got {} points and {} values",
                who, xs, fs);
}

}  // namespace

// ---- random and grid search ----

RandomSearch::RandomSearch(Bounds bounds, int batch, uint64_t seed) : bounds_(std::move(bounds)), batch_(batch), rng_(seed) {
  DESCENT_CHECK(!bounds_.empty(), InputError, "random search: give a non-empty box");
  DESCENT_CHECK(batch >= 1, InputError, "random search: batch must be >= 1");
}

std::vector<Vector> RandomSearch::ask() {
  std::vector<Vector> xs(batch_);
  for (auto& x : xs) x = bounds_.sample(rng_);
  return xs;
}

GridSearch::GridSearch(Bounds bounds, int points_per_dim, int batch)
    : bounds_(std::move(bounds)), k_(points_per_dim), batch_(batch) {
  DESCENT_CHECK(!bounds_.empty() && k_ >= 1 && batch_ >= 1, InputError,
                "grid search: needs a box, >= 1 point per dimension and batch >= 1");
  for (Eigen::Index i = 0; i < bounds_.dim(); ++i) {
    DESCENT_CHECK(total_ <= (int64_t(1) << 40) / k_, InputError, "grid search: {}^{} points is too many", k_, bounds_.dim());
    total_ *= k_;
  }
}

std::vector<Vector> GridSearch::ask() {
  std::vector<Vector> xs;
  for (int b = 0; b < batch_ && next_ < total_; ++b, ++next_) {
    Vector u(bounds_.dim());
    int64_t idx = next_;
    for (Eigen::Index i = 0; i < bounds_.dim(); ++i) {
      u[i] = (double(idx % k_) + 0.5) / double(k_);
      idx /= k_;
    }
    xs.push_back(bounds_.from_unit(u));
  }
  return xs;
}

// ---- genetic algorithm ----

GeneticAlgorithm::GeneticAlgorithm(Bounds bounds, GeneticOptions options)
    : bounds_(std::move(bounds)), opt_(options), rng_(options.seed) {
  DESCENT_CHECK(!bounds_.empty(), InputError, "genetic algorithm: give a non-empty box");
  DESCENT_CHECK(opt_.population_size >= 2, InputError, "genetic algorithm: population must be >= 2");
  DESCENT_CHECK(opt_.elites >= 0 && opt_.elites < opt_.population_size, InputError,
                "genetic algorithm: elites must be in [0, population)");
  if (opt_.mutation_rate < 0) opt_.mutation_rate = 1.0 / double(bounds_.dim());
}

int GeneticAlgorithm::select(const std::vector<double>& w) {
  const int n = static_cast<int>(pop_.size());
  switch (opt_.selection) {
    case GeneticOptions::Selection::tournament: {
      int best = static_cast<int>(rng_.below(n));
      for (int t = 1; t < opt_.tournament_size; ++t) {
        const int c = static_cast<int>(rng_.below(n));
        if (f_[c] < f_[best]) best = c;
      }
      return best;
    }
    case GeneticOptions::Selection::truncation: {
      const int k = std::max(1, static_cast<int>(std::lround(opt_.truncation_fraction * n)));
      return static_cast<int>(w[rng_.below(k)]);  // w holds the rank order here
    }
    case GeneticOptions::Selection::proportional: {
      const double total = std::accumulate(w.begin(), w.end(), 0.0);
      double u = rng_.uniform() * total;
      for (int i = 0; i < n; ++i)
        if ((u -= w[i]) <= 0) return i;
      return n - 1;
    }
  }
  return 0;
}

std::vector<Vector> GeneticAlgorithm::ask() {
  const Eigen::Index d = bounds_.dim();
  const bool binary = opt_.encoding == GeneticOptions::Encoding::binary;
  if (f_.empty()) {  // first generation: uniform
    pop_.assign(opt_.population_size, Vector(d));
    for (auto& x : pop_) {
      if (binary) for (auto& v : x) v = double(rng_.below(2));
      else x = bounds_.sample(rng_);
    }
    return pop_;
  }
  const auto order = ranks_ascending(f_);
  std::vector<double> w(pop_.size());
  if (opt_.selection == GeneticOptions::Selection::truncation) {
    for (size_t i = 0; i < w.size(); ++i) w[i] = order[i];
  } else {
    double worst = -std::numeric_limits<double>::infinity(), bestf = std::numeric_limits<double>::infinity();
    for (double f : f_)
      if (std::isfinite(f)) worst = std::max(worst, f), bestf = std::min(bestf, f);
    const double eps = 1e-12 + 1e-6 * (worst - bestf);
    for (size_t i = 0; i < w.size(); ++i) w[i] = std::isfinite(f_[i]) ? worst - f_[i] + eps : 0.0;
  }
  std::vector<Vector> next;
  for (int e = 0; e < opt_.elites; ++e) next.push_back(pop_[order[e]]);
  const Vector width = bounds_.width();
  while (static_cast<int>(next.size()) < opt_.population_size) {
    Vector a = pop_[select(w)], b = pop_[select(w)];
    if (rng_.uniform() < opt_.crossover_rate && d > 1) {
      switch (opt_.crossover) {
        case GeneticOptions::Crossover::single_point: {  // swap tails after the cut (Fig 6.13)
          const Eigen::Index cut = 1 + static_cast<Eigen::Index>(rng_.below(d - 1));
          a.tail(d - cut).swap(b.tail(d - cut));
          break;
        }
        case GeneticOptions::Crossover::uniform:
          for (Eigen::Index i = 0; i < d; ++i)
            if (rng_.bernoulli(0.5)) std::swap(a[i], b[i]);
          break;
        case GeneticOptions::Crossover::blend:
          for (Eigen::Index i = 0; i < d; ++i) {
            const double u = rng_.uniform(-0.25, 1.25);  // BLX-0.25 for a, its mirror for b
            const double ai = a[i], bi = b[i];
            a[i] = ai + u * (bi - ai);
            b[i] = bi + u * (ai - bi);
          }
          break;
      }
    }
    for (Vector* c : {&a, &b}) {
      for (Eigen::Index i = 0; i < d; ++i) {
        if (!rng_.bernoulli(opt_.mutation_rate)) continue;
        if (binary) (*c)[i] = 1.0 - (*c)[i];
        else (*c)[i] += opt_.mutation_scale * width[i] * rng_.normal();
      }
      if (!binary) *c = bounds_.clip(*c);
      if (static_cast<int>(next.size()) < opt_.population_size) next.push_back(*c);
    }
  }
  pop_ = std::move(next);
  return pop_;
}

void GeneticAlgorithm::tell(const std::vector<Vector>& xs, const std::vector<double>& fs) {
  check_tell("genetic algorithm", xs.size(), fs.size());
  pop_ = xs;
  f_ = fs;
}

// ---- Bernoulli EDA ----

BernoulliEda::BernoulliEda(int bits, BernoulliEdaOptions options) : opt_(options), rng_(options.seed) {
  DESCENT_CHECK(bits >= 1, InputError, "eda: need at least one bit");
  DESCENT_CHECK(opt_.elite >= 1 && opt_.elite <= opt_.samples, InputError, "eda: need 1 <= elite <= samples");
  DESCENT_CHECK(opt_.learning_rate > 0 && opt_.learning_rate <= 1, InputError, "pbil: learning rate must be in (0, 1]");
  theta_ = Vector::Constant(bits, 0.5);
}

std::vector<Vector> BernoulliEda::ask() {
  std::vector<Vector> xs(opt_.samples, Vector(theta_.size()));
  for (auto& x : xs)
    for (Eigen::Index i = 0; i < x.size(); ++i) x[i] = rng_.bernoulli(theta_[i]) ? 1.0 : 0.0;
  return xs;
}

void BernoulliEda::tell(const std::vector<Vector>& xs, const std::vector<double>& fs) {
  check_tell("eda", xs.size(), fs.size());
  const auto order = ranks_ascending(fs);
  const int k = std::min<int>(opt_.elite, static_cast<int>(xs.size()));
  Vector freq = Vector::Zero(theta_.size());
  for (int i = 0; i < k; ++i) freq += xs[order[i]];
  freq /= double(k);  // theta-bar of eq. (6.188), N_t = K
  if (opt_.kind == BernoulliEdaOptions::Kind::umda) theta_ = freq;
  else theta_ = (1.0 - opt_.learning_rate) * theta_ + opt_.learning_rate * freq;
  theta_ = theta_.cwiseMax(opt_.margin).cwiseMin(1.0 - opt_.margin);
}

bool BernoulliEda::should_stop() const {
  return ((theta_.array() < 1e-9) || (theta_.array() > 1.0 - 1e-9)).all();
}

double BernoulliEda::entropy() const {
  double h = 0.0;
  for (double p : theta_) {
    if (p > 0) h -= p * std::log(p);
    if (p < 1) h -= (1 - p) * std::log(1 - p);
  }
  return h;
}

// ---- cross-entropy method ----

CrossEntropyMethod::CrossEntropyMethod(Vector mean, double sigma, CrossEntropyOptions options)
    : opt_(options), rng_(options.seed), mean_(std::move(mean)) {
  DESCENT_CHECK(mean_.size() >= 1 && sigma > 0, InputError, "cem: needs a non-empty mean and sigma > 0");
  DESCENT_CHECK(opt_.samples >= 2 && opt_.elite_fraction > 0 && opt_.elite_fraction <= 1, InputError,
                "cem: needs samples >= 2 and elite fraction in (0, 1]");
  cov_ = sigma * sigma * Matrix::Identity(mean_.size(), mean_.size());
}

std::vector<Vector> CrossEntropyMethod::ask() {
  const Eigen::Index d = mean_.size();
  Matrix L;
  if (opt_.full_covariance) {
    Eigen::LLT<Matrix> llt(cov_ + opt_.variance_floor * Matrix::Identity(d, d));
    L = llt.matrixL();
  } else {
    L = cov_.diagonal().cwiseSqrt().asDiagonal();
  }
  std::vector<Vector> xs(opt_.samples);
  Vector z(d);
  for (auto& x : xs) {
    for (auto& v : z) v = rng_.normal();
    x = mean_ + L * z;
  }
  return xs;
}

void CrossEntropyMethod::tell(const std::vector<Vector>& xs, const std::vector<double>& fs) {
  check_tell("cem", xs.size(), fs.size());
  const auto order = ranks_ascending(fs);
  const int k = std::max(2, static_cast<int>(std::lround(opt_.elite_fraction * xs.size())));
  const Eigen::Index d = mean_.size();
  Vector m = Vector::Zero(d);
  for (int i = 0; i < k; ++i) m += xs[order[i]];
  m /= k;
  Matrix S = Matrix::Zero(d, d);
  for (int i = 0; i < k; ++i) {
    const Vector c = xs[order[i]] - m;
    if (opt_.full_covariance) S.noalias() += c * c.transpose();
    else S.diagonal() += c.cwiseProduct(c);
  }
  S /= k;
  S.diagonal().array() += opt_.variance_floor;
  mean_ = (1 - opt_.smoothing) * m + opt_.smoothing * mean_;
  cov_ = (1 - opt_.smoothing) * S + opt_.smoothing * cov_;
}

// ---- separable NES ----

SeparableNes::SeparableNes(Vector mean, double sigma, NesOptions options)
    : opt_(options), rng_(options.seed), mean_(std::move(mean)) {
  const Eigen::Index d = mean_.size();
  DESCENT_CHECK(d >= 1 && sigma > 0, InputError, "snes: needs a non-empty mean and sigma > 0");
  sigma_ = Vector::Constant(d, sigma);
  lambda_ = opt_.population_size > 0 ? opt_.population_size : 4 + static_cast<int>(std::floor(3 * std::log(double(d))));
  DESCENT_CHECK(lambda_ >= 2, InputError, "snes: population must be >= 2");
  if (opt_.learning_rate_sigma <= 0) opt_.learning_rate_sigma = (3 + std::log(double(d))) / (5 * std::sqrt(double(d)));
  // Rank-based fitness shaping: u_k = max(0, ln(lambda/2 + 1) - ln k) / sum - 1/lambda.
  utilities_.resize(lambda_);
  for (int k = 0; k < lambda_; ++k) utilities_[k] = std::max(0.0, std::log(lambda_ / 2.0 + 1) - std::log(k + 1.0));
  utilities_ = utilities_ / utilities_.sum() - Vector::Constant(lambda_, 1.0 / lambda_);
}

std::vector<Vector> SeparableNes::ask() {
  z_.assign(lambda_, Vector(mean_.size()));
  std::vector<Vector> xs(lambda_);
  for (int k = 0; k < lambda_; ++k) {
    for (auto& v : z_[k]) v = rng_.normal();
    xs[k] = mean_ + sigma_.cwiseProduct(z_[k]);
  }
  return xs;
}

void SeparableNes::tell(const std::vector<Vector>& xs, const std::vector<double>& fs) {
  check_tell("snes", xs.size(), fs.size());
  DESCENT_CHECK(static_cast<int>(xs.size()) == lambda_, InputError, "snes: tell the {} points of the last ask", lambda_);
  const auto order = ranks_ascending(fs);
  Vector g_mu = Vector::Zero(mean_.size()), g_sigma = Vector::Zero(mean_.size());
  for (int k = 0; k < lambda_; ++k) {
    // z recovered from x, so externally modified points are accounted for.
    const Vector z = (xs[order[k]] - mean_).cwiseQuotient(sigma_);
    g_mu += utilities_[k] * z;
    g_sigma += utilities_[k] * (z.cwiseProduct(z) - Vector::Ones(z.size()));
  }
  mean_ += opt_.learning_rate_mean * sigma_.cwiseProduct(g_mu);
  sigma_ = sigma_.cwiseProduct((0.5 * opt_.learning_rate_sigma * g_sigma).array().exp().matrix());
}

}  // namespace descent::blackbox
