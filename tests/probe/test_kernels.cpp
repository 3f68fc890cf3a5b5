// Infinite-width NNGP/NTK: closed forms written out independently from the seeds' own
// statements (Arora §9.4 and eq. 9.8, Suzuki §2.4), quadrature against closed forms and
// against scipy, Monte Carlo agreement with wide random networks, stability claims.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <numbers>
#include <sstream>

#include "common/peer.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/probe/kernels.hpp"

using namespace descent;
using namespace descent::probe;

namespace {

constexpr double kPi = std::numbers::pi;

Tensor random_inputs(int64_t n, int64_t d, uint64_t seed) {
  Rng rng(seed);
  return rng.normal_tensor({n, d}, DType::f64);
}

double relative_error(double a, double b) { return std::abs(a - b) / std::max({std::abs(a), std::abs(b), 1e-300}); }

// |a − b| relative to |b|, or to `scale` (the geometric mean of the two diagonal entries)
// where the kernel value is near 0 (antipodal ReLU inputs give exactly 0).
double kernel_error(double a, double b, double scale) { return std::abs(a - b) / std::max(std::abs(b), scale); }

// Arora §9.4 recursion for ReLU, c_σ = 2, written from the spec's implementation note:
//   Σ^(0) = xᵀx', Σ^(h) = (1/π) sqrt(Σ_xx Σ_x'x') (sin φ + (π − φ) cos φ), Σ̇^(h) = (π − φ)/π,
//   Θ^(L) = Σ_{h=1}^{L+1} Σ^(h−1) Π_{h'=h}^{L+1} Σ̇^(h'), Σ̇^(L+1) = 1.
struct AroraRelu {
  double nngp, ntk;
};
AroraRelu arora_relu(const double* x, const double* y, int64_t d, int L) {
  double sxy = 0, sxx = 0, syy = 0;
  for (int64_t k = 0; k < d; ++k) sxy += x[k] * y[k], sxx += x[k] * x[k], syy += y[k] * y[k];
  std::vector<double> sigma{sxy}, sigma_dot{0.0};  // sigma[h] = Σ^(h), sigma_dot[h] = Σ̇^(h)
  for (int h = 1; h <= L; ++h) {
    const double phi = std::acos(std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0));
    sigma_dot.push_back((kPi - phi) / kPi);
    sxy = std::sqrt(sxx * syy) * (std::sin(phi) + (kPi - phi) * std::cos(phi)) / kPi;
    sigma.push_back(sxy);  // for ReLU with c_σ = 2 the diagonal Σ_xx stays ‖x‖²
  }
  sigma_dot.push_back(1.0);
  double theta = 0;
  for (int h = 1; h <= L + 1; ++h) {
    double prod = sigma[h - 1];
    for (int hp = h; hp <= L + 1; ++hp) prod *= sigma_dot[hp];
    theta += prod;
  }
  return {sigma[L], theta};
}

}  // namespace

TEST(NormalQuadrature, IntegratesGaussianMomentsExactly) {
  for (int points : {1, 5, 20, 64, 150}) {
    const NormalQuadrature q = normal_quadrature(points);
    ASSERT_EQ(q.nodes.size(), size_t(points));
    // E[z^{2k}] = (2k − 1)!! for 2k < 2 * points; odd moments vanish.
    double double_factorial = 1.0;
    for (int k = 0; 2 * k < std::min(2 * points, 30); ++k) {
      if (k > 0) double_factorial *= (2 * k - 1);
      double even = 0, odd = 0;
      for (int i = 0; i < points; ++i) {
        even += q.weights[i] * std::pow(q.nodes[i], 2 * k);
        odd += q.weights[i] * std::pow(q.nodes[i], 2 * k + 1);
      }
      EXPECT_LT(relative_error(even, double_factorial), 1e-12) << "points " << points << " k " << k;
      if (2 * k + 1 < 2 * points) EXPECT_LT(std::abs(odd), 1e-12 * double_factorial) << points;
    }
  }
}

