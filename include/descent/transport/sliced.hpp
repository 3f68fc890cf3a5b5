#pragma once
// Sliced Wasserstein distance (Rabin et al. 2011; Bonneel et al. 2015): the 1-D closed
// form (Murphy eq. 6.209) averaged over projections onto random directions.
#include <cstdint>

#include "descent/core/tensor.hpp"

namespace descent::transport {

// SW_p = ( mean_k W_p^p(θ_kᵀ x, θ_kᵀ y) )^{1/p} over the unit rows θ_k of `directions`
// [K, d] (POT's sliced_wasserstein_distance with given projections).
double sliced_wasserstein(const Tensor& x, const Tensor& y, const Tensor& directions, const Tensor& a = Tensor(),
                          const Tensor& b = Tensor(), double p = 2.0);

// K directions uniform on the unit sphere S^{d-1}, drawn from `seed` (core/rng.hpp).
Tensor random_directions(int64_t count, int64_t dimension, uint64_t seed);

}  // namespace descent::transport
