#pragma once
// descent/autodiff: define-by-run automatic differentiation (the umbrella header).
//
//   Var w(Tensor::zeros({784, 10}), /*requires_grad=*/true);
//   Var loss = mean(...);                        // any composition of primitives
//   VarList g = grad(loss, {w});                 // reverse mode
//   VarList g2 = grad(loss, {w}, true);          // recorded: differentiable again
//
// Functional forms take a function of Vars and plain tensors and return tensors:
// value_and_grad, vjp, jvp, hessian_vector_product, jacobian, hessian, check_gradients.
//
// Second order. Every primitive's VJP and JVP rules are written in differentiable ops, so
//   * reverse over reverse: grad(..., create_graph=true), then grad again;
//   * forward over reverse: tangents set on the inputs (Var::set_tangent) flow through the
//     forward pass and, through the same rules, through the backward pass: the gradient's
//     tangent is the Hessian-vector product.
// Tangents are not themselves differentiated in reverse mode (no reverse over forward).
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "descent/autodiff/var.hpp"
#include "descent/core/conv.hpp"
#include "descent/core/fused.hpp"

namespace descent {

// ---- reverse mode on a recorded graph ----

// Gradients of the scalar `output` with respect to each of `wrt`. `wrt` may hold leaves or
// intermediate values (e.g. a layer's pre-activations, for per-example gradients); a
// variable `output` does not depend on gets zeros of its shape. With create_graph the
// backward pass is itself recorded, so the gradients can be differentiated again.
VarList grad(const Var& output, const VarList& wrt, bool create_graph = false);
// The vector-Jacobian product: `cotangent` (output's shape) pulled back to each of `wrt`.
VarList vjp(const Var& output, const VarList& wrt, const Var& cotangent, bool create_graph = false);

// ---- functional transforms ----
// A function of several inputs (leaves are made from the tensors given) with one output.
using Function = std::function<Var(const VarList&)>;

// f(x) and ∇f(x) for a scalar f, one gradient per input.
std::pair<Tensor, std::vector<Tensor>> value_and_grad(const Function& f, const std::vector<Tensor>& x);
std::vector<Tensor> grad(const Function& f, const std::vector<Tensor>& x);
// f(x) and uᵀ J_f(x) for each input, with u = cotangent (f(x)'s shape).
std::pair<Tensor, std::vector<Tensor>> vjp(const Function& f, const std::vector<Tensor>& x, const Tensor& cotangent);
// f(x) and J_f(x) v (forward mode), v = tangents (one per input, the inputs' shapes).
std::pair<Tensor, Tensor> jvp(const Function& f, const std::vector<Tensor>& x, const std::vector<Tensor>& tangents);

enum class HvpMode {
  automatic,             // the faster of the two (forward over reverse)
  forward_over_reverse,  // tangents through forward and backward pass: one sweep each
  reverse_over_reverse,  // recorded backward, then grad of ⟨∇f, v⟩
};
// H v for a scalar f, v one tensor per input; the result has one tensor per input.
std::vector<Tensor> hessian_vector_product(const Function& f, const std::vector<Tensor>& x,
                                           const std::vector<Tensor>& v, HvpMode mode = HvpMode::automatic);
struct ValueGradHvp {
  Tensor value;
  std::vector<Tensor> grads;
  std::vector<Tensor> hvp;
};
// f, ∇f and H v from one pass (what Newton-CG and curvature probes want).
ValueGradHvp value_grad_and_hvp(const Function& f, const std::vector<Tensor>& x, const std::vector<Tensor>& v,
                                HvpMode mode = HvpMode::automatic);

// Dense derivatives, for small problems. Inputs are flattened and concatenated in order
// (n = Σ numel), the output flattened (m = numel): the Jacobian is [m, n] (one reverse
// sweep per output element), the Hessian of a scalar f is [n, n] (one HVP per column).
Tensor jacobian(const Function& f, const std::vector<Tensor>& x);
Tensor hessian(const Function& f, const std::vector<Tensor>& x, HvpMode mode = HvpMode::automatic);

// ---- gradient checking ----
struct GradientCheckOptions {
  // Finite-difference step for element x_i: step * max(1, |x_i|).
  double step = 1e-4;
  // Stencil order: 2 (f(x+h) − f(x−h)) / 2h, or 4 (the five-point central stencil).
  int order = 4;
  // Pass when every |analytic − numeric| / max(|analytic|, |numeric|, floor) ≤ tolerance.
  double tolerance = 1e-6;
  double floor = 1e-6;
  // Non-scalar outputs are checked through ⟨u, f(x)⟩ with u ~ N(0, 1) from this seed.
  uint64_t seed = 0;
};
struct GradientCheckReport {
  double max_relative_error = 0;
  double max_absolute_error = 0;
  int worst_input = -1;      // which input holds the worst element
  int64_t worst_index = -1;  // its flat index in that input
  double analytic = 0, numeric = 0;  // the two derivatives at that element
  int64_t checked = 0;       // elements compared
  bool passed = false;
  std::string str() const;
};
// Compares autodiff gradients with central finite differences, in float64 (inputs are
// converted; f must accept float64 inputs).
GradientCheckReport check_gradients(const Function& f, const std::vector<Tensor>& x,
                                    const GradientCheckOptions& options = {});

// ---- convolution and pooling pieces (for CNN layers) ----
// y = conv(x, w) + b for x [N, C, H, W], w [O, C/groups, kh, kw], b [O] or undefined (none);
// PyTorch's conv2d (core/conv.hpp: oneDNN for float32). The two backward passes are
// primitives too (the transposed convolution and the weight gradient), so that gradients
// of gradients and forward-over-reverse Hessian-vector products run on the same kernels.
Var conv2d(const Var& x, const Var& w, const Var& b, const ConvSpec& spec);
Var conv2d_backward_data(const Var& g, const Var& w, const Shape& x_shape, const ConvSpec& spec);
Var conv2d_backward_weights(const Var& x, const Var& g, const Shape& w_shape, const ConvSpec& spec);
// im2col: x [N, C, H, W] -> columns [N, C*kh*kw, OH*OW] (torch's unfold layout: row
// (c*kh + i)*kw + j holds x[n, c, oh*sh - ph + i, ow*sw - pw + j], zero outside x), so a
// convolution is W[O, C*kh*kw] @ columns[n]. col2im is its adjoint (overlaps add up);
// each is the other's VJP.
Var im2col(const Var& x, const Window2d& w);
Var col2im(const Var& cols, const Shape& x_shape, const Window2d& w);
// x [N, C, H, W] -> [N, C, OH, OW]. max_pool2d: padding never wins (−inf); the gradient goes
// to the first maximal element of each window (a gather, so both modes and second order
// come from gather's rules). avg_pool2d: mean over the window with zero padding counted
// (count_include_pad), composed from im2col and mean.
Var max_pool2d(const Var& x, const Window2d& w);
Var avg_pool2d(const Var& x, const Window2d& w);

}  // namespace descent
