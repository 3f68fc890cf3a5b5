#include "descent/bound/em.hpp"

#include <cmath>

namespace descent::bound {

double regularization_shortfall(const Eigen::VectorXd& eigenvalues, double epsilon, double mass) {
  if (epsilon <= 0 || eigenvalues.size() == 0) return 0.0;
  const double floor = 1e-12 * eigenvalues.maxCoeff();
  double gap = 0;
  for (const double l : eigenvalues)
    if (l > floor && l > 0) gap += std::log1p(epsilon / l) - epsilon / (l + epsilon);
  return 0.5 * mass * gap;
}

void check_monotone_step(const std::string& name, int iteration, double previous, double current, double slack,
                         double shortfall) {
  if (current < previous - shortfall - slack * std::abs(previous))
    fail<MonotonicityError>(
        "{}: the log-likelihood decreased at iteration {}, from {:.17g} to {:.17g} (by more than the regularization's "
        "allowance {:.3g}); a bound-optimization step cannot decrease it (Murphy eq. 6.124), so the model's E- or "
        "M-step is wrong or the data are degenerate",
        name, iteration, previous, current, shortfall);
}

EmTrace run_em(const std::function<double()>& e_step, const std::function<double()>& m_step,
               const EmOptions& options, const std::string& name) {
  DESCENT_CHECK(options.max_iterations >= 0, InputError, "{}: max_iterations must be ≥ 0, got {}", name,
                options.max_iterations);
  DESCENT_CHECK(options.tolerance >= 0, InputError, "{}: tolerance must be ≥ 0, got {}", name, options.tolerance);
  EmTrace trace;
  auto evaluate = [&] {
    const double ll = e_step();
    DESCENT_CHECK(std::isfinite(ll), NonFiniteError, "{}: the log-likelihood is {} after {} iterations", name, ll,
                  trace.iterations);
    trace.log_likelihood.push_back(ll);
    return ll;
  };
  double previous = evaluate();
  while (trace.iterations < options.max_iterations) {
    const double shortfall = m_step();
    ++trace.iterations;
    const double current = evaluate();
    if (options.check_monotone)
      check_monotone_step(name, trace.iterations, previous, current, options.monotone_slack, shortfall);
    if (std::abs(current - previous) <= options.tolerance * std::abs(previous)) {
      trace.converged = true;
      break;
    }
    previous = current;
  }
  return trace;
}

}  // namespace descent::bound
