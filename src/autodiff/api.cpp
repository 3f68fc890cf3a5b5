// Functional transforms over Function = Var(const VarList&): value_and_grad, vjp, jvp,
// Hessian-vector products, dense Jacobians and Hessians, and the gradient checker.
#include <algorithm>
#include <cmath>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/rng.hpp"
#include "rules.hpp"

namespace descent {
using namespace detail;

namespace {

VarList leaves(const std::vector<Tensor>& x, bool requires_grad) {
  VarList out;
  out.reserve(x.size());
  for (const Tensor& t : x) out.emplace_back(t, requires_grad);
  return out;
}

std::vector<Tensor> values(const VarList& vs) {
  std::vector<Tensor> out;
  out.reserve(vs.size());
  for (const Var& v : vs) out.push_back(v.value());
  return out;
}

Var call(const Function& f, const VarList& xs, const char* who) {
  Var out = f(xs);
  DESCENT_CHECK(out.defined(), ShapeError, "{}: the function returned an undefined variable", who);
  return out;
}

void check_pairs(const std::vector<Tensor>& x, const std::vector<Tensor>& v, const char* who, const char* what) {
  DESCENT_CHECK(x.size() == v.size(), ShapeError, "{}: {} {} for {} inputs", who, v.size(), what, x.size());
  for (size_t i = 0; i < x.size(); ++i)
    DESCENT_CHECK(x[i].shape() == v[i].shape() && x[i].dtype() == v[i].dtype(), ShapeError,
                  "{}: {} {} ({} {}) does not match input {} ({} {})", who, what, i, dtype_name(v[i].dtype()),
                  v[i].shape(), i, dtype_name(x[i].dtype()), x[i].shape());
}

Tensor tangent_or_zeros(const Var& v) {
  const Var t = v.tangent();
  return t.defined() ? t.value() : Tensor::zeros(v.shape(), v.dtype());
}

}  // namespace

std::pair<Tensor, std::vector<Tensor>> value_and_grad(const Function& f, const std::vector<Tensor>& x) {
  VarList xs = leaves(x, true);
  Var out = call(f, xs, "value_and_grad");
  VarList g = grad(out, xs);
  return {out.value(), values(g)};
}

std::vector<Tensor> grad(const Function& f, const std::vector<Tensor>& x) { return value_and_grad(f, x).second; }

std::pair<Tensor, std::vector<Tensor>> vjp(const Function& f, const std::vector<Tensor>& x, const Tensor& cotangent) {
  VarList xs = leaves(x, true);
  Var out = call(f, xs, "vjp");
  VarList g = vjp(out, xs, Var(cotangent));
  return {out.value(), values(g)};
}

std::pair<Tensor, Tensor> jvp(const Function& f, const std::vector<Tensor>& x, const std::vector<Tensor>& tangents) {
  check_pairs(x, tangents, "jvp", "tangent");
  VarList xs = leaves(x, false);
  for (size_t i = 0; i < xs.size(); ++i) xs[i].set_tangent(Var(tangents[i]));
  NoGradGuard no_grad;
  Var out = call(f, xs, "jvp");
  return {out.value(), tangent_or_zeros(out)};
}

namespace {
ValueGradHvp hvp_impl(const Function& f, const std::vector<Tensor>& x, const std::vector<Tensor>& v, HvpMode mode,
                      bool want_grads) {
  check_pairs(x, v, "hessian_vector_product", "direction");
  ValueGradHvp r;
  VarList xs = leaves(x, true);
  if (mode == HvpMode::reverse_over_reverse) {
    Var out = call(f, xs, "hessian_vector_product");
    DESCENT_CHECK(out.numel() == 1, ShapeError, "hessian_vector_product: f must be scalar, got shape {}",
                  out.shape());
    VarList g = grad(out, xs, /*create_graph=*/true);
    Var inner;
    for (size_t i = 0; i < xs.size(); ++i) {
      Var term = sum(g[i] * Var(v[i]));
      inner = inner.defined() ? inner + term : term;
    }
    VarList hv = grad(inner, xs);
    r.value = out.value();
    r.grads = values(g);
    r.hvp = values(hv);
    return r;
  }
  // Forward over reverse: the tangent v rides along the forward pass and, through the same
  // rules, the backward pass; the gradient's tangent is H v.
  for (size_t i = 0; i < xs.size(); ++i) xs[i].set_tangent(Var(v[i]));
  Var out = call(f, xs, "hessian_vector_product");
  DESCENT_CHECK(out.numel() == 1, ShapeError, "hessian_vector_product: f must be scalar, got shape {}", out.shape());
  VarList g;
  if (want_grads) {
    g = grad(out, xs);
  } else {
    // Only the gradients' tangents are wanted: rules may skip the leaves' gradient values
    // (e.g. the weight-gradient gemms), which H v does not need.
    LeafTangentOnlyGuard tangent_only;
    g = grad(out, xs);
  }
  r.value = out.value();
  if (want_grads) r.grads = values(g);
  r.hvp.reserve(g.size());
  for (const Var& gi : g) r.hvp.push_back(tangent_or_zeros(gi));
  return r;
}
}  // namespace

ValueGradHvp value_grad_and_hvp(const Function& f, const std::vector<Tensor>& x, const std::vector<Tensor>& v,
                                HvpMode mode) {
  return hvp_impl(f, x, v, mode, true);
}

std::vector<Tensor> hessian_vector_product(const Function& f, const std::vector<Tensor>& x,
                                           const std::vector<Tensor>& v, HvpMode mode) {
  return hvp_impl(f, x, v, mode, false).hvp;
}

Tensor jacobian(const Function& f, const std::vector<Tensor>& x) {
  VarList xs = leaves(x, true);
  Var out = call(f, xs, "jacobian");
  int64_t n = 0;
  for (const Tensor& t : x) n += t.numel();
  const int64_t m = out.numel();
  Tensor jac = Tensor::zeros({m, n}, out.dtype());
  for (int64_t j = 0; j < m; ++j) {
    Tensor e = Tensor::zeros(out.shape(), out.dtype());
    e.set(j, 1.0);
    VarList g = vjp(out, xs, Var(e));
    int64_t col = 0;
    for (const Var& gi : g) {
      for (int64_t k = 0; k < gi.numel(); ++k) jac.set(j * n + col + k, gi.value().at(k));
      col += gi.numel();
    }
  }
  return jac;
}

Tensor hessian(const Function& f, const std::vector<Tensor>& x, HvpMode mode) {
  int64_t n = 0;
  for (const Tensor& t : x) n += t.numel();
  const DType dt = x.empty() ? DType::f64 : x[0].dtype();
  Tensor h = Tensor::zeros({n, n}, dt);
  std::vector<Tensor> v;
  for (const Tensor& t : x) v.push_back(Tensor::zeros(t.shape(), t.dtype()));
  int64_t col = 0;
  for (size_t i = 0; i < x.size(); ++i)
    for (int64_t k = 0; k < x[i].numel(); ++k, ++col) {
      v[i].set(k, 1.0);
      std::vector<Tensor> hv = hessian_vector_product(f, x, v, mode);
      v[i].set(k, 0.0);
      int64_t row = 0;
      for (const Tensor& part : hv)
        for (int64_t r = 0; r < part.numel(); ++r, ++row) h.set(row * n + col, part.at(r));
    }
  return h;
}

std::string GradientCheckReport::str() const {
  return fmt::format("{}: max relative error {:.3e} (max absolute {:.3e}) over {} elements; worst: input {} "
                     "element {} (autodiff {:.10g}, finite differences {:.10g})",
                     passed ? "passed" : "FAILED", max_relative_error, max_absolute_error, checked, worst_input,
                     worst_index, analytic, numeric);
}

GradientCheckReport check_gradients(const Function& f, const std::vector<Tensor>& x_in,
                                    const GradientCheckOptions& opt) {
  DESCENT_CHECK(opt.order == 2 || opt.order == 4, InputError, "check_gradients: order must be 2 or 4, got {}",
                opt.order);
  std::vector<Tensor> x;
  for (const Tensor& t : x_in) x.push_back(t.astype(DType::f64));
  // The output's shape, for the random projection of non-scalar outputs.
  Tensor u;
  {
    NoGradGuard no_grad;
    Var out = call(f, leaves(x, false), "check_gradients");
    if (out.numel() != 1) {
      Rng rng(opt.seed);
      u = rng.normal_tensor(out.shape(), DType::f64);
    }
  }
  auto scalar = [&](const VarList& xs) {
    Var out = call(f, xs, "check_gradients");
    DESCENT_CHECK(out.dtype() == DType::f64, ShapeError,
                  "check_gradients: f returned {} for float64 inputs; compute in the inputs' dtype",
                  dtype_name(out.dtype()));
    return u.defined() ? sum(out * Var(u)) : reshape(out, Shape{});
  };
  auto value_at = [&](const std::vector<Tensor>& pt) {
    NoGradGuard no_grad;
    return scalar(leaves(pt, false)).item();
  };
  const std::vector<Tensor> analytic = value_and_grad(scalar, x).second;

  GradientCheckReport r;
  std::vector<Tensor> pt = x;
  for (size_t i = 0; i < x.size(); ++i) {
    pt[i] = x[i].clone();
    for (int64_t k = 0; k < x[i].numel(); ++k) {
      const double x0 = x[i].at(k);
      const double h = opt.step * std::max(1.0, std::abs(x0));
      auto at = [&](double d) {
        pt[i].set(k, x0 + d);
        return value_at(pt);
      };
      double numeric;
      if (opt.order == 2) numeric = (at(h) - at(-h)) / (2 * h);
      else numeric = (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
      pt[i].set(k, x0);
      const double a = analytic[i].at(k);
      const double abs_err = std::abs(a - numeric);
      double rel = abs_err / std::max({std::abs(a), std::abs(numeric), opt.floor});
      if (std::isnan(rel)) rel = INFINITY;
      ++r.checked;
      r.max_absolute_error = std::max(r.max_absolute_error, abs_err);
      if (r.worst_input < 0 || rel > r.max_relative_error) {
        r.max_relative_error = rel;
        r.worst_input = static_cast<int>(i);
        r.worst_index = k;
        r.analytic = a;
        r.numeric = numeric;
      }
    }
    pt[i] = x[i];
  }
  r.passed = r.max_relative_error <= opt.tolerance;
  return r;
}

}  // namespace descent