TEST(InfiniteWidthKernels, ReluMatchesAroraSection94AtEveryDepth) {
  const int64_t n = 7, d = 5;
  Tensor X = random_inputs(n, d, 3);
  // A pair at a small angle and an antipodal pair exercise both ends of arccos.
  for (int64_t k = 0; k < d; ++k) {
    X.set(1 * d + k, X.at(0 * d + k) * 2.5 + (k == 0 ? 1e-4 : 0.0));
    X.set(2 * d + k, -0.7 * X.at(0 * d + k));
  }
  const double* x = X.data<double>();
  for (int L : {1, 2, 3, 6}) {
    KernelSpec spec{.depth = L, .activation = Activation::relu, .weight_variance = 2.0, .bias_variance = 0.0};
    const NngpAndNtk k = nngp_and_ntk(spec, X);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const AroraRelu ref = arora_relu(x + i * d, x + j * d, d, L);
        const AroraRelu ii = arora_relu(x + i * d, x + i * d, d, L), jj = arora_relu(x + j * d, x + j * d, d, L);
        // Our first layer carries σ_w²/d = 2/d where Arora's carries 1; ReLU kernels are
        // positively homogeneous, so ours = (2/d) Arora. 1e-10: the pair at angle ~1e-5 turns
        // the two codes' different roundings of ρ into ~1e-12 per layer through arccos.
        EXPECT_LT(kernel_error(k.ntk.at(i * n + j) * d / 2.0, ref.ntk, std::sqrt(ii.ntk * jj.ntk)), 1e-10)
            << L << " " << i << "," << j;
        EXPECT_LT(kernel_error(k.nngp.at(i * n + j) * d / 2.0, ref.nngp, std::sqrt(ii.nngp * jj.nngp)), 1e-10)
            << L << " " << i << "," << j;
      }
  }
}

TEST(InfiniteWidthKernels, TwoLayerReluMatchesArora98AndSuzukiClosedForms) {
  // Depth 1 on unit-norm inputs: Θ = (σ_w⁴/d) [ (‖x‖‖x'‖/2π)(sin θ + (π − θ) cos θ)   (Suzuki §2.4, the
  // trained output layer) + xᵀx' (π − θ)/(2π) (Arora eq. 9.8, the trained first layer) ] + biases.
  const int64_t n = 6, d = 4;
  Tensor X = random_inputs(n, d, 11);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t k = 0; k < d; ++k) s += X.at(i * d + k) * X.at(i * d + k);
    for (int64_t k = 0; k < d; ++k) X.set(i * d + k, X.at(i * d + k) / std::sqrt(s));
  }
  const double sw2 = 1.7;
  KernelSpec spec{.depth = 1, .activation = Activation::relu, .weight_variance = sw2, .bias_variance = 0.0};
  const Tensor theta = ntk_kernel(spec, X);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double c = 0;
      for (int64_t k = 0; k < d; ++k) c += X.at(i * d + k) * X.at(j * d + k);
      const double angle = i == j ? 0.0 : std::acos(std::clamp(c, -1.0, 1.0));
      const double output_layer = (std::sin(angle) + (kPi - angle) * std::cos(angle)) / (2 * kPi);
      const double first_layer = c * (kPi - angle) / (2 * kPi);
      EXPECT_LT(kernel_error(theta.at(i * n + j), sw2 * sw2 / d * (output_layer + first_layer), sw2 * sw2 / d), 1e-12)
          << i << "," << j;
    }
}

