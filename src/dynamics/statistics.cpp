#include "descent/dynamics/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "descent/core/error.hpp"

namespace descent::dynamics {

TimeAverage batch_means(const std::vector<double>& series, int batches) {
  DESCENT_CHECK(batches >= 2 && int64_t(series.size()) >= batches, InputError,
                "batch means: need ≥ 2 batches and at least one sample per batch ({} samples, {} batches)",
                series.size(), batches);
  const int64_t len = int64_t(series.size()) / batches;  // the remainder (< batches) is dropped
  std::vector<double> means(batches, 0.0);
  double total = 0;
  for (int b = 0; b < batches; ++b) {
    for (int64_t i = 0; i < len; ++i) means[b] += series[size_t(b * len + i)];
    means[b] /= double(len);
    total += means[b];
  }
  TimeAverage out;
  out.mean = total / batches;
  out.samples = len * batches;
  double ss = 0;
  for (double m : means) ss += (m - out.mean) * (m - out.mean);
  out.standard_error = std::sqrt(ss / (batches - 1) / batches);
  return out;
}

std::vector<double> stationary_density_1d(const std::function<double(double)>& drift,
                                          const std::function<double(double)>& variance, const std::vector<double>& grid) {
  const size_t n = grid.size();
  DESCENT_CHECK(n >= 3, InputError, "stationary_density_1d: the grid needs ≥ 3 points, got {}", n);
  const double h = grid[1] - grid[0];
  for (size_t i = 1; i < n; ++i)
    DESCENT_CHECK(std::abs(grid[i] - grid[i - 1] - h) <= 1e-9 * std::abs(h) && h > 0, InputError,
                  "stationary_density_1d: the grid must be uniform and increasing");
  std::vector<double> log_p(n), ratio(n);
  for (size_t i = 0; i < n; ++i) {
    const double a = variance(grid[i]);
    DESCENT_CHECK(a > 0 && std::isfinite(a), InputError, "stationary_density_1d: a({}) = {} must be positive", grid[i], a);
    ratio[i] = 2 * drift(grid[i]) / a;
    log_p[i] = -std::log(a);
  }
  double integral = 0;
  for (size_t i = 1; i < n; ++i) {
    integral += 0.5 * h * (ratio[i] + ratio[i - 1]);
    log_p[i] += integral;
  }
  const double top = *std::max_element(log_p.begin(), log_p.end());
  std::vector<double> p(n);
  double mass = 0;
  for (size_t i = 0; i < n; ++i) {
    p[i] = std::exp(log_p[i] - top);
    mass += (i == 0 || i + 1 == n ? 0.5 : 1.0) * h * p[i];
  }
  for (auto& v : p) v /= mass;
  return p;
}

}  // namespace descent::dynamics
