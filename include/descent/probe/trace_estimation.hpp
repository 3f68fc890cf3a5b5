#pragma once
// Stochastic trace estimation from products A·v only, each estimate with its standard error.
//
//   hutchinson_trace       tr(A) ≈ (1/m) Σ zᵢᵀ A zᵢ, Rademacher zᵢ (Hutchinson 1989); variance
//                          2(‖A‖_F² − Σ A_ii²)/m.
//   hutch_plus_plus_trace  Hutch++ (Meyer, Musco, Musco & Woodruff 2021, Algorithm 1): with m
//                          products, sketch Q = orth(A S) with m/3 probes, take tr(QᵀAQ) exactly
//                          and run Hutchinson with m/3 probes on (I − QQᵀ) A (I − QQᵀ). Error
//                          O(1/m) instead of O(1/√m) when A has a decaying spectrum.
//
// Neither needs A symmetric, so Tr(HΣ) works through a ProductOperator.
#include <cstdint>
#include <string>

#include "descent/probe/linear_operator.hpp"

namespace descent::probe {

struct TraceEstimate {
  double trace = 0.0;
  // Standard error of `trace`: the sample standard deviation of the Hutchinson terms over
  // √(number of terms); for Hutch++ that of its residual part (tr(QᵀAQ) is exact). Zero when
  // the sketch spans R^P and the estimate is exact.
  double standard_error = 0.0;
  int64_t matvecs = 0;
  int64_t sketch_rank = 0;     // Hutch++: columns of Q (0 for Hutchinson)
  int64_t residual_probes = 0;  // probes of the Hutchinson part
  std::string method, operator_name;
  std::string summary() const;
};

struct TraceOptions {
  int64_t num_matvecs = 99;  // total products (Hutch++ splits them in thirds)
  uint64_t seed = 0;
};

TraceEstimate hutchinson_trace(LinearOperator& op, const TraceOptions& options = {});
// Memory: the sketch holds (num_matvecs/3)·P float64 values.
TraceEstimate hutch_plus_plus_trace(LinearOperator& op, const TraceOptions& options = {});

}  // namespace descent::probe
