#include "descent/probe/curvature.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "krylov.hpp"

namespace descent::probe {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double relative(double residual, double value) { return value == 0.0 ? kInf : residual / std::abs(value); }

// Indices of `theta` ordered from the requested end of the spectrum.
std::vector<int> wanted_order(const Eigen::VectorXd& theta, SpectrumEnd which) {
  std::vector<int> idx(theta.size());
  std::iota(idx.begin(), idx.end(), 0);
  switch (which) {
    case SpectrumEnd::largest:
      std::sort(idx.begin(), idx.end(), [&](int a, int b) { return theta(a) > theta(b); });
      break;
    case SpectrumEnd::smallest:
      std::sort(idx.begin(), idx.end(), [&](int a, int b) { return theta(a) < theta(b); });
      break;
    case SpectrumEnd::largest_magnitude:
      std::sort(idx.begin(), idx.end(), [&](int a, int b) { return std::abs(theta(a)) > std::abs(theta(b)); });
      break;
  }
  return idx;
}

void check_symmetric(const LinearOperator& op, const char* method) {
  DESCENT_CHECK(op.symmetric(), InputError,
                "{}: '{}' is not symmetric; eigenpairs by {} need a symmetric operator (use the trace "
                "estimators for products such as H·Σ)",
                method, op.name(), method);
}

// ‖A x − λ x‖ with one product; `ax` is scratch.
double residual_of(detail::Products& products, const Tensor& x, double lambda, Tensor& ax) {
  products.apply(x, ax);
  axpy(ax, -lambda, x);
  return norm(ax);
}

}  // namespace

const char* to_string(SpectrumEnd end) {
  switch (end) {
    case SpectrumEnd::largest: return "largest";
    case SpectrumEnd::smallest: return "smallest";
    case SpectrumEnd::largest_magnitude: return "largest magnitude";
  }
  return "?";
}

std::string EigenResult::summary() const {
  std::string s = fmt::format("{} of {}: {} products{}, {} restarts, {}\n", method, operator_name, matvecs,
                              verification_matvecs ? fmt::format(" (+{} to verify residuals)", verification_matvecs)
                                                   : std::string(),
                              restarts, converged ? "converged" : "NOT converged");
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Eigenpair& p = pairs[i];
    s += fmt::format("  λ{} = {:.12g}  ‖Av−λv‖ = {:.3e}  (relative {:.3e})  {}  at {} products\n", i + 1, p.value,
                     p.residual_norm, p.relative_residual, p.converged ? "converged" : "NOT converged",
                     p.matvecs_to_converge);
  }
  return s;
}

