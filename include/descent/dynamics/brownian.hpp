#pragma once
// Seeded Brownian increments ΔW_k = W_{(k+1)dt} − W_{k dt} ~ N(0, dt·I_P), drawn step by step,
// so that two simulations given generators with the same seed see the same noise (synchronous
// coupling: Arora §12.2, Fig. 12.1's two paths from one start, or SVAG against the SDE).
//
// Refinement: with `substeps` = m, each increment is the sum of m draws of N(0, dt/m·I) taken in
// the order a run at step dt/m would take them, so a coarse run (dt, m) and a fine run (dt/m, 1)
// of the same seed are driven by the same Brownian path: the coarse increment is exactly the
// sum of the m fine ones.
#include <cstdint>

#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"

namespace descent::dynamics {

class BrownianIncrements {
 public:
  // Drawn from (seed, stream): N(0, dt/substeps) per sub-draw.
  BrownianIncrements(int64_t dimension, double dt, uint64_t seed, uint64_t stream = 0, int64_t substeps = 1);
  // Replayed from a [steps, P] table of increments (float64): for a peer that draws its own.
  static BrownianIncrements from_table(Tensor increments, double dt);

  int64_t dimension() const { return dimension_; }
  double dt() const { return dt_; }
  int64_t steps_taken() const { return step_; }
  // The next increment into `dw` (float64, [P]). A table refuses to run past its end.
  void next(Tensor& dw);

 private:
  BrownianIncrements() = default;
  int64_t dimension_ = 0;
  double dt_ = 0.0;
  int64_t substeps_ = 1;
  int64_t step_ = 0;
  Rng rng_;
  Tensor table_;
};

}  // namespace descent::dynamics