TEST(InfiniteWidthKernels, ErfMatchesWilliamsClosedFormAndQuadrature) {
  // erf through quadrature of the 2-D Gaussian (a custom activation) against the closed
  // forms, layer by layer through depth 3 with biases.
  const Tensor X = random_inputs(6, 3, 5);
  KernelSpec closed{.depth = 3, .activation = Activation::erf, .weight_variance = 1.6, .bias_variance = 0.2};
  KernelSpec numeric = closed;
  numeric.activation = Activation::custom;
  numeric.custom_activation = [](double z) { return std::erf(z); };
  numeric.custom_derivative = [](double z) { return 2.0 / std::sqrt(kPi) * std::exp(-z * z); };
  // Default rule (Gauss–Hermite, 100 points), then the trapezoid rule.
  NngpAndNtk a = nngp_and_ntk(closed, X), b = nngp_and_ntk(numeric, X);
  EXPECT_LT(max_relative_difference(a.nngp, b.nngp), 1e-6);
  EXPECT_LT(max_relative_difference(a.ntk, b.ntk), 1e-6);
  numeric.quadrature_rule = NormalRule::trapezoid;
  b = nngp_and_ntk(numeric, X);
  EXPECT_LT(max_relative_difference(a.nngp, b.nngp), 1e-10);
  EXPECT_LT(max_relative_difference(a.ntk, b.ntk), 1e-10);
  // Williams' E[erf(u)erf(v)] at one covariance, written out: (2/π) asin(2c/sqrt((1+2a)(1+2b))).
  const GaussianExpectations e = gaussian_expectations(closed, 0.8, -0.3, 1.9);
  EXPECT_NEAR(e.activation, 2 / kPi * std::asin(-0.6 / std::sqrt(2.6 * 4.8)), 1e-15);
  EXPECT_NEAR(e.derivative, 4 / kPi / std::sqrt(2.6 * 4.8 - 4 * 0.09), 1e-15);
}

TEST(InfiniteWidthKernels, QuadratureConvergesToReluClosedForms) {
  // ReLU's kink slows Gauss–Hermite down; the error must still fall with the point count.
  KernelSpec closed{.depth = 1};
  KernelSpec numeric = closed;
  numeric.activation = Activation::custom;
  numeric.custom_activation = [](double z) { return std::max(z, 0.0); };
  numeric.custom_derivative = [](double z) { return z > 0 ? 1.0 : 0.0; };
  const GaussianExpectations exact = gaussian_expectations(closed, 1.3, 0.5, 0.9);
  for (NormalRule rule : {NormalRule::gauss_hermite, NormalRule::trapezoid}) {
    numeric.quadrature_rule = rule;
    std::vector<double> act_err, der_err;
    for (int points : {16, 256}) {
      numeric.quadrature_points = points;
      const GaussianExpectations q = gaussian_expectations(numeric, 1.3, 0.5, 0.9);
      act_err.push_back(relative_error(q.activation, exact.activation));
      der_err.push_back(relative_error(q.derivative, exact.derivative));
    }
    EXPECT_LT(act_err[1], act_err[0]);
    EXPECT_LT(der_err[1], der_err[0]);
    EXPECT_LT(act_err[1], 1e-3);  // the kink of φ
    EXPECT_LT(der_err[1], 2e-2);  // the jump of φ'
  }
}

TEST(InfiniteWidthKernels, TanhQuadratureAgreesWithScipy) {
  DESCENT_REQUIRE_PEER(python, "scipy");
  KernelSpec spec{.depth = 1, .activation = Activation::tanh, .quadrature_rule = NormalRule::trapezoid};
  const double cases[][3] = {{1.0, 0.4, 2.0}, {0.3, -0.29, 0.3}, {4.0, 3.9, 4.0}, {2.0, 0.0, 0.5}};
  std::ostringstream script;
  script << "import numpy as np\nfrom scipy import integrate\n"
            "for a,c,b in [";
  for (const auto& k : cases) script << "(" << k[0] << "," << k[1] << "," << k[2] << "),";
  script << "]:\n"
            "  S=np.array([[a,c],[c,b]]); P=np.linalg.inv(S); norm=1/(2*np.pi*np.sqrt(np.linalg.det(S)))\n"
            "  dens=lambda v,u: norm*np.exp(-0.5*(P[0,0]*u*u+2*P[0,1]*u*v+P[1,1]*v*v))\n"
            "  f=lambda v,u: np.tanh(u)*np.tanh(v)*dens(v,u)\n"
            "  g=lambda v,u: (1-np.tanh(u)**2)*(1-np.tanh(v)**2)*dens(v,u)\n"
            "  L=12*np.sqrt(max(a,b))\n"
            "  print(repr(integrate.dblquad(f,-L,L,-L,L,epsabs=1e-14,epsrel=1e-10)[0]),"
            " repr(integrate.dblquad(g,-L,L,-L,L,epsabs=1e-14,epsrel=1e-10)[0]))\n";
  const auto out = descent::testing::run_command(python + " -c '" + script.str() + "'");
  ASSERT_TRUE(out.has_value()) << script.str();
  std::istringstream in(*out);
  for (const auto& k : cases) {
    double act, der;
    in >> act >> der;
    const GaussianExpectations e = gaussian_expectations(spec, k[0], k[1], k[2]);
    EXPECT_LT(kernel_error(e.activation, act, 1e-6), 1e-8) << k[0] << " " << k[1] << " " << k[2];
    EXPECT_LT(kernel_error(e.derivative, der, 1e-6), 1e-8) << k[0] << " " << k[1] << " " << k[2];
  }
}

