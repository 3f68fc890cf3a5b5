#include "descent/optim/lbfgs.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace descent::optim {
namespace {

// One point on the search line: phi(a) = f(x + a d), dphi(a) = grad f(x + a d) . d.
struct LinePoint {
  double a = 0.0;
  double phi = 0.0;
  double dphi = 0.0;
  bool finite = true;
};

// Minimizer of the cubic interpolating (a, phi, dphi) at both ends (N&W eq. 3.59),
// safeguarded to stay well inside the bracket; bisection when the cubic is unusable.
double interpolate(const LinePoint& lo, const LinePoint& hi) {
  const double left = std::min(lo.a, hi.a), right = std::max(lo.a, hi.a);
  const double width = right - left;
  double a = 0.5 * (lo.a + hi.a);
  if (lo.finite && hi.finite) {
    const double d1 = lo.dphi + hi.dphi - 3.0 * (lo.phi - hi.phi) / (lo.a - hi.a);
    const double disc = d1 * d1 - lo.dphi * hi.dphi;
    if (disc >= 0.0) {
      const double d2 = std::copysign(std::sqrt(disc), hi.a - lo.a);
      const double denom = hi.dphi - lo.dphi + 2.0 * d2;
      if (denom != 0.0) {
        const double c = hi.a - (hi.a - lo.a) * (hi.dphi + d2 - d1) / denom;
        if (std::isfinite(c)) a = c;
      }
    }
  }
  return std::clamp(a, left + 0.1 * width, right - 0.1 * width);
}

class LineSearch {
 public:
  LineSearch(const ValueAndGradient& f, const Eigen::VectorXd& x, const Eigen::VectorXd& d, double f0,
             double dphi0, const LbfgsOptions& opt, int& evaluations)
      : f_(f), x_(x), d_(d), phi0_(f0), dphi0_(dphi0), opt_(opt), evaluations_(evaluations),
        trial_x_(x.size()), trial_g_(x.size()) {}

  // Strong-Wolfe step (N&W Algorithm 3.5). On success x_new/g_new/f_new hold the point.
  bool search(double a1, Eigen::VectorXd& x_new, Eigen::VectorXd& g_new, double& f_new) {
    LinePoint prev{0.0, phi0_, dphi0_, true};
    double a = a1;
    for (int i = 0; i < opt_.max_line_search_steps; ++i) {
      LinePoint cur = evaluate(a);
      if (!cur.finite || cur.phi > phi0_ + opt_.wolfe_c1 * a * dphi0_ || (i > 0 && cur.phi >= prev.phi))
        return zoom(prev, cur, x_new, g_new, f_new);
      if (std::abs(cur.dphi) <= -opt_.wolfe_c2 * dphi0_) return accept(x_new, g_new, f_new);
      if (cur.dphi >= 0.0) return zoom(cur, prev, x_new, g_new, f_new);
      prev = cur;
      a *= 2.0;
      if (evaluations_ >= opt_.max_evaluations) break;
    }
    return fallback(x_new, g_new, f_new);
  }

 private:
  LinePoint evaluate(double a) {
    trial_x_.noalias() = x_ + a * d_;
    trial_g_.setZero();
    const double phi = f_(trial_x_, trial_g_);
    ++evaluations_;
    last_phi_ = phi;
    LinePoint p{a, phi, trial_g_.dot(d_), std::isfinite(phi) && trial_g_.allFinite()};
    if (p.finite && phi < phi0_ + opt_.wolfe_c1 * a * dphi0_ && (!have_best_ || phi < best_f_)) {
      have_best_ = true;  // the best point with sufficient decrease, kept for a failed search
      best_f_ = phi;
      best_x_ = trial_x_;
      best_g_ = trial_g_;
    }
    return p;
  }

  bool accept(Eigen::VectorXd& x_new, Eigen::VectorXd& g_new, double& f_new) {
    x_new = trial_x_;
    g_new = trial_g_;
    f_new = last_phi_;
    return true;
  }

  // N&W Algorithm 3.6: lo satisfies sufficient decrease and has the lowest phi so far;
  // the bracket [lo, hi] contains a strong-Wolfe step.
  bool zoom(LinePoint lo, LinePoint hi, Eigen::VectorXd& x_new, Eigen::VectorXd& g_new, double& f_new) {
    for (int j = 0; j < opt_.max_line_search_steps && evaluations_ < opt_.max_evaluations; ++j) {
      const double a = interpolate(lo, hi);
      if (std::abs(hi.a - lo.a) < 1e-16 * std::max(1.0, std::abs(lo.a))) break;
      LinePoint cur = evaluate(a);
      if (!cur.finite || cur.phi > phi0_ + opt_.wolfe_c1 * a * dphi0_ || cur.phi >= lo.phi) {
        hi = cur;
      } else {
        if (std::abs(cur.dphi) <= -opt_.wolfe_c2 * dphi0_) return accept(x_new, g_new, f_new);
        if (cur.dphi * (hi.a - lo.a) >= 0.0) hi = lo;
        lo = cur;
      }
    }
    return fallback(x_new, g_new, f_new);
  }

  // No Wolfe point: take the best sufficient-decrease point if there is one.
  bool fallback(Eigen::VectorXd& x_new, Eigen::VectorXd& g_new, double& f_new) {
    if (!have_best_) return false;
    x_new = best_x_;
    g_new = best_g_;
    f_new = best_f_;
    return true;
  }

