#include "descent/optim/lbfgs_torch.hpp"

#include <algorithm>
#include <cmath>

#include "checks.hpp"
#include "descent/core/error.hpp"

namespace descent::optim {
namespace {

// Python's max/min (return the first argument unless the second compares greater/less), so
// the clamping of a NaN interpolant behaves as in torch.
double py_max(double a, double b) { return b > a ? b : a; }
double py_min(double a, double b) { return b < a ? b : a; }

// torch.optim.lbfgs._cubic_interpolate: minimizer of the cubic through (x1, f1, g1) and
// (x2, f2, g2) (N&W eq. 3.59), clamped to the bounds; their midpoint when the cubic has no
// real minimizer.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2, double lo, double hi) {
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (d2_square >= 0) {
    const double d2 = std::sqrt(d2_square);
    const double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                                    : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return py_min(py_max(min_pos, lo), hi);
  }
  return (lo + hi) / 2.;
}

struct SearchResult {
  double f = 0.0;
  Eigen::VectorXd g;
  double t = 0.0;
  int evaluations = 0;
};

// torch.optim.lbfgs._strong_wolfe (c1 = 1e-4, c2 = 0.9, tolerance_change = 1e-9, max_ls = 25),
// including its quirks (the "f_new ≥ f_prev" test only from the third trial on).
SearchResult strong_wolfe(const ValueAndGradient& func, const Eigen::VectorXd& x, double t, const Eigen::VectorXd& d,
                          double f, const Eigen::VectorXd& g, double gtd) {
  constexpr double c1 = 1e-4, c2 = 0.9, tolerance_change = 1e-9;
  constexpr int max_ls = 25;
  const double d_norm = d.cwiseAbs().maxCoeff();
  Eigen::VectorXd xt(x.size()), g_new(x.size());
  int evaluations = 0;
  auto evaluate = [&](double step) {
    xt = x + step * d;
    ++evaluations;
    return func(xt, g_new);
  };
  double f_new = evaluate(t);
  double gtd_new = g_new.dot(d);

  // Bracketing phase. `size` is 1 when the first phase already found a Wolfe point.
  double t_prev = 0, f_prev = f, gtd_prev = gtd;
  Eigen::VectorXd g_prev = g;
  double b[2] = {0, 0}, bf[2] = {0, 0}, bgtd[2] = {0, 0};
  Eigen::VectorXd bg[2];
  bool done = false;
  int ls_iter = 0;
  auto set_bracket = [&](double t0, double f0, const Eigen::VectorXd& g0, double gtd0) {
    b[0] = t0, bf[0] = f0, bg[0] = g0, bgtd[0] = gtd0;
    b[1] = t, bf[1] = f_new, bg[1] = g_new, bgtd[1] = gtd_new;
  };
  while (ls_iter < max_ls) {
    if (f_new > (f + c1 * t * gtd) || (ls_iter > 1 && f_new >= f_prev)) {
      set_bracket(t_prev, f_prev, g_prev, gtd_prev);
      break;
    }
    if (std::abs(gtd_new) <= -c2 * gtd) {
      b[0] = b[1] = t, bf[0] = bf[1] = f_new, bg[0] = bg[1] = g_new, bgtd[0] = bgtd[1] = gtd_new;
      done = true;
      break;
    }
    if (gtd_new >= 0) {
      set_bracket(t_prev, f_prev, g_prev, gtd_prev);
      break;
    }
    const double min_step = t + 0.01 * (t - t_prev);
    const double max_step = t * 10;
    const double tmp = t;
    t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, min_step, max_step);
    t_prev = tmp;
    f_prev = f_new;
    g_prev = g_new;
    gtd_prev = gtd_new;
    f_new = evaluate(t);
    gtd_new = g_new.dot(d);
    ++ls_iter;
  }
  if (ls_iter == max_ls) set_bracket(0, f, g, gtd);

  // Zoom phase.
  bool insuf_progress = false;
  int low = bf[0] <= bf[1] ? 0 : 1, high = 1 - low;
  while (!done && ls_iter < max_ls) {
    if (std::abs(b[1] - b[0]) * d_norm < tolerance_change) break;
    t = cubic_interpolate(b[0], bf[0], bgtd[0], b[1], bf[1], bgtd[1], std::min(b[0], b[1]), std::max(b[0], b[1]));
    // Keep t at least a tenth of the bracket away from its ends when progress stalls.
    const double bmax = std::max(b[0], b[1]), bmin = std::min(b[0], b[1]);
    const double eps = 0.1 * (bmax - bmin);
    if (std::min(bmax - t, t - bmin) < eps) {
      if (insuf_progress || t >= bmax || t <= bmin) {
        t = std::abs(t - bmax) < std::abs(t - bmin) ? bmax - eps : bmin + eps;
        insuf_progress = false;
      } else {
        insuf_progress = true;
      }
    } else {
      insuf_progress = false;
    }
    f_new = evaluate(t);
    gtd_new = g_new.dot(d);
    ++ls_iter;
    if (f_new > (f + c1 * t * gtd) || f_new >= bf[low]) {
      b[high] = t, bf[high] = f_new, bg[high] = g_new, bgtd[high] = gtd_new;
      low = bf[0] <= bf[1] ? 0 : 1;
      high = 1 - low;
    } else {
      if (std::abs(gtd_new) <= -c2 * gtd) {
        done = true;
      } else if (gtd_new * (b[high] - b[low]) >= 0) {
        b[high] = b[low], bf[high] = bf[low], bg[high] = bg[low], bgtd[high] = bgtd[low];
      }
      b[low] = t, bf[low] = f_new, bg[low] = g_new, bgtd[low] = gtd_new;
    }
  }
  return {bf[low], bg[low], b[low], evaluations};
}

}  // namespace

