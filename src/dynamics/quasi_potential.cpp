#include "descent/dynamics/quasi_potential.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

#include <Eigen/Eigenvalues>

#include "descent/dynamics/diffusion.hpp"

namespace descent::dynamics {

Eigen::MatrixXd solve_continuous_lyapunov(const Eigen::MatrixXd& a, const Eigen::MatrixXd& q) {
  const Eigen::Index n = a.rows();
  DESCENT_CHECK(n >= 1 && a.cols() == n && q.rows() == n && q.cols() == n, ShapeError,
                "solve_continuous_lyapunov: A and Q must be square and of one size ({}×{}, {}×{})", a.rows(),
                a.cols(), q.rows(), q.cols());
  DESCENT_CHECK(a.allFinite() && q.allFinite(), NonFiniteError, "solve_continuous_lyapunov: non-finite input");
  using C = std::complex<double>;
  Eigen::ComplexSchur<Eigen::MatrixXd> schur(a);
  const Eigen::MatrixXcd& t = schur.matrixT();
  const Eigen::MatrixXcd& u = schur.matrixU();
  const Eigen::MatrixXcd f = u.adjoint() * q.cast<C>() * u;
  Eigen::MatrixXcd y = Eigen::MatrixXcd::Zero(n, n);
  // Column j of T Y + Y Tᴴ = F: (T + conj(t_jj) I) y_j = f_j − Σ_{k>j} conj(t_jk) y_k.
  for (Eigen::Index j = n - 1; j >= 0; --j) {
    Eigen::VectorXcd rhs = f.col(j);
    for (Eigen::Index k = j + 1; k < n; ++k) rhs -= std::conj(t(j, k)) * y.col(k);
    Eigen::MatrixXcd m = t;
    m.diagonal().array() += std::conj(t(j, j));
    for (Eigen::Index i = 0; i < n; ++i)
      DESCENT_CHECK(std::abs(m(i, i)) > 1e-14 * std::max(1.0, t.cwiseAbs().maxCoeff()), InputError,
                    "solve_continuous_lyapunov: λ_i + conj(λ_j) = 0 for some eigenvalues of A: no unique solution");
    y.col(j) = m.triangularView<Eigen::Upper>().solve(rhs);
  }
  const Eigen::MatrixXcd x = u * y * u.adjoint();
  return x.real();
}

Eigen::MatrixXd solve_discrete_lyapunov(const Eigen::MatrixXd& a, const Eigen::MatrixXd& q) {
  const Eigen::Index n = a.rows();
  DESCENT_CHECK(n >= 1 && a.cols() == n && q.rows() == n && q.cols() == n, ShapeError,
                "solve_discrete_lyapunov: A and Q must be square and of one size");
  const Eigen::VectorXcd ev = a.eigenvalues();
  DESCENT_CHECK(ev.cwiseAbs().maxCoeff() < 1.0, InputError,
                "solve_discrete_lyapunov: needs spectral radius < 1, got {:.6g}", ev.cwiseAbs().maxCoeff());
  Eigen::MatrixXd x = q, ak = a;
  for (int it = 0; it < 200; ++it) {
    const Eigen::MatrixXd add = ak * x * ak.transpose();
    x += add;
    ak = ak * ak;
    if (add.cwiseAbs().maxCoeff() <= 1e-17 * x.cwiseAbs().maxCoeff()) break;
  }
  return x;
}

QuadraticQuasiPotential::QuadraticQuasiPotential(const Eigen::MatrixXd& hessian, const Eigen::MatrixXd& noise,
                                                 Eigen::VectorXd minimum)
    : s_(solve_continuous_lyapunov(hessian, noise)), minimum_(std::move(minimum)) {
  if (minimum_.size() == 0) minimum_ = Eigen::VectorXd::Zero(hessian.rows());
  DESCENT_CHECK(minimum_.size() == hessian.rows(), ShapeError, "quasi-potential: the minimum has {} entries, H is {}×{}",
                minimum_.size(), hessian.rows(), hessian.rows());
  s_ = 0.5 * (s_ + s_.transpose());
  s_factor_.compute(s_);
  DESCENT_CHECK(s_factor_.info() == Eigen::Success && s_factor_.isPositive() &&
                    s_factor_.vectorD().minCoeff() > 0,
                InputError, "quasi-potential: S is not positive definite (is H a minimum's Hessian and D invertible?)");
}

double QuadraticQuasiPotential::value(const Eigen::VectorXd& x) const {
  const Eigen::VectorXd d = x - minimum_;
  return 0.5 * d.dot(s_factor_.solve(d));
}

double QuadraticQuasiPotential::barrier_sphere(double radius) const {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(s_, Eigen::EigenvaluesOnly);
  return radius * radius / (2.0 * eig.eigenvalues().maxCoeff());
}

double QuadraticQuasiPotential::barrier_hyperplane(const Eigen::VectorXd& normal, double offset) const {
  return offset * offset / (2.0 * normal.dot(s_ * normal));
}

double freidlin_wentzell_log_exit_time(double barrier, double epsilon) {
  DESCENT_CHECK(epsilon > 0, InputError, "Freidlin–Wentzell: ε must be positive, got {}", epsilon);
  return barrier / epsilon;
}

double eyring_kramers_mean_transition_time(const Eigen::MatrixXd& hessian_minimum,
                                           const Eigen::MatrixXd& hessian_saddle, double barrier_f, double epsilon,
                                           double noise_variance) {
  DESCENT_CHECK(epsilon > 0 && noise_variance > 0, InputError, "Eyring–Kramers: ε and σ² must be positive");
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> em(hessian_minimum, Eigen::EigenvaluesOnly),
      es(hessian_saddle, Eigen::EigenvaluesOnly);
  DESCENT_CHECK(em.eigenvalues().minCoeff() > 0, InputError, "Eyring–Kramers: H at the minimum is not positive definite");
  const Eigen::VectorXd& ls = es.eigenvalues();
  DESCENT_CHECK(ls(0) < 0 && (ls.size() == 1 || ls(1) > 0), InputError,
                "Eyring–Kramers: H at the saddle must have exactly one negative eigenvalue");
  const double det_ratio = std::abs(ls.prod()) / em.eigenvalues().prod();
  return 2.0 * std::numbers::pi / std::abs(ls(0)) * std::sqrt(det_ratio) *
         std::exp(2.0 * barrier_f / (epsilon * noise_variance));
}

namespace {

// Redistributes the images at equal arc length along the piecewise-linear string.
void reparametrize(std::vector<Eigen::VectorXd>& phi) {
  const int m = int(phi.size());
  std::vector<double> s(m, 0.0);
  for (int i = 1; i < m; ++i) s[i] = s[i - 1] + (phi[i] - phi[i - 1]).norm();
  if (s.back() == 0) return;
  std::vector<Eigen::VectorXd> out(m);
  out[0] = phi[0];
  out[m - 1] = phi[m - 1];
  int seg = 0;
  for (int i = 1; i < m - 1; ++i) {
    const double target = s.back() * double(i) / double(m - 1);
    while (seg < m - 2 && s[seg + 1] < target) ++seg;
    const double len = s[seg + 1] - s[seg];
    const double w = len > 0 ? (target - s[seg]) / len : 0.0;
    out[i] = (1 - w) * phi[seg] + w * phi[seg + 1];
  }
  phi = std::move(out);
}

}  // namespace

StringPath string_method(Objective& f, const Eigen::VectorXd& start, const Eigen::VectorXd& end,
                         const StringMethodOptions& options) {
  const int64_t p = f.dimension();
  DESCENT_CHECK(start.size() == p && end.size() == p, ShapeError, "string method: endpoints must have {} entries", p);
  DESCENT_CHECK(options.images >= 3 && options.step > 0 && options.max_iterations >= 1, InputError,
                "string method: needs ≥ 3 images, a positive step and ≥ 1 iteration");
  const int m = options.images;
  StringPath out;
  out.images.resize(m);
  for (int i = 0; i < m; ++i) out.images[i] = start + (end - start) * (double(i) / double(m - 1));
  Tensor x = Tensor::empty({p}, DType::f64), g = Tensor::empty({p}, f.dtype());
  auto gradient = [&](const Eigen::VectorXd& v, double* value) {
    as_vector(x) = v;
    const Tensor xo = f.dtype() == DType::f64 ? x : x.astype(f.dtype());
    const double fv = f.value_and_gradient(xo, g);
    if (value) *value = fv;
    return Eigen::VectorXd(as_vector(g.dtype() == DType::f64 ? g : g.astype(DType::f64)));
  };
  for (out.iterations = 0; out.iterations < options.max_iterations;) {
    std::vector<Eigen::VectorXd> before = out.images;
    for (auto& phi : out.images) phi -= options.step * gradient(phi, nullptr);
    reparametrize(out.images);
    ++out.iterations;
    double moved = 0;
    for (int i = 0; i < m; ++i) moved = std::max(moved, (out.images[i] - before[i]).cwiseAbs().maxCoeff());
    DESCENT_CHECK(std::isfinite(moved), NonFiniteError, "string method: the images became non-finite (step too large?)");
    if (moved <= options.tolerance) {
      out.converged = true;
      break;
    }
  }
  out.energies.resize(m);
  for (int i = 0; i < m; ++i) gradient(out.images[i], &out.energies[i]);
  out.saddle_index = int(std::max_element(out.energies.begin(), out.energies.end()) - out.energies.begin());
  out.barrier = out.energies[out.saddle_index] - out.energies.front();
  return out;
}

double geometric_action(const std::vector<Eigen::VectorXd>& path,
                        const std::function<Eigen::VectorXd(const Eigen::VectorXd&)>& drift,
                        const Eigen::MatrixXd& noise) {
  DESCENT_CHECK(path.size() >= 2, InputError, "geometric action: a path needs ≥ 2 points");
  const Eigen::LDLT<Eigen::MatrixXd> d(noise);
  DESCENT_CHECK(d.info() == Eigen::Success && d.isPositive() && d.vectorD().minCoeff() > 0, InputError,
                "geometric action: D must be positive definite");
  double s = 0;
  for (size_t i = 1; i < path.size(); ++i) {
    const Eigen::VectorXd dpsi = path[i] - path[i - 1];
    const Eigen::VectorXd b = drift(0.5 * (path[i] + path[i - 1]));
    const Eigen::VectorXd a_dpsi = d.solve(dpsi), a_b = d.solve(b);
    s += std::sqrt(std::max(dpsi.dot(a_dpsi), 0.0) * std::max(b.dot(a_b), 0.0)) - dpsi.dot(a_b);
  }
  return s;
}

}  // namespace descent::dynamics
