// Linear algebra and shape primitives: matmul, transpose, permute, reshape, broadcast_to,
// sum_to. All are linear in each argument, so their rules are short.
#include "../rules.hpp"

namespace descent {
using namespace detail;

namespace {

// op(X) op(Y) + op(X') op(Y') for the tangent of a bilinear product, either term possibly
// absent; 2-D products accumulate into one buffer through gemm's beta.
Tensor sum_of_products(const Tensor& x1, const Tensor& y1, const Tensor& x2, const Tensor& y2, bool fx, bool fy) {
  // A term with an undefined (zero) factor is absent.
  if (!x2.defined() || !y2.defined()) return x1.defined() && y1.defined() ? matmul(x1, y1, fx, fy) : Tensor();
  if (!x1.defined() || !y1.defined()) return matmul(x2, y2, fx, fy);
  Tensor out = matmul(x1, y1, fx, fy);
  if (!x2.defined()) return out;
  if (out.rank() == 2 && x2.rank() == 2 && y2.rank() == 2) {
    gemm_into(out, x2, y2, fx, fy, 1.0, 1.0);
    return out;
  }
  return add(out, matmul(x2, y2, fx, fy));
}
Tensor tangent_value(const Var& v) {
  const Var t = v.tangent();
  return t.defined() ? t.value() : Tensor();
}

// The cotangent op(X) op(Y) of a leaf when only its tangent is wanted (forward-over-reverse
// HVP): zeros as the value, d(op(X) op(Y)) as the tangent.
Var leaf_product_tangent_only(const Var& x, const Var& y, bool fx, bool fy, const Shape& shape) {
  return with_tangent(Tensor::zeros(shape, x.dtype()),
                      sum_of_products(tangent_value(x), y.value(), x.value(), tangent_value(y), fx, fy));
}

// C = op(A) op(B), op = transpose of the last two axes when flagged. The cotangents use
// the transpose flags of gemm instead of materialized transposes:
//   dA = g op(B)ᵀ        (or, when A enters transposed, op(B) gᵀ)
//   dB = op(A)ᵀ g        (or, when B enters transposed, gᵀ op(A))
struct MatmulNode final : Node {
  bool ta, tb;
  MatmulNode(bool ta_, bool tb_) : ta(ta_), tb(tb_) {}
  const char* name() const override { return "matmul"; }
  VarList vjp(const Var& g, const std::vector<bool>& need) override {
    const Var &a = input(0), &b = input(1);
    Var da, db;
    const bool skip_leaf_values = leaf_cotangent_values_unused();
    if (need[0]) {
      if (skip_leaf_values && is_leaf(a))
        da = ta ? leaf_product_tangent_only(b, g, tb, true, a.shape())
                : leaf_product_tangent_only(g, b, false, !tb, a.shape());
      else
        da = ta ? matmul(b, g, tb, true) : matmul(g, b, false, !tb);
    }
    if (need[1]) {
      if (skip_leaf_values && is_leaf(b))
        db = tb ? leaf_product_tangent_only(g, a, true, ta, b.shape())
                : leaf_product_tangent_only(a, g, !ta, false, b.shape());
      else
        db = tb ? matmul(g, a, true, ta) : matmul(a, g, !ta, false);
    }
    return {da, db};
  }
  // d(op(A) op(B)) = op(dA) op(B) + op(A) op(dB), in one output buffer.
  Var jvp(const VarList& t) override {
    Tensor r = sum_of_products(t[0].defined() ? t[0].value() : Tensor(), input(1).value(), input(0).value(),
                               t[1].defined() ? t[1].value() : Tensor(), ta, tb);
    return r.defined() ? Var(std::move(r)) : Var();
  }
};

struct PermuteNode final : Node {
  std::vector<int> perm, inverse;
  explicit PermuteNode(std::vector<int> p) : perm(std::move(p)), inverse(perm.size()) {
    for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int>(i);
  }
  const char* name() const override { return "permute"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {permute(g, inverse)}; }
  Var jvp(const VarList& t) override { return permute(t[0], perm); }
};

struct TransposeNode final : Node {
  const char* name() const override { return "transpose"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {transpose(g)}; }
  Var jvp(const VarList& t) override { return transpose(t[0]); }
};

struct ReshapeNode final : Node {
  const char* name() const override { return "reshape"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {reshape(g, input(0).shape())}; }
  Var jvp(const VarList& t) override { return reshape(t[0], value.shape()); }
};

struct BroadcastNode final : Node {
  const char* name() const override { return "broadcast_to"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {sum_to(g, input(0).shape())}; }
  Var jvp(const VarList& t) override { return broadcast_to(t[0], value.shape()); }
};

struct SumToNode final : Node {
  const char* name() const override { return "sum_to"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {broadcast_to(g, input(0).shape())}; }
  Var jvp(const VarList& t) override { return sum_to(t[0], value.shape()); }
};

}  // namespace

Var matmul(const Var& a, const Var& b, bool ta, bool tb) {
  // [..., m, k] x [k, n]: the leading axes are folded into the rows of one gemm.
  if (a.rank() > 2 && b.rank() == 2 && !ta) {
    const Shape& s = a.shape();
    const int64_t k = s[s.rank() - 1];
    Var c = matmul(reshape(a, Shape{a.numel() / (k == 0 ? 1 : k), k}), b, false, tb);
    Shape out;
    for (int i = 0; i + 1 < s.rank(); ++i) out.push_back(s[i]);
    out.push_back(c.shape()[1]);
    return reshape(c, out);
  }
  // A matrix against a batch (e.g. conv weights [O, C*kh*kw] against im2col columns
  // [N, C*kh*kw, OH*OW]): the matrix is broadcast over the batch (its gradient sums back).
  if (a.rank() == 2 && b.rank() == 3) return matmul(broadcast_to(a, Shape{b.shape()[0], a.shape()[0], a.shape()[1]}), b, ta, tb);
  if (a.rank() == 3 && b.rank() == 2) return matmul(a, broadcast_to(b, Shape{a.shape()[0], b.shape()[0], b.shape()[1]}), ta, tb);
  return make_node<MatmulNode>(matmul(a.value(), b.value(), ta, tb), {a, b}, ta, tb);
}

Var transpose(const Var& x) { return make_node<TransposeNode>(transpose(x.value()), {x}); }

Var permute(const Var& x, const std::vector<int>& perm) {
  std::vector<int> p(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) p[i] = x.value().shape().normalize_axis(perm[i]);
  Tensor v = permute(x.value(), p);
  return make_node<PermuteNode>(std::move(v), {x}, std::move(p));
}

Var reshape(const Var& x, const Shape& shape) {
  Tensor v = x.value().reshape(shape);
  if (v.shape() == x.shape()) return x;
  return make_node<ReshapeNode>(std::move(v), {x});
}

Var broadcast_to(const Var& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return make_node<BroadcastNode>(broadcast_to(x.value(), shape), {x});
}

Var sum_to(const Var& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return make_node<SumToNode>(sum_to(x.value(), shape), {x});
}

}  // namespace descent