TorchLbfgs::TorchLbfgs(const TorchLbfgsOptions& o) : opt_(o) {
  detail::check_positive("TorchLbfgs", "lr", o.lr);
  detail::check_nonnegative("TorchLbfgs", "tolerance_grad", o.tolerance_grad);
  detail::check_nonnegative("TorchLbfgs", "tolerance_change", o.tolerance_change);
  DESCENT_CHECK(o.max_iter >= 1, InputError, "TorchLbfgs: max_iter must be >= 1, got {}", o.max_iter);
  DESCENT_CHECK(o.history_size >= 1, InputError, "TorchLbfgs: history_size must be >= 1, got {}", o.history_size);
  DESCENT_CHECK(o.max_eval == -1 || o.max_eval >= 1, InputError,
                "TorchLbfgs: max_eval must be >= 1 (or -1 for max_iter*5/4), got {}", o.max_eval);
  if (opt_.max_eval == -1) opt_.max_eval = opt_.max_iter * 5 / 4;
}

double TorchLbfgs::step(const ValueAndGradient& f, Eigen::VectorXd& x) {
  DESCENT_CHECK(n_iter_ == 0 || x.size() == d_.size(), ShapeError,
                "TorchLbfgs::step: x has {} elements, earlier steps had {}", x.size(), d_.size());
  const Eigen::Index n = x.size();
  Eigen::VectorXd flat_grad = Eigen::VectorXd::Zero(n);
  double loss = f(x, flat_grad);
  const double orig_loss = loss;
  int current_evals = 1;
  ++func_evals_;
  bool opt_cond = flat_grad.cwiseAbs().maxCoeff() <= opt_.tolerance_grad;
  if (opt_cond) return orig_loss;

  std::vector<double> al(old_dirs_.size() + 1);
  for (int n_iter = 1; n_iter <= opt_.max_iter; ++n_iter) {
    ++n_iter_;
    // Direction d = −H g by the two-loop recursion (N&W Algorithm 7.4), after storing the
    // newest pair when its curvature yᵀs exceeds 1e-10.
    if (n_iter_ == 1) {
      d_ = -flat_grad;
      old_dirs_.clear();
      old_stps_.clear();
      ro_.clear();
      h_diag_ = 1;
    } else {
      Eigen::VectorXd y = flat_grad - prev_flat_grad_;
      Eigen::VectorXd s = d_ * t_;
      const double ys = y.dot(s);
      if (ys > 1e-10) {
        if (static_cast<int>(old_dirs_.size()) == opt_.history_size) {
          old_dirs_.erase(old_dirs_.begin());
          old_stps_.erase(old_stps_.begin());
          ro_.erase(ro_.begin());
        }
        h_diag_ = ys / y.dot(y);
        old_dirs_.push_back(std::move(y));
        old_stps_.push_back(std::move(s));
        ro_.push_back(1. / ys);
      }
      const int num_old = static_cast<int>(old_dirs_.size());
      al.resize(num_old);
      Eigen::VectorXd q = -flat_grad;
      for (int i = num_old - 1; i >= 0; --i) {
        al[i] = old_stps_[i].dot(q) * ro_[i];
        q -= al[i] * old_dirs_[i];
      }
      d_ = q * h_diag_;
      for (int i = 0; i < num_old; ++i) {
        const double be_i = old_dirs_[i].dot(d_) * ro_[i];
        d_ += (al[i] - be_i) * old_stps_[i];
      }
    }
    prev_flat_grad_ = flat_grad;
    prev_loss_ = loss;

    // Step length: torch's first-iteration scaling, then the fixed rate.
    t_ = n_iter_ == 1 ? std::min(1., 1. / flat_grad.cwiseAbs().sum()) * opt_.lr : opt_.lr;
    const double gtd = flat_grad.dot(d_);
    if (gtd > -opt_.tolerance_change) break;

    int ls_func_evals = 0;
    if (opt_.strong_wolfe) {
      SearchResult r = strong_wolfe(f, x, t_, d_, loss, flat_grad, gtd);
      loss = r.f;
      flat_grad = std::move(r.g);
      t_ = r.t;
      ls_func_evals = r.evaluations;
      x += t_ * d_;
      opt_cond = flat_grad.cwiseAbs().maxCoeff() <= opt_.tolerance_grad;
    } else {
      x += t_ * d_;
      if (n_iter != opt_.max_iter) {  // torch skips the evaluation after the last iteration
        loss = f(x, flat_grad);
        opt_cond = flat_grad.cwiseAbs().maxCoeff() <= opt_.tolerance_grad;
        ls_func_evals = 1;
      }
    }
    current_evals += ls_func_evals;
    func_evals_ += ls_func_evals;

    if (n_iter == opt_.max_iter) break;
    if (current_evals >= opt_.max_eval) break;
    if (opt_cond) break;
    if ((d_ * t_).cwiseAbs().maxCoeff() <= opt_.tolerance_change) break;
    if (std::abs(loss - prev_loss_) < opt_.tolerance_change) break;
  }
  return orig_loss;
}

}  // namespace descent::optim