TEST(InfiniteWidthKernels, GramPathEqualsCrossPathAndIsSymmetric) {
  const Tensor X = random_inputs(33, 8, 2);
  const Tensor X_copy = X.clone();
  const Tensor X_small = X.rows(0, 12), X_small_copy = X_small.clone();
  for (Activation a : {Activation::relu, Activation::erf, Activation::tanh}) {
    KernelSpec spec{.depth = 3, .activation = a, .weight_variance = 1.4, .bias_variance = 0.1,
                    .quadrature_rule = NormalRule::trapezoid};
    const bool slow = a == Activation::tanh;  // 100² quadrature nodes per entry and layer
    const Tensor& A = slow ? X_small : X;
    const int64_t n = A.dim(0);
    const Tensor gram = ntk_kernel(spec, A), cross = ntk_kernel(spec, A, slow ? X_small_copy : X_copy);
    EXPECT_EQ(max_relative_difference(gram, transpose(gram)), 0.0) << activation_name(a);
    // Off the diagonal the two paths agree to rounding (tanh: to the quadrature's
    // asymmetry in u and v). On it, the cross path sees ρ = 1 − O(ulp) from the GEMM, and
    // arccos turns that into O(1e-8): the conditioning of arccos at 1, not an error.
    const double off_tol = a == Activation::tanh ? 1e-9 : 1e-12;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        EXPECT_LT(relative_error(gram.at(i * n + j), cross.at(i * n + j)), i == j ? 1e-7 : off_tol)
            << activation_name(a) << " " << i << "," << j;
    EXPECT_LT(max_relative_difference(nngp_kernel(spec, A), nngp_kernel(spec, A, slow ? X_small_copy : X_copy)), 1e-7);
    // float32 inputs are promoted: the same values give the same kernel.
    const Tensor X32 = X.astype(DType::f32);
    if (!slow)
      EXPECT_LT(max_relative_difference(ntk_kernel(spec, X32), ntk_kernel(spec, X32.astype(DType::f64))), 1e-15);
  }
  // Rectangular cross kernels agree with the Gram matrix's blocks.
  KernelSpec spec{.depth = 2};
  const Tensor gram = ntk_kernel(spec, X);
  const Tensor block = ntk_kernel(spec, X.rows(0, 5), X.rows(10, 33));
  EXPECT_LT(max_relative_difference(block, slice(slice(gram, 0, 0, 5), 1, 10, 33)), 1e-12);
}

