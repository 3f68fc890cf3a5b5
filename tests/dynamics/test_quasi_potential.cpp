#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <sstream>

#include "common/peer.hpp"
#include "descent/core/rng.hpp"
#include "descent/dynamics/diffusion.hpp"
#include "descent/dynamics/quasi_potential.hpp"

namespace descent::dynamics {
namespace {

// The matrices of tests/dynamics/numpy_dynamics.py lyapunov.
void peer_matrices(Eigen::MatrixXd& a, Eigen::MatrixXd& q) {
  const int n = 6;
  a.resize(n, n);
  Eigen::MatrixXd b(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      a(i, j) = std::sin(1.1 * i + 0.7 * j + 0.3 * i * j) + (i == j ? 4.0 : 0.0);
      b(i, j) = std::cos(0.9 * i - 1.3 * j);
    }
  q = b * b.transpose();
}

TEST(QuasiPotential, LyapunovSolversAgreeWithScipy) {
  DESCENT_RUN_PEER_SCRIPT(out, "scipy", "tests/dynamics/numpy_dynamics.py lyapunov");
  Eigen::MatrixXd a, q;
  peer_matrices(a, q);
  std::istringstream in(out);
  auto read = [&] {
    Eigen::MatrixXd m(6, 6);
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 6; ++j) EXPECT_TRUE(in >> m(i, j));
    return m;
  };
  const Eigen::MatrixXd ref_c = read(), ref_d = read();
  const Eigen::MatrixXd xc = solve_continuous_lyapunov(a, q);
  EXPECT_LE((xc - ref_c).cwiseAbs().maxCoeff(), 1e-10 * ref_c.cwiseAbs().maxCoeff());
  EXPECT_LE((a * xc + xc * a.transpose() - q).cwiseAbs().maxCoeff(), 1e-12 * q.cwiseAbs().maxCoeff());
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(a);
  const Eigen::MatrixXd ad = 0.4 * a / svd.singularValues()(0);
  const Eigen::MatrixXd xd = solve_discrete_lyapunov(ad, q);
  EXPECT_LE((xd - ref_d).cwiseAbs().maxCoeff(), 1e-10 * ref_d.cwiseAbs().maxCoeff());
  EXPECT_LE((ad * xd * ad.transpose() + q - xd).cwiseAbs().maxCoeff(), 1e-12 * q.cwiseAbs().maxCoeff());
}

// Closed form: for symmetric H = QΛQᵀ, S = Q [D̃_ij / (λ_i + λ_j)] Qᵀ with D̃ = QᵀDQ.
TEST(QuasiPotential, LyapunovClosedFormForSymmetricH) {
  Eigen::MatrixXd m = Eigen::MatrixXd::Random(5, 5);
  const Eigen::MatrixXd h = m * m.transpose() + Eigen::MatrixXd::Identity(5, 5);
  Eigen::MatrixXd r = Eigen::MatrixXd::Random(5, 5);
  const Eigen::MatrixXd d = r * r.transpose();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(h);
  const Eigen::MatrixXd dt = eig.eigenvectors().transpose() * d * eig.eigenvectors();
  Eigen::MatrixXd st(5, 5);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) st(i, j) = dt(i, j) / (eig.eigenvalues()(i) + eig.eigenvalues()(j));
  const Eigen::MatrixXd s = eig.eigenvectors() * st * eig.eigenvectors().transpose();
  EXPECT_LE((solve_continuous_lyapunov(h, d) - s).cwiseAbs().maxCoeff(), 1e-12 * s.cwiseAbs().maxCoeff());
}

// Isotropic noise D = σ²I: φ = 2(f − f*)/σ² (seed 003 [EXT]); barriers against brute force.
TEST(QuasiPotential, QuadraticQuasiPotentialAndBarriers) {
  Eigen::MatrixXd h(2, 2), dmat(2, 2);
  h << 3, 1, 1, 2;
  const double s2 = 0.7;
  const QuadraticQuasiPotential iso(h, s2 * Eigen::MatrixXd::Identity(2, 2));
  const Eigen::Vector2d x(0.3, -0.8);
  EXPECT_NEAR(iso.value(x), 2 * (0.5 * x.dot(h * x)) / s2, 1e-12);
  dmat << 2.0, 0.6, 0.6, 0.3;
  const QuadraticQuasiPotential qp(h, dmat);
  double sphere = 1e300, plane = 1e300;
  const Eigen::Vector2d a(1.0, 2.0);
  for (int k = 0; k < 200000; ++k) {
    const double t = 2 * std::numbers::pi * k / 200000.0;
    sphere = std::min(sphere, qp.value(1.5 * Eigen::Vector2d(std::cos(t), std::sin(t))));
    // points with ⟨a, x⟩ = 1: x = a/|a|² + s·a⊥
    const double sl = -20 + 40 * k / 200000.0;
    plane = std::min(plane, qp.value(a / a.squaredNorm() + sl * Eigen::Vector2d(-2.0, 1.0)));
  }
  EXPECT_NEAR(qp.barrier_sphere(1.5), sphere, 1e-6 * sphere);
  EXPECT_NEAR(qp.barrier_hyperplane(a, 1.0), plane, 1e-6 * plane);
}

