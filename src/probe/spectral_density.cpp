#include "descent/probe/spectral_density.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "descent/core/rng.hpp"
#include "krylov.hpp"

namespace descent::probe {

std::string SpectralDensity::summary() const {
  std::string s = fmt::format("SLQ spectral density of {}: {} probes, {} products, nodes in [{:.6g}, {:.6g}], σ = {:.3g}\n",
                              operator_name, quadrature.size(), matvecs, smallest_node, largest_node, broadening);
  for (size_t k = 0; k < moments.size(); ++k)
    s += fmt::format("  tr(A^{})/P ≈ {:.10g} ± {:.3g}\n", k, moments[k], moment_standard_errors[k]);
  return s;
}

SpectralDensity spectral_density(LinearOperator& op, const SpectralDensityOptions& options) {
  DESCENT_CHECK(op.symmetric(), InputError, "spectral_density: '{}' is not symmetric", op.name());
  DESCENT_CHECK(options.num_probes >= 1 && options.lanczos_steps >= 1 && options.grid_points >= 2 &&
                    options.num_moments >= 0,
                InputError,
                "spectral_density: needs ≥ 1 probe, ≥ 1 Lanczos step, ≥ 2 grid points and ≥ 0 moments "
                "(got {}, {}, {}, {})",
                options.num_probes, options.lanczos_steps, options.grid_points, options.num_moments);
  const int64_t p = op.dimension();
  const int steps = int(std::min<int64_t>(options.lanczos_steps, p));
  detail::Products products(op);
  detail::LanczosBasis basis(products, steps);
  Rng rng(options.seed);
  Tensor z = Tensor::empty({p}, DType::f64);

  SpectralDensity out;
  out.operator_name = op.name();
  const int nm = options.num_moments + 1;
  std::vector<std::vector<double>> moment_samples(nm);
  out.smallest_node = std::numeric_limits<double>::infinity();
  out.largest_node = -out.smallest_node;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig;
  for (int probe = 0; probe < options.num_probes; ++probe) {
    detail::fill_rademacher(rng, z);
    basis.start(z);  // v = z/√P
    while (basis.size() < steps) {
      basis.extend(rng);
      // An invariant Krylov space makes the rule exact; the continuation vector extend() draws
      // belongs to another probe's measure and must not enter this rule.
      if (basis.last_was_breakdown()) break;
    }
    eig.compute(basis.projected());
    QuadratureRule rule;
    for (Eigen::Index j = 0; j < eig.eigenvalues().size(); ++j) {
      const double first = eig.eigenvectors()(0, j);
      rule.nodes.push_back(eig.eigenvalues()(j));
      rule.weights.push_back(first * first);
    }
    for (int k = 0; k < nm; ++k) {
      double mk = 0.0;
      for (size_t j = 0; j < rule.nodes.size(); ++j) mk += rule.weights[j] * std::pow(rule.nodes[j], k);
      moment_samples[k].push_back(mk);
    }
    out.smallest_node = std::min(out.smallest_node, rule.nodes.front());
    out.largest_node = std::max(out.largest_node, rule.nodes.back());
    out.quadrature.push_back(std::move(rule));
  }
  out.matvecs = products.count();

  for (int k = 0; k < nm; ++k) {
    const auto& x = moment_samples[k];
    double mean = 0.0;
    for (double v : x) mean += v;
    mean /= double(x.size());
    double ss = 0.0;
    for (double v : x) ss += (v - mean) * (v - mean);
    out.moments.push_back(mean);
    out.moment_standard_errors.push_back(x.size() > 1 ? std::sqrt(ss / double(x.size() - 1) / double(x.size()))
                                                      : std::numeric_limits<double>::infinity());
  }

  const double width = out.largest_node - out.smallest_node;
  double sigma = options.broadening > 0 ? options.broadening : options.relative_broadening * width;
  if (!(sigma > 0)) sigma = 1e-3 * std::max(1.0, std::abs(out.largest_node));
  out.broadening = sigma;
  const double lo = std::isnan(options.grid_min) ? out.smallest_node - 5 * sigma : options.grid_min;
  const double hi = std::isnan(options.grid_max) ? out.largest_node + 5 * sigma : options.grid_max;
  DESCENT_CHECK(hi > lo, InputError, "spectral_density: grid [{}, {}] is empty", lo, hi);
  const double norm = 1.0 / (sigma * std::sqrt(2 * std::numbers::pi) * double(options.num_probes));
  out.grid.resize(options.grid_points);
  out.density.assign(options.grid_points, 0.0);
  for (int g = 0; g < options.grid_points; ++g) {
    const double t = lo + (hi - lo) * g / double(options.grid_points - 1);
    out.grid[g] = t;
    double d = 0.0;
    for (const QuadratureRule& rule : out.quadrature)
      for (size_t j = 0; j < rule.nodes.size(); ++j) {
        const double u = (t - rule.nodes[j]) / sigma;
        d += rule.weights[j] * std::exp(-0.5 * u * u);
      }
    out.density[g] = d * norm;
  }
  return out;
}

}  // namespace descent::probe
