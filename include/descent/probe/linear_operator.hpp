#pragma once
// LinearOperator: a P×P matrix known only through its products A·v. Every curvature and
// noise instrument in probe/ (Lanczos, power iteration, Hutchinson, Hutch++, stochastic
// Lanczos quadrature) runs on this interface, so the same code reads the Hessian, a block
// of it, the gradient-noise covariance, the empirical Fisher, a Gauss–Newton matrix or a
// plain dense matrix in a test. No adapter here ever forms a P×P matrix; `dense_matrix`
// does, and only when called.
#include <cstdint>
#include <functional>
#include <string>

#include "descent/core/objective.hpp"
#include "descent/core/tensor.hpp"

namespace descent::probe {

class LinearOperator {
 public:
  virtual ~LinearOperator() = default;
  // P: the operator maps R^P to R^P.
  virtual int64_t dimension() const = 0;
  // Element type of the vectors apply() takes and writes (float32 or float64).
  virtual DType dtype() const = 0;
  // out = A v. `v` and `out` are 1-D of dimension() elements and dtype(); they never alias.
  virtual void apply(const Tensor& v, Tensor& out) = 0;
  // What the operator is, for reports: "Hessian", "Hessian block [0, 200)", ...
  virtual std::string name() const = 0;
  // Lanczos and SLQ need a symmetric operator; Hutchinson / Hutch++ do not.
  virtual bool symmetric() const { return true; }
};

// The Hessian ∇²f(θ) of an Objective, through Objective::hessian_vector_product. Whether the
// objective streams its data in chunks or holds one fixed batch is the objective's business;
// θ is copied, so later changes to the caller's tensor do not move the operator.
class HessianOperator final : public LinearOperator {
 public:
  HessianOperator(Objective& objective, const Tensor& theta);
  int64_t dimension() const override { return objective_->dimension(); }
  DType dtype() const override { return theta_.dtype(); }
  void apply(const Tensor& v, Tensor& out) override;
  // "Hessian" or, when the objective has no exact HVP, "Hessian (finite-difference HVP)".
  std::string name() const override;

 private:
  Objective* objective_;
  Tensor theta_;
};
HessianOperator hessian_operator(Objective& objective, const Tensor& theta);

// The diagonal block A_bb = P_b A P_bᵀ of `parent` for the parameters [begin, end), e.g. one
// layer. Each product embeds v in a zero P-vector, applies the parent and keeps [begin, end);
// the two P-sized buffers are allocated once. `parent` must outlive the block.
class BlockOperator final : public LinearOperator {
 public:
  BlockOperator(LinearOperator& parent, int64_t begin, int64_t end, std::string block_name = {});
  int64_t dimension() const override { return end_ - begin_; }
  DType dtype() const override { return parent_->dtype(); }
  void apply(const Tensor& v, Tensor& out) override;
  std::string name() const override;
  bool symmetric() const override { return parent_->symmetric(); }
  int64_t begin() const { return begin_; }
  int64_t end() const { return end_; }

 private:
  LinearOperator* parent_;
  int64_t begin_, end_;
  std::string block_name_;
  Tensor embedded_, parent_out_;
};
BlockOperator block_operator(LinearOperator& parent, int64_t begin, int64_t end, std::string block_name = {});

// A·B applied as A(Bv) (not symmetric in general): for Tr(HΣ) by Hutchinson / Hutch++.
class ProductOperator final : public LinearOperator {
 public:
  ProductOperator(LinearOperator& a, LinearOperator& b);
  int64_t dimension() const override { return a_->dimension(); }
  DType dtype() const override { return a_->dtype(); }
  void apply(const Tensor& v, Tensor& out) override;
  std::string name() const override { return a_->name() + " · " + b_->name(); }
  bool symmetric() const override { return false; }

 private:
  LinearOperator *a_, *b_;
  Tensor bv_;
};

// An operator from a callable, e.g. a Gauss–Newton product G v = Jᵀ H_ℓ J v that a model
// provides (the generalized Gauss–Newton operator plugs in here until the nn Objective
// exposes it), or any user matrix-free product.
class FunctionOperator final : public LinearOperator {
 public:
  using Apply = std::function<void(const Tensor& v, Tensor& out)>;
  FunctionOperator(std::string name, int64_t dimension, Apply apply, DType dtype = DType::f64,
                   bool symmetric = true);
  int64_t dimension() const override { return dimension_; }
  DType dtype() const override { return dtype_; }
  void apply(const Tensor& v, Tensor& out) override { apply_(v, out); }
  std::string name() const override { return name_; }
  bool symmetric() const override { return symmetric_; }

 private:
  std::string name_;
  int64_t dimension_;
  Apply apply_;
  DType dtype_;
  bool symmetric_;
};
// The generalized Gauss–Newton matrix G = Jᵀ ∇²ℓ J from a model's product v ↦ G v.
FunctionOperator gauss_newton_operator(int64_t dimension, FunctionOperator::Apply gauss_newton_vector_product,
                                       DType dtype = DType::f64);

// An explicit P×P matrix (a [P, P] Tensor, row-major): for tests and small problems.
class MatrixOperator final : public LinearOperator {
 public:
  explicit MatrixOperator(Tensor matrix, std::string name = "matrix");
  int64_t dimension() const override { return matrix_.dim(0); }
  DType dtype() const override { return matrix_.dtype(); }
  void apply(const Tensor& v, Tensor& out) override;
  std::string name() const override { return name_; }
  bool symmetric() const override { return symmetric_; }

 private:
  Tensor matrix_;
  std::string name_;
  bool symmetric_;
};

// Forms the P×P matrix [A e_1, …, A e_P] (float64) with P products. Only for small P: it
// refuses P > max_dimension so that a typo cannot ask for a 270k × 270k matrix.
Tensor dense_matrix(LinearOperator& op, int64_t max_dimension = 20000);

}  // namespace descent::probe