// Eyring–Kramers against the exact 1-D mean first-passage time of dx = −f'(x)dt + √ε dW
// from the minimum −1 to the other minimum +1 of f = (x² − 1)²/4:
//   E τ = (2/ε) ∫_{−1}^{1} e^{2f(y)/ε} ∫_{−∞}^{y} e^{−2f(z)/ε} dz dy   (Gardiner §5.2.7),
// by the trapezoid rule; the ratio tends to 1 as ε → 0 with error O(ε).
TEST(QuasiPotential, EyringKramersMatchesExactMeanFirstPassageTime) {
  auto f = [](double x) { return (x * x - 1) * (x * x - 1) / 4; };
  for (double eps : {0.1, 0.05}) {
    const int n = 40000;
    const double lo = -4.0, h = (1.0 - lo) / n;
    double inner = 0, outer = 0, prev_integrand = 0;
    for (int i = 0; i <= n; ++i) {
      const double y = lo + i * h;
      if (i > 0) inner += 0.5 * h * (std::exp(-2 * f(y - h) / eps) + std::exp(-2 * f(y) / eps));
      const double integrand = std::exp(2 * f(y) / eps) * inner;
      if (y > -1.0 + 1e-12 && i > 0) outer += 0.5 * h * (integrand + prev_integrand);
      prev_integrand = integrand;
    }
    const double exact = 2.0 / eps * outer;
    const double ek = eyring_kramers_mean_transition_time(Eigen::MatrixXd::Constant(1, 1, 2.0),
                                                          Eigen::MatrixXd::Constant(1, 1, -1.0), 0.25, eps);
    EXPECT_NEAR(ek / exact, 1.0, 3 * eps) << "ε = " << eps;
  }
}

// A curved double well f = (x² − 1)² + 2(y − (x² − 1)/2)²: the minimum energy path runs
// through the saddle (0, −1/2) with barrier 1 (the path itself bends away from that valley floor, where ∇f is not
// tangent to it), and the geometric action along it
// with D = σ²I is 2Δf/σ².
TEST(QuasiPotential, StringMethodFindsTheCurvedMinimumEnergyPath) {
  FunctionObjective f(2, [](const Tensor& t, Tensor& g) {
    const double x = t.at(0), y = t.at(1), c = y - (x * x - 1) / 2;
    g.data<double>()[0] = 4 * x * (x * x - 1) - 4 * c * x;
    g.data<double>()[1] = 4 * c;
    return (x * x - 1) * (x * x - 1) + 2 * c * c;
  });
  const StringPath s = string_method(f, Eigen::Vector2d(-1, 0), Eigen::Vector2d(1, 0), {.images = 81, .step = 0.01});
  EXPECT_TRUE(s.converged);
  EXPECT_NEAR(s.barrier, 1.0, 1e-3);
  const Eigen::VectorXd& sad = s.images[s.saddle_index];
  EXPECT_NEAR(sad(0), 0.0, 0.03);
  EXPECT_NEAR(sad(1), -0.5, 1e-3);
  auto grad = [&](const Eigen::VectorXd& v) {
    Tensor t = Tensor::from_vector(std::vector<double>{v(0), v(1)}, {2}), g = Tensor::empty({2}, DType::f64);
    f.value_and_gradient(t, g);
    return Eigen::VectorXd(as_vector(g));
  };
  // A minimum energy path: ∇f is parallel to the path (its normal part vanishes).
  for (size_t i = 1; i + 1 < s.images.size(); ++i) {
    const Eigen::VectorXd tangent = (s.images[i + 1] - s.images[i - 1]).normalized();
    const Eigen::VectorXd g = grad(s.images[i]);
    EXPECT_LE((g - g.dot(tangent) * tangent).norm(), 0.02 + 0.02 * g.norm()) << "image " << i;
  }
  const double sigma2 = 0.5;
  std::vector<Eigen::VectorXd> uphill(s.images.begin(), s.images.begin() + s.saddle_index + 1);
  auto drift = [&](const Eigen::VectorXd& v) { return Eigen::VectorXd(-grad(v)); };
  EXPECT_NEAR(geometric_action(uphill, drift, sigma2 * Eigen::MatrixXd::Identity(2, 2)), 2 * s.barrier / sigma2, 0.02);
}

TEST(QuasiPotential, BadInputIsOneClearError) {
  Eigen::MatrixXd a(2, 2);
  a << 1, 0, 0, -1;  // λ_1 + λ_2 = 0
  EXPECT_THROW(solve_continuous_lyapunov(a, Eigen::MatrixXd::Identity(2, 2)), InputError);
  EXPECT_THROW(solve_discrete_lyapunov(2 * Eigen::MatrixXd::Identity(2, 2), Eigen::MatrixXd::Identity(2, 2)), InputError);
  EXPECT_THROW(QuadraticQuasiPotential(-Eigen::MatrixXd::Identity(2, 2), Eigen::MatrixXd::Identity(2, 2)), InputError);
}

}  // namespace
}  // namespace descent::dynamics
