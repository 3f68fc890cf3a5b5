#pragma once
// The EM loop shared by every model of descent/bound (Murphy §6.5.3): alternate E- and
// M-steps, record the observed-data log-likelihood after each E-step, stop when its
// relative change falls below a tolerance. EM is an MM algorithm, so the log-likelihood
// never decreases (6.124); "if the objective ever decreases, the maths or the code is
// wrong", so a decrease is an error that names the iteration (for the stochastic variants,
// Monte-Carlo and online EM, which are not monotone, the check is off).
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "descent/core/error.hpp"

namespace descent::bound {

struct EmOptions {
  int max_iterations = 1000;
  // Stop when |ℓ_t − ℓ_{t−1}| ≤ tolerance · |ℓ_{t−1}| (relative change).
  double tolerance = 1e-10;
  bool check_monotone = true;
  // Rounding slack of the monotonicity check: an error is a drop below
  // ℓ_{t−1} − shortfall − slack·|ℓ_{t−1}|. ℓ is a sum of N terms of both signs, and a
  // variance held at reg_covar amplifies the rounding of its direction by 1/reg_covar
  // (a constant column: relative dips of 1e-11 seen), hence 1e-9 rather than ε.
  double monotone_slack = 1e-9;
};

struct EmTrace {
  std::vector<double> log_likelihood;  // ℓ(θ₀), ℓ(θ₁), …: one per E-step
  int iterations = 0;                  // M-steps taken
  bool converged = false;              // the relative-change test passed
};

// A decrease of the log-likelihood during a monotone EM/MM run.
class MonotonicityError : public Error {
 public:
  using Error::Error;
};

// e_step() computes the posterior statistics at the current θ and returns ℓ(θ);
// m_step() updates θ from them and returns how far its θ may fall short of maximizing
// Q(·, θ_t) (0 for an exact M-step; see regularization_shortfall): EM then guarantees
// ℓ(θ_{t+1}) ≥ ℓ(θ_t) − shortfall, and only a larger drop is an error. `name` prefixes
// messages. A non-finite ℓ is a NonFiniteError.
EmTrace run_em(const std::function<double()>& e_step, const std::function<double()>& m_step,
               const EmOptions& options, const std::string& name);

// How much Q loses when the maximizing covariance S (weight `mass`, the number of points it
// is fitted to) is replaced by S + εI, as scikit-learn's reg_covar does:
//   Q(S) − Q(S + εI) = ½·mass·Σ_i [log(1 + ε/λ_i) − ε/(λ_i + ε)]
// over S's eigenvalues λ_i > 1e-12·max λ (a direction with λ_i = 0 up to the eigensolver's
// rounding, e.g. a constant column, has the regularized variance ε at every step, before
// and after the update, and adds nothing).
double regularization_shortfall(const Eigen::VectorXd& eigenvalues, double epsilon, double mass);

// The monotonicity check itself, for MM loops written outside run_em.
void check_monotone_step(const std::string& name, int iteration, double previous, double current, double slack,
                         double shortfall = 0.0);

}  // namespace descent::bound
