#pragma once
// Bayesian optimization (Murphy §6.6): a GP surrogate, an acquisition maximized over the
// box, batches by constant liar. Murphy writes everything for maximization with incumbent
// M_n = max_i y_i; descent minimizes, so improvement is M_n - y with M_n = min_i y_i and
// gamma = (M_n - mu) / sigma (eqs. 6.174-6.178 mirrored).
#include <string>
#include <vector>

#include "descent/blackbox/ask_tell.hpp"
#include "descent/blackbox/gp.hpp"

namespace descent::blackbox {

// Closed forms for a Gaussian predictive N(mean, sd^2) and incumbent `best` (minimization).
double probability_of_improvement(double mean, double sd, double best);   // eq. (6.175)
double expected_improvement(double mean, double sd, double best);         // eq. (6.177)
// log EI, accurate where EI underflows (gamma << 0); used to optimize EI.
double log_expected_improvement(double mean, double sd, double best);
// Monte Carlo EI from posterior samples of f at x, eq. (6.178): mean of max(best - f_s, 0).
double expected_improvement_monte_carlo(const GaussianProcess& gp, const Vector& x, double best, int samples,
                                        Rng& rng);
// Knowledge gradient (eqs. 6.184-6.186, Frazier et al. 2009) of sampling each column of
// `candidates` once more, when the final choice is made among the same discrete set:
// KG(x) = min_A mu_n - E_y[min_A mu_{n+1}], the expectation by Gauss-Hermite quadrature.
Vector knowledge_gradient(const GaussianProcess& gp, const Matrix& candidates, int quadrature_nodes = 24);

enum class Acquisition {
  expected_improvement,
  probability_of_improvement,
  lower_confidence_bound,   // UCB for minimization: mu - beta sigma
  thompson_sampling,
  knowledge_gradient,
  weighted_expected_improvement,  // EI x P(feasible), for unknown constraints (§6.6, [GSA14])
};
Acquisition parse_acquisition(const std::string& name);  // ei, pi, ucb, thompson, kg, wei
std::string to_string(Acquisition a);

struct BayesOptOptions {
  Kernel kernel = Kernel::matern52;
  Acquisition acquisition = Acquisition::expected_improvement;
  int initial_points = 0;   // Latin-hypercube design; 0 means max(3, d + 1)
  int batch_size = 1;       // q > 1: constant-liar batches
  enum class Liar { min, mean, max } liar = Liar::min;
  double ucb_beta = 2.0;
  uint64_t seed = 0;
  GpFitOptions gp_fit;
  int random_candidates = 2000;   // acquisition: scored at random points ...
  int local_candidates = 500;     // ... and at perturbations of the best observations
  int local_starts = 5;           // L-BFGS refinements of the best candidates
  int discrete_candidates = 300;  // set size for Thompson sampling and the knowledge gradient
};

class BayesianOptimizer final : public AskTell {
 public:
  BayesianOptimizer(Bounds bounds, BayesOptOptions options = {});

  std::vector<Vector> ask() override;
  void tell(const std::vector<Vector>& xs, const std::vector<double>& fs) override;
  std::string name() const override { return "bayesopt-" + to_string(opt_.acquisition); }

  // The surrogate as of the last ask (inputs scaled to the unit cube).
  const GaussianProcess& surrogate() const { return gp_; }
  int observations() const { return static_cast<int>(y_.size()); }
  int failures() const { return static_cast<int>(failed_.size()); }

 private:
  Vector propose(double best);
  Matrix candidate_set(int random, int local);
  double feasibility(const Matrix& U, Vector* out) const;
  void refit_surrogate();

  Bounds bounds_;
  BayesOptOptions opt_;
  Rng rng_;
  GaussianProcess gp_;
  GaussianProcess feasibility_gp_;
  std::vector<Vector> design_;  // initial design not yet handed out
  std::vector<Vector> U_;       // successful inputs, unit cube
  std::vector<double> y_;
  std::vector<Vector> failed_;  // failed inputs, unit cube
};

}  // namespace descent::blackbox