// ---- Lanczos ----
EigenResult lanczos_eigenpairs(LinearOperator& op, const LanczosOptions& options) {
  check_symmetric(op, "Lanczos");
  const int64_t p = op.dimension();
  const int k = options.num_eigenpairs;
  DESCENT_CHECK(k >= 1 && k <= p, InputError, "Lanczos: num_eigenpairs must be in [1, {}] for {}, got {}", p,
                op.name(), k);
  DESCENT_CHECK(options.tolerance > 0, InputError, "Lanczos: tolerance must be positive, got {}", options.tolerance);
  int capacity = options.max_basis_size > 0 ? options.max_basis_size : std::max(2 * k + 30, 60);
  capacity = int(std::min<int64_t>(capacity, p));
  DESCENT_CHECK(capacity >= std::min<int64_t>(k + 2, p), InputError,
                "Lanczos: max_basis_size {} leaves no room to restart with {} wanted pairs; use at least {}",
                options.max_basis_size, k, k + 2);

  detail::Products products(op);
  detail::LanczosBasis basis(products, capacity);
  Rng rng(options.seed);
  Tensor start = Tensor::empty({p}, DType::f64);
  if (options.start.defined()) {
    DESCENT_CHECK(options.start.numel() == p, ShapeError, "Lanczos: start vector has {} elements, expected {}",
                  options.start.numel(), p);
    start.copy_from(options.start.flatten().astype(DType::f64));
  } else {
    rng.fill_normal(start);
  }
  basis.start(start);

  EigenResult result;
  result.method = fmt::format("Lanczos ({} {}, full reorthogonalization, thick restart)", k, to_string(options.which));
  result.operator_name = op.name();
  std::vector<int64_t> converged_since(k, -1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig;
  std::vector<int> order;

  while (true) {
    basis.extend(rng);
    const int m = basis.size();
    eig.compute(basis.projected());
    const Eigen::VectorXd& theta = eig.eigenvalues();
    const Eigen::MatrixXd& y = eig.eigenvectors();
    order = wanted_order(theta, options.which);
    const double scale = std::max(std::abs(theta(0)), std::abs(theta(m - 1)));
    const double beta = basis.last_beta();
    bool all = m >= k;
    for (int i = 0; i < std::min(k, m); ++i) {
      const double res = beta * std::abs(y(m - 1, order[i]));
      const bool ok = res <= options.tolerance * std::max(std::abs(theta(order[i])), options.zero_floor * scale);
      if (ok && converged_since[i] < 0) converged_since[i] = products.count();
      if (!ok) converged_since[i] = -1, all = false;
    }
    const bool exhausted = m == p;  // the basis spans R^P: every Ritz pair is exact
    if (all || exhausted || products.count() >= options.max_matvecs) {
      result.converged = all || exhausted;
      const int count = std::min(k, m);
      result.pairs.resize(count);
      for (int i = 0; i < count; ++i) {
        Eigenpair& pair = result.pairs[i];
        pair.value = theta(order[i]);
        pair.vector = Tensor::empty({p}, DType::f64);
        basis.combine(y.col(order[i]), pair.vector);
        pair.residual_norm = beta * std::abs(y(m - 1, order[i]));
        pair.relative_residual = relative(pair.residual_norm, pair.value);
        pair.converged = converged_since[i] >= 0 || exhausted;
        pair.matvecs_to_converge = converged_since[i] >= 0 ? converged_since[i] : (exhausted ? products.count() : -1);
      }
      break;
    }
    if (m == capacity) {
      // Thick restart: keep the wanted end, about half the basis, and at least k + 1 vectors.
      const int keep = std::min(capacity - 1, std::max(k + 1, (capacity + k) / 2));
      Eigen::MatrixXd kept(m, keep);
      Eigen::VectorXd kept_theta(keep);
      for (int i = 0; i < keep; ++i) kept.col(i) = y.col(order[i]), kept_theta(i) = theta(order[i]);
      basis.restart(kept, kept_theta);
      ++result.restarts;
    }
  }
  result.matvecs = products.count();
  if (options.verify_residuals) {
    Tensor ax = Tensor::empty({p}, DType::f64);
    for (Eigenpair& pair : result.pairs) {
      pair.residual_norm = residual_of(products, pair.vector, pair.value, ax);
      pair.relative_residual = relative(pair.residual_norm, pair.value);
    }
    result.verification_matvecs = products.count() - result.matvecs;
  }
  return result;
}

// ---- power iteration (PyHessian's hessian.eigenvalues) ----
EigenResult power_iteration(LinearOperator& op, const PowerIterationOptions& options) {
  check_symmetric(op, "power iteration");
  const int64_t p = op.dimension();
  const int k = options.num_eigenpairs;
  DESCENT_CHECK(k >= 1 && k <= p, InputError, "power iteration: num_eigenpairs must be in [1, {}], got {}", p, k);
  detail::Products products(op);
  Rng rng(options.seed);
  EigenResult result;
  result.method = fmt::format("power iteration with deflation ({} pairs, {} {})", k,
                              options.stop_on_residual ? "residual tolerance" : "eigenvalue-change tolerance",
                              options.tolerance);
  result.operator_name = op.name();
  result.converged = true;
  Tensor v = Tensor::empty({p}, DType::f64), av = Tensor::empty({p}, DType::f64), r = Tensor::empty({p}, DType::f64);
  auto deflate = [&](Tensor& x) {  // Gram–Schmidt against the pairs found so far
    for (const Eigenpair& e : result.pairs) axpy(x, -dot(x, e.vector), e.vector);
  };
  for (int pair_index = 0; pair_index < k; ++pair_index) {
    rng.fill_normal(v);
    scale_inplace(v, 1.0 / norm(v));
    double previous = 0.0, lambda = 0.0, residual = kInf;
    bool have_previous = false, stopped = false;
    for (int it = 0; it < options.max_iterations; ++it) {
      deflate(v);
      scale_inplace(v, 1.0 / norm(v));
      products.apply(v, av);
      lambda = dot(av, v);
      r.copy_from(av);
      axpy(r, -lambda, v);
      residual = norm(r);
      if (options.stop_on_residual) {
        stopped = residual <= options.tolerance * std::abs(lambda);
      } else if (have_previous) {
        stopped = std::abs(previous - lambda) / (std::abs(previous) + 1e-6) < options.tolerance;
      }
      previous = lambda;
      have_previous = true;
      if (stopped) break;
      const double n = norm(av);
      if (n == 0.0) break;  // v is in the null space: λ = 0 exactly
      if (it + 1 < options.max_iterations) {
        v.copy_from(av);
        scale_inplace(v, 1.0 / n);
      }
    }
    Eigenpair e;
    e.value = lambda;
    e.vector = v.clone();
    e.residual_norm = residual;
    e.relative_residual = relative(residual, lambda);
    e.converged = stopped;
    e.matvecs_to_converge = stopped ? products.count() : -1;
    result.converged = result.converged && stopped;
    result.pairs.push_back(std::move(e));
  }
  result.matvecs = products.count();
  return result;
}

ConditionNumber condition_number(LinearOperator& op, LanczosOptions options) {
  ConditionNumber c;
  options.num_eigenpairs = 1;
  options.which = SpectrumEnd::largest;
  c.top = lanczos_eigenpairs(op, options);
  options.which = SpectrumEnd::smallest;
  c.bottom = lanczos_eigenpairs(op, options);
  c.largest = c.top.pairs.at(0).value;
  c.smallest = c.bottom.pairs.at(0).value;
  c.positive_definite = c.smallest > 0;
  c.condition_number = c.positive_definite ? c.largest / c.smallest : kInf;
  c.converged = c.top.converged && c.bottom.converged;
  return c;
}

SubspaceAlignment subspace_alignment(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  DESCENT_CHECK(!a.empty() && !b.empty(), InputError, "subspace_alignment: both subspaces need at least one vector");
  Eigen::MatrixXd m(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < b.size(); ++j) {
      DESCENT_CHECK(a[i].numel() == b[j].numel(), ShapeError, "subspace_alignment: vectors of {} and {} elements",
                    a[i].numel(), b[j].numel());
      m(i, j) = dot(a[i].dtype() == DType::f64 ? a[i] : a[i].astype(DType::f64),
                    b[j].dtype() == DType::f64 ? b[j] : b[j].astype(DType::f64));
    }
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(m);
  SubspaceAlignment s;
  for (Eigen::Index i = 0; i < svd.singularValues().size(); ++i) s.cosines.push_back(std::min(1.0, svd.singularValues()(i)));
  s.mean_squared_cosine = m.squaredNorm() / double(std::min(a.size(), b.size()));
  return s;
}

std::vector<Tensor> eigenvectors(const EigenResult& result) {
  std::vector<Tensor> v;
  for (const Eigenpair& p : result.pairs) v.push_back(p.vector);
  return v;
}

}  // namespace descent::probe
