#pragma once
// Population methods as ask–tell optimizers (all minimize): random and grid search
// (§6.7.1), a genetic algorithm (§6.7.3), the Bernoulli EDAs UMDA and PBIL (§6.7.4), the
// cross-entropy method (§6.7.5, whose body is missing in the seed: spec §5 [EXT]) and
// separable natural evolution strategies (§6.7.6; Schaul, Glasmachers & Schmidhuber 2011).
#include <cstdint>
#include <string>
#include <vector>

#include "descent/blackbox/ask_tell.hpp"

namespace descent::blackbox {

// Uniform draws in the box, `batch` at a time.
class RandomSearch final : public AskTell {
 public:
  RandomSearch(Bounds bounds, int batch = 1, uint64_t seed = 0);
  std::vector<Vector> ask() override;
  void tell(const std::vector<Vector>&, const std::vector<double>&) override {}
  std::string name() const override { return "random-search"; }

 private:
  Bounds bounds_;
  int batch_;
  Rng rng_;
};

// The full grid with `points_per_dim` cell-centred points per axis, in lexicographic order;
// should_stop() once every grid point has been asked.
class GridSearch final : public AskTell {
 public:
  GridSearch(Bounds bounds, int points_per_dim, int batch = 1);
  std::vector<Vector> ask() override;
  void tell(const std::vector<Vector>&, const std::vector<double>&) override {}
  bool should_stop() const override { return next_ >= total_; }
  std::string stop_reason() const override { return "grid exhausted"; }
  std::string name() const override { return "grid-search"; }
  int64_t size() const { return total_; }

 private:
  Bounds bounds_;
  int k_, batch_;
  int64_t next_ = 0, total_ = 1;
};

struct GeneticOptions {
  int population_size = 50;
  enum class Encoding { real, binary } encoding = Encoding::real;  // binary: 0/1 genes
  enum class Selection { tournament, truncation, proportional } selection = Selection::tournament;
  int tournament_size = 3;
  double truncation_fraction = 0.3;
  enum class Crossover { single_point, uniform, blend } crossover = Crossover::single_point;
  double crossover_rate = 0.9;
  double mutation_rate = -1.0;  // per gene; < 0 means 1 / dimension
  double mutation_scale = 0.1;  // real genes: Gaussian step, as a fraction of the box width
  int elites = 1;               // best members copied unchanged
  uint64_t seed = 0;
};

// Generational GA: ask() returns the whole population to evaluate (random at first, then
// offspring); tell() assigns fitness. Proportional (roulette) selection on a cost uses
// weights max_f - f + eps, so lower cost is fitter.
class GeneticAlgorithm final : public AskTell {
 public:
  GeneticAlgorithm(Bounds bounds, GeneticOptions options = {});
  std::vector<Vector> ask() override;
  void tell(const std::vector<Vector>& xs, const std::vector<double>& fs) override;
  std::string name() const override { return "genetic-algorithm"; }

 private:
  int select(const std::vector<double>& fitness_weights);
  Bounds bounds_;
  GeneticOptions opt_;
  Rng rng_;
  std::vector<Vector> pop_;
  std::vector<double> f_;
};

struct BernoulliEdaOptions {
  enum class Kind { umda, pbil } kind = Kind::umda;
  int samples = 100;          // K' drawn per generation
  int elite = 50;             // K kept by truncation
  double learning_rate = 0.1; // PBIL eta (eq. 6.188)
  double margin = 0.0;        // keeps theta in [margin, 1 - margin]
  uint64_t seed = 0;
};

// Factorized-Bernoulli EDA over {0,1}^d (points are 0/1 vectors). UMDA sets theta_d to the
// elite's frequency of ones; PBIL moves theta towards it with rate eta (eq. 6.188, with
// N_t = K: the seed's N_t is presumably the elite size, spec ⚠).
class BernoulliEda final : public AskTell {
 public:
  BernoulliEda(int bits, BernoulliEdaOptions options = {});
  std::vector<Vector> ask() override;
  void tell(const std::vector<Vector>& xs, const std::vector<double>& fs) override;
  bool should_stop() const override;
  std::string stop_reason() const override { return "theta converged to a vertex"; }
  std::string name() const override { return opt_.kind == BernoulliEdaOptions::Kind::umda ? "umda" : "pbil"; }
  const Vector& theta() const { return theta_; }
  double entropy() const;  // of the factorized model, in nats

 private:
  BernoulliEdaOptions opt_;
  Rng rng_;
  Vector theta_;
};

struct CrossEntropyOptions {
  int samples = 100;
  double elite_fraction = 0.1;
  bool full_covariance = false;
  double smoothing = 0.0;       // new = (1 - a) refit + a old
  double variance_floor = 1e-12;
  uint64_t seed = 0;
};

// CEM with a Gaussian: refit mean and (diagonal or full) covariance to the elite.
class CrossEntropyMethod final : public AskTell {
 public:
  CrossEntropyMethod(Vector mean, double sigma, CrossEntropyOptions options = {});
  std::vector<Vector> ask() override;
  void tell(const std::vector<Vector>& xs, const std::vector<double>& fs) override;
  std::string name() const override { return "cem"; }
  const Vector& mean() const { return mean_; }
  const Matrix& covariance() const { return cov_; }

 private:
  CrossEntropyOptions opt_;
  Rng rng_;
  Vector mean_;
  Matrix cov_;
};

struct NesOptions {
  int population_size = 0;           // 0: 4 + floor(3 ln d)
  double learning_rate_mean = 1.0;
  double learning_rate_sigma = 0.0;  // 0: (3 + ln d) / (5 sqrt d)
  uint64_t seed = 0;
};

// Separable NES: natural-gradient ascent on the expected fitness utility of a diagonal
// Gaussian, with rank-based utilities (Wierstra et al. 2014, Algorithm 6).
class SeparableNes final : public AskTell {
 public:
  SeparableNes(Vector mean, double sigma, NesOptions options = {});
  std::vector<Vector> ask() override;
  void tell(const std::vector<Vector>& xs, const std::vector<double>& fs) override;
  std::string name() const override { return "snes"; }
  const Vector& mean() const { return mean_; }
  const Vector& sigma() const { return sigma_; }

 private:
  NesOptions opt_;
  Rng rng_;
  Vector mean_, sigma_, utilities_;
  int lambda_;
  std::vector<Vector> z_;
};

}  // namespace descent::blackbox
