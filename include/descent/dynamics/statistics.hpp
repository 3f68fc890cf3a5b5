#pragma once
// Statistics of simulated paths: time averages of a correlated (Markov-chain) series with
// the batch-means standard error (Flegal & Jones 2010: with b batches of length N/b, the
// spread of the batch means estimates the asymptotic variance including autocorrelation).
#include <cstdint>
#include <functional>
#include <vector>

namespace descent::dynamics {

struct TimeAverage {
  double mean = 0.0;
  double standard_error = 0.0;  // batch means; NaN with fewer than 2 batches
  int64_t samples = 0;
};
TimeAverage batch_means(const std::vector<double>& series, int batches = 30);

// The stationary density of the 1-D Itô diffusion dx = b(x) dt + √a(x) dW on a uniform grid
// (zero-flux Fokker–Planck solution, Gardiner §5.2.2):
//     p(x) ∝ (1/a(x)) exp(∫_{x_0}^{x} 2b(s)/a(s) ds),
// the integral by the trapezoid rule on the grid, normalized to ∫p = 1 (trapezoid).
std::vector<double> stationary_density_1d(const std::function<double(double)>& drift,
                                          const std::function<double(double)>& variance, const std::vector<double>& grid);

}  // namespace descent::dynamics