  const ValueAndGradient& f_;
  const Eigen::VectorXd& x_;
  const Eigen::VectorXd& d_;
  double phi0_, dphi0_;
  const LbfgsOptions& opt_;
  int& evaluations_;
  Eigen::VectorXd trial_x_, trial_g_;
  double last_phi_ = 0.0;
  bool have_best_ = false;
  double best_f_ = 0.0;
  Eigen::VectorXd best_x_, best_g_;
};

}  // namespace

const char* to_string(LbfgsStatus status) {
  switch (status) {
    case LbfgsStatus::gradient_tolerance: return "gradient norm below tolerance";
    case LbfgsStatus::function_tolerance: return "relative decrease of f below tolerance";
    case LbfgsStatus::max_iterations: return "maximum number of iterations reached";
    case LbfgsStatus::max_evaluations: return "maximum number of evaluations reached";
    case LbfgsStatus::line_search_failed: return "line search found no step with sufficient decrease";
    case LbfgsStatus::non_finite_start: return "f or its gradient is not finite at the starting point";
  }
  return "unknown";
}

LbfgsResult lbfgs(const ValueAndGradient& f, const Eigen::VectorXd& x0, const LbfgsOptions& opt) {
  const Eigen::Index n = x0.size();
  const int m = std::max(1, opt.history);
  LbfgsResult r;
  r.x = x0;
  r.gradient = Eigen::VectorXd::Zero(n);
  r.f = f(r.x, r.gradient);
  r.evaluations = 1;
  auto finish = [&](LbfgsStatus s) {
    r.status = s;
    r.converged = s == LbfgsStatus::gradient_tolerance || s == LbfgsStatus::function_tolerance;
    r.reason = to_string(s);
    return r;
  };
  if (!std::isfinite(r.f) || !r.gradient.allFinite()) return finish(LbfgsStatus::non_finite_start);

  // Circular storage of the m most recent pairs s = x_{k+1} - x_k, y = g_{k+1} - g_k.
  Eigen::MatrixXd S(n, m), Y(n, m);
  std::vector<double> rho(m), alpha(m);
  int stored = 0, newest = -1;
  Eigen::VectorXd d(n), x_new(n), g_new(n);

  for (r.iterations = 0; r.iterations < opt.max_iterations;) {
    if (r.gradient.lpNorm<Eigen::Infinity>() <= opt.gradient_tolerance)
      return finish(LbfgsStatus::gradient_tolerance);
    if (r.evaluations >= opt.max_evaluations) return finish(LbfgsStatus::max_evaluations);

    // Two-loop recursion (N&W Algorithm 7.4): d = -H_k g with H_k^0 = (s'y / y'y) I.
    d = -r.gradient;
    for (int i = 0; i < stored; ++i) {
      const int k = (newest - i + m) % m;
      alpha[k] = rho[k] * S.col(k).dot(d);
      d.noalias() -= alpha[k] * Y.col(k);
    }
    if (stored > 0) d *= S.col(newest).dot(Y.col(newest)) / Y.col(newest).squaredNorm();
    for (int i = stored - 1; i >= 0; --i) {
      const int k = (newest - i + m) % m;
      const double beta = rho[k] * Y.col(k).dot(d);
      d.noalias() += (alpha[k] - beta) * S.col(k);
    }
    double dphi0 = r.gradient.dot(d);
    if (!(dphi0 < 0.0)) {  // not a descent direction (numerical trouble): restart from -g
      stored = 0;
      d = -r.gradient;
      dphi0 = -r.gradient.squaredNorm();
    }
    // First step of a fresh memory: unit length; afterwards the quasi-Newton step a = 1.
    const double a1 = stored == 0 ? std::min(1.0, 1.0 / d.norm()) : 1.0;
    double f_new = 0.0;
    LineSearch ls(f, r.x, d, r.f, dphi0, opt, r.evaluations);
    if (!ls.search(a1, x_new, g_new, f_new)) {
      if (stored > 0) {  // retry once along steepest descent with an empty memory
        stored = 0;
        continue;
      }
      return finish(r.evaluations >= opt.max_evaluations ? LbfgsStatus::max_evaluations
                                                         : LbfgsStatus::line_search_failed);
    }
    ++r.iterations;
    const int k = (newest + 1) % m;
    S.col(k) = x_new - r.x;
    Y.col(k) = g_new - r.gradient;
    const double sy = S.col(k).dot(Y.col(k));
    const double f_old = r.f;
    r.x.swap(x_new);
    r.gradient.swap(g_new);
    r.f = f_new;
    if (sy > 1e-12 * S.col(k).norm() * Y.col(k).norm()) {  // keep H positive definite
      rho[k] = 1.0 / sy;
      newest = k;
      stored = std::min(stored + 1, m);
    }
    if (opt.function_tolerance > 0.0 &&
        std::abs(f_old - r.f) <= opt.function_tolerance * std::max(1.0, std::abs(f_old)))
      return finish(r.gradient.lpNorm<Eigen::Infinity>() <= opt.gradient_tolerance
                        ? LbfgsStatus::gradient_tolerance
                        : LbfgsStatus::function_tolerance);
  }
  if (r.gradient.lpNorm<Eigen::Infinity>() <= opt.gradient_tolerance)
    return finish(LbfgsStatus::gradient_tolerance);
  return finish(LbfgsStatus::max_iterations);
}

}  // namespace descent::optim
