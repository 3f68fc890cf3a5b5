#pragma once
// CMA-ES (Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772, 2016):
// weighted recombination, cumulative step-size adaptation (CSA), rank-one and rank-mu
// covariance updates with the active (negative) weights of the tutorial's eq. (53), and
// IPOP / BIPOP restarts (Auger & Hansen 2005; Hansen 2009). Murphy §6.7.6 describes it in
// words only; the equations below are the tutorial's (spec §5).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "descent/blackbox/ask_tell.hpp"

namespace descent::blackbox {

struct CmaesOptions {
  int population_size = 0;     // lambda; 0 means 4 + floor(3 ln n) (tutorial eq. 48)
  uint64_t seed = 0;
  std::optional<Bounds> bounds;  // points outside are resampled, then clipped
  int max_resampling = 100;
  bool active = true;          // negative weights on the worst lambda - mu points (eq. 53)
  // Termination criteria (tutorial appendix B.3), checked by should_stop().
  double tol_x = 1e-12;        // times sigma0
  double tol_x_up = 1e4;
  double tol_fun = 1e-12;
  double tol_condition = 1e14;
};

class Cmaes final : public AskTell {
 public:
  Cmaes(Vector mean, double sigma, CmaesOptions options = {});

  std::vector<Vector> ask() override;
  // Exactly the points of the last ask (possibly modified), with their values.
  void tell(const std::vector<Vector>& xs, const std::vector<double>& fs) override;
  bool should_stop() const override;
  std::string stop_reason() const override;
  std::string name() const override { return "cma-es"; }

  Eigen::Index dim() const { return mean_.size(); }
  int population_size() const { return lambda_; }
  int generation() const { return generation_; }
  const Vector& mean() const { return mean_; }
  double sigma() const { return sigma_; }
  const Matrix& covariance() const { return C_; }
  const Vector& weights() const { return weights_; }
  double mu_eff() const { return mu_eff_; }
  double best_f() const { return best_f_; }
  const Vector& best_x() const { return best_x_; }

 private:
  void update_eigensystem();
  Vector sample_one();

  CmaesOptions opt_;
  Rng rng_;
  int n_, lambda_, mu_;
  Vector weights_;
  double mu_eff_, c_sigma_, d_sigma_, cc_, c1_, cmu_, chi_n_, sum_weights_;
  Vector mean_, p_sigma_, pc_;
  double sigma_, sigma0_;
  Matrix C_, B_, BD_, invsqrtC_;
  Vector D_;
  int generation_ = 0, eigen_generation_ = -1;
  // Buffers reused every generation.
  Matrix Y_;
  Vector z_, yw_, tmp_, w_o_;
  std::vector<int> order_;
  std::vector<double> fun_hist_;
  double best_f_;
  Vector best_x_;
  mutable std::string stop_reason_;
};

// CMA-ES with restarts. IPOP doubles the population at each restart; BIPOP interleaves
// those large-population runs with small-population, small-step runs, giving each regime
// about the same number of evaluations (Hansen 2009, "Benchmarking a BI-population CMA-ES").
struct CmaesRestartOptions {
  enum class Strategy { none, ipop, bipop } strategy = Strategy::bipop;
  int max_restarts = 9;
  double increase_factor = 2.0;
  // Restarts draw their mean uniformly in this box (default: the initial mean's box
  // mean +- 2 sigma0, or the CMA bounds when given).
  std::optional<Bounds> restart_box;
};

class CmaesWithRestarts final : public AskTell {
 public:
  CmaesWithRestarts(Vector mean, double sigma, CmaesOptions options = {}, CmaesRestartOptions restarts = {});
  std::vector<Vector> ask() override;
  void tell(const std::vector<Vector>& xs, const std::vector<double>& fs) override;
  bool should_stop() const override;
  std::string stop_reason() const override;
  std::string name() const override;
  int restarts() const { return restarts_; }
  const Cmaes& current() const { return *cma_; }

 private:
  void restart();
  CmaesOptions base_;
  CmaesRestartOptions ropt_;
  Rng rng_;
  Bounds box_;
  double sigma0_;
  int default_lambda_, large_lambda_;
  int64_t evals_large_ = 0, evals_small_ = 0;
  bool running_large_ = true;
  int restarts_ = 0, large_runs_ = 0;
  std::unique_ptr<Cmaes> cma_;
};

}  // namespace descent::blackbox
