// Murphy §6.3.5.1 (E1): for f(z) = z² − 3z and z ~ N(μ, v), the reparameterized Monte-Carlo
// gradient, Bonnet's E[f'(z)] (6.66) and Price's ½E[f''(z)] (6.67) agree with the exact
// ∇_(μ,v) E f = (2μ − 3, 1).
#include <cmath>

#include "descent/estimators/reparameterization.hpp"
#include "descent/estimators/score_function.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(reparameterization_bonnet_price, "004 (Murphy, PML2 ch. 6)", "§6.3.5.1, eqs. 6.62–6.67",
                   "on z² − 3z, z ~ N(μ, v): reparameterization, Bonnet/Price and the exact gradient (2μ − 3, 1) agree") {
  using namespace estimators;
  const double mu = 0.5 + 0.1 * static_cast<double>(ctx.seed % 5), v = 0.8;
  const int64_t S = ctx.pick<int64_t>(20000, 1000000);
  Rng rng(ctx.seed);
  auto grad_f = [](const Eigen::VectorXd& z) { return Eigen::VectorXd::Constant(1, 2 * z[0] - 3); };
  const Eigen::Vector2d exact(2 * mu - 3, 1.0);
  const GradientEstimate rep = gaussian_reparameterization_gradient(Eigen::VectorXd::Constant(1, mu),
                                                                    Eigen::VectorXd::Constant(1, v), grad_f, S, rng);
  const GaussianGradient bp = bonnet_price_gradient(
      Eigen::VectorXd::Constant(1, mu), Eigen::MatrixXd::Constant(1, 1, v), grad_f,
      [](const Eigen::VectorXd&) { return Eigen::MatrixXd::Constant(1, 1, 2.0); }, S, rng);
  Table& t = ctx.table("gradients", {"method", "d_mu", "se_mu", "d_v", "se_v"});
  t.add_row({"exact", exact[0], 0.0, exact[1], 0.0});
  t.add_row({"reparameterization", rep.gradient[0], rep.standard_error()[0], rep.gradient[1], rep.standard_error()[1]});
  t.add_row({"Bonnet/Price", bp.mean.gradient[0], bp.mean.standard_error()[0], bp.covariance.gradient[0],
             bp.covariance.standard_error()[0]});
  ctx.check.within("reparameterization_d_mu", rep.gradient[0], exact[0], 4 * rep.standard_error()[0]);
  ctx.check.within("reparameterization_d_v", rep.gradient[1], exact[1], 4 * rep.standard_error()[1]);
  ctx.check.within("bonnet_d_mu", bp.mean.gradient[0], exact[0], 4 * bp.mean.standard_error()[0]);
  // f'' = 2 is constant, so Price's estimate is exact up to rounding.
  ctx.check.within("price_d_v", bp.covariance.gradient[0], exact[1], 1e-12);
  ctx.measure("mu", mu);
  ctx.measure("v", v);
  ctx.measure("samples", S);
  ctx.note("Tolerance: 4 standard errors of each Monte-Carlo mean; μ = 0.5 + 0.1·(seed mod 5), v = 0.8.");
}

}  // namespace descent::experiments