TEST(InfiniteWidthKernels, StableAtLargeDepthAndVariance) {
  Tensor X = random_inputs(8, 6, 9);
  for (int64_t k = 0; k < 6; ++k) X.set(1 * 6 + k, X.at(0 * 6 + k) * (1 + 1e-12));  // nearly parallel
  for (int64_t k = 0; k < 6; ++k) X.set(2 * 6 + k, 0.0);                           // zero input
  // ReLU, σ_w² = 2, σ_b² = 0: K^l(x, x) = 2‖x‖²/d at every layer and Θ(x, x) = (L + 1) K^1(x, x).
  const int L = 200;
  const Tensor theta = ntk_kernel(KernelSpec{.depth = L}, X);
  ASSERT_TRUE(all_finite(theta));
  for (int64_t i = 0; i < 8; ++i) {
    double sq = 0;
    for (int64_t k = 0; k < 6; ++k) sq += X.at(i * 6 + k) * X.at(i * 6 + k);
    EXPECT_NEAR(theta.at(i * 8 + i), (L + 1) * 2 * sq / 6, 1e-11 * (L + 1) * 2 * sq / 6) << i;
    EXPECT_EQ(theta.at(2 * 8 + i), 0.0);  // the zero input's row
  }
  // Large variances: finite values obey Cauchy–Schwarz, overflow is inf, never NaN.
  for (Activation a : {Activation::relu, Activation::erf, Activation::tanh}) {
    for (double sw2 : {10.0, 400.0}) {
      KernelSpec spec{.depth = 150, .activation = a, .weight_variance = sw2, .bias_variance = 3.0,
                      .quadrature_points = 16};
      const NngpAndNtk k = nngp_and_ntk(spec, X);
      for (const Tensor* t : {&k.nngp, &k.ntk})
        for (int64_t i = 0; i < 8; ++i)
          for (int64_t j = 0; j < 8; ++j) {
            const double v = t->at(i * 8 + j);
            ASSERT_FALSE(std::isnan(v)) << activation_name(a) << " σ_w² " << sw2;
            const double bound = std::sqrt(t->at(i * 8 + i)) * std::sqrt(t->at(j * 8 + j));
            if (std::isfinite(bound)) EXPECT_LE(std::abs(v), bound * (1 + 1e-9)) << activation_name(a);
          }
      if (a != Activation::relu) EXPECT_TRUE(all_finite(k.ntk)) << activation_name(a) << " " << sw2;
    }
  }
}

TEST(InfiniteWidthKernels, RejectsBadInputsWithAdvice) {
  const Tensor X = random_inputs(3, 2, 1);
  KernelSpec custom{.depth = 1, .activation = Activation::custom};
  custom.custom_activation = [](double z) { return std::sin(z); };
  EXPECT_NO_THROW(nngp_kernel(custom, X));
  try {
    ntk_kernel(custom, X);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("custom_derivative"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ntk_kernel(KernelSpec{}, X, random_inputs(3, 4, 1)), ShapeError);
  EXPECT_THROW(ntk_kernel(KernelSpec{.depth = -1}, X), InputError);
  EXPECT_THROW(ntk_kernel(KernelSpec{.weight_variance = -1.0}, X), InputError);
}

// ---- finite-width networks ----

TEST(RandomNetwork, EmpiricalNtkEqualsJacobianGramByFiniteDifferences) {
  for (Activation a : {Activation::erf, Activation::tanh}) {
    KernelSpec spec{.depth = 2, .activation = a, .weight_variance = 1.5, .bias_variance = 0.3};
    Rng rng(4);
    RandomNetwork net(spec, 3, 5, rng);
    const Tensor X = random_inputs(4, 3, 8);
    const Tensor ntk = net.empirical_kernels(X).ntk;
    // J by central differences over every parameter; J Jᵀ.
    std::vector<std::vector<double>> J(4);
    const double h = 1e-6;
    for (auto* group : {&net.weights(), &net.biases()})
      for (Tensor& p : *group)
        for (int64_t e = 0; e < p.numel(); ++e) {
          const double v = p.at(e);
          p.set(e, v + h);
          const Tensor up = net.outputs(X);
          p.set(e, v - h);
          const Tensor down = net.outputs(X);
          p.set(e, v);
          for (int i = 0; i < 4; ++i) J[i].push_back((up.at(i) - down.at(i)) / (2 * h));
        }
    ASSERT_EQ(int64_t(J[0].size()), net.parameter_count());
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        double jj = 0;
        for (size_t p = 0; p < J[i].size(); ++p) jj += J[i][p] * J[j][p];
        EXPECT_NEAR(ntk.at(i * 4 + j), jj, 1e-6 * std::max(1.0, std::abs(jj))) << activation_name(a);
      }
  }
}

namespace {
struct MonteCarlo {
  std::vector<double> mean_nngp, se_nngp, mean_ntk, se_ntk;
};
MonteCarlo monte_carlo(const KernelSpec& spec, const Tensor& X, int64_t width, int networks) {
  const int64_t n = X.dim(0);
  std::vector<double> s1(n * n), s2(n * n), t1(n * n), t2(n * n);
  for (int s = 0; s < networks; ++s) {
    Rng rng(1000 + s);
    const NngpAndNtk k = RandomNetwork(spec, X.dim(1), width, rng).empirical_kernels(X);
    for (int64_t e = 0; e < n * n; ++e) {
      s1[e] += k.nngp.at(e), s2[e] += k.nngp.at(e) * k.nngp.at(e);
      t1[e] += k.ntk.at(e), t2[e] += k.ntk.at(e) * k.ntk.at(e);
    }
  }
  MonteCarlo mc;
  for (int64_t e = 0; e < n * n; ++e) {
    const double m = s1[e] / networks, mt = t1[e] / networks;
    mc.mean_nngp.push_back(m);
    mc.se_nngp.push_back(std::sqrt(std::max(0.0, (s2[e] - networks * m * m) / (networks - 1) / networks)));
    mc.mean_ntk.push_back(mt);
    mc.se_ntk.push_back(std::sqrt(std::max(0.0, (t2[e] - networks * mt * mt) / (networks - 1) / networks)));
  }
  return mc;
}
}  // namespace

TEST(RandomNetwork, WideNetworksAgreeWithInfiniteWidthKernelsWithinSamplingError) {
  // Width 2048, 16 networks per kernel: the finite-width bias O(1/width) is a small fraction
  // of the standard error O(1/sqrt(width * networks)).
  const Tensor X = random_inputs(5, 4, 21);
  const int64_t n = 5;
  for (Activation a : {Activation::relu, Activation::erf}) {
    KernelSpec spec{.depth = 2, .activation = a, .weight_variance = a == Activation::relu ? 2.0 : 1.5,
                    .bias_variance = 0.1};
    const NngpAndNtk exact = nngp_and_ntk(spec, X);
    const MonteCarlo mc = monte_carlo(spec, X, 2048, 16);
    // Power: a subtly wrong limit (the bias variance forgotten) must be rejected.
    KernelSpec wrong_spec = spec;
    wrong_spec.bias_variance = 0.0;
    const Tensor wrong = ntk_kernel(wrong_spec, X);
    double max_z_nngp = 0, max_z_ntk = 0, max_z_wrong = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i; j < n; ++j) {
        const int64_t e = i * n + j;
        max_z_nngp = std::max(max_z_nngp, std::abs(mc.mean_nngp[e] - exact.nngp.at(e)) / mc.se_nngp[e]);
        max_z_ntk = std::max(max_z_ntk, std::abs(mc.mean_ntk[e] - exact.ntk.at(e)) / mc.se_ntk[e]);
        max_z_wrong = std::max(max_z_wrong, std::abs(mc.mean_ntk[e] - wrong.at(e)) / mc.se_ntk[e]);
      }
    // 15 entries per kernel, t with 15 degrees of freedom: P(max |t| > 5) < 0.5%.
    EXPECT_LT(max_z_nngp, 5.0) << activation_name(a);
    EXPECT_LT(max_z_ntk, 5.0) << activation_name(a);
    EXPECT_GT(max_z_wrong, 10.0) << activation_name(a);
    std::printf("[ MC %s ] max |z| nngp %.2f, ntk %.2f; wrong kernel %.1f\n", activation_name(a), max_z_nngp,
                max_z_ntk, max_z_wrong);
  }
}
