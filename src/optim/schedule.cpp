#include "descent/optim/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "checks.hpp"

namespace descent::optim {

using detail::check_nonnegative;
using detail::check_positive;

Schedule::Schedule(double constant) : constant_(true) {
  check_nonnegative("learning-rate schedule", "rate", constant);
  rate_ = [constant](int64_t) { return constant; };
  description_ = fmt::format("constant({})", constant);
}

Schedule::Schedule(std::function<double(int64_t)> rate, std::string description)
    : rate_(std::move(rate)), description_(std::move(description)) {
  DESCENT_CHECK(static_cast<bool>(rate_), InputError, "Schedule: empty rate function");
}

Schedule constant_schedule(double rate) { return Schedule(rate); }

Schedule step_decay(double initial, double gamma, int64_t step_size) {
  check_nonnegative("step_decay", "initial", initial);
  check_nonnegative("step_decay", "gamma", gamma);
  DESCENT_CHECK(step_size >= 1, InputError, "step_decay: step_size must be >= 1, got {}", step_size);
  return Schedule([=](int64_t t) { return initial * std::pow(gamma, static_cast<double>(t / step_size)); },
                  fmt::format("step_decay({}, gamma={}, step_size={})", initial, gamma, step_size));
}

Schedule exponential_decay(double initial, double decay_rate) {
  check_nonnegative("exponential_decay", "initial", initial);
  check_nonnegative("exponential_decay", "decay_rate", decay_rate);
  return Schedule([=](int64_t t) { return initial * std::exp(-decay_rate * static_cast<double>(t)); },
                  fmt::format("exponential_decay({}, rate={})", initial, decay_rate));
}

Schedule polynomial_decay(double initial, double alpha, double beta) {
  check_nonnegative("polynomial_decay", "initial", initial);
  check_nonnegative("polynomial_decay", "alpha", alpha);
  check_nonnegative("polynomial_decay", "beta", beta);
  return Schedule([=](int64_t t) { return initial * std::pow(beta * static_cast<double>(t) + 1.0, -alpha); },
                  fmt::format("polynomial_decay({}, alpha={}, beta={})", initial, alpha, beta));
}

Schedule cosine_decay(double initial, int64_t total_steps, double final_value) {
  check_nonnegative("cosine_decay", "initial", initial);
  check_nonnegative("cosine_decay", "final_value", final_value);
  DESCENT_CHECK(total_steps >= 1, InputError, "cosine_decay: total_steps must be >= 1, got {}", total_steps);
  return Schedule(
      [=](int64_t t) {
        if (t >= total_steps) return final_value;
        const double c = std::cos(std::numbers::pi * static_cast<double>(t) / static_cast<double>(total_steps));
        return final_value + (initial - final_value) * (1.0 + c) / 2.0;
      },
      fmt::format("cosine_decay({}, total_steps={}, final={})", initial, total_steps, final_value));
}

Schedule linear_warmup(Schedule after, int64_t warmup_steps, double start_value) {
  DESCENT_CHECK(warmup_steps >= 0, InputError, "linear_warmup: warmup_steps must be >= 0, got {}",
                warmup_steps);
  check_nonnegative("linear_warmup", "start_value", start_value);
  std::string d = fmt::format("linear_warmup({} steps from {}, then {})", warmup_steps, start_value,
                              after.description());
  return Schedule(
      [after = std::move(after), warmup_steps, start_value](int64_t t) {
        if (t >= warmup_steps) return after(t - warmup_steps);
        const double peak = after(0);
        return start_value + (peak - start_value) * static_cast<double>(t) / static_cast<double>(warmup_steps);
      },
      std::move(d));
}

Schedule inverse_time_decay(double initial, double decay) {
  check_nonnegative("inverse_time_decay", "initial", initial);
  check_nonnegative("inverse_time_decay", "decay", decay);
  // torch Adagrad: clr = lr / (1 + (step − 1)·lr_decay) with step = t + 1.
  return Schedule([=](int64_t t) { return initial / (1.0 + static_cast<double>(t) * decay); },
                  fmt::format("inverse_time_decay({}, decay={})", initial, decay));
}

Schedule piecewise_constant(double initial, std::vector<std::pair<int64_t, double>> boundaries_and_scales) {
  check_nonnegative("piecewise_constant", "initial", initial);
  for (size_t i = 0; i < boundaries_and_scales.size(); ++i) {
    check_nonnegative("piecewise_constant", "scale", boundaries_and_scales[i].second);
    DESCENT_CHECK(i == 0 || boundaries_and_scales[i - 1].first < boundaries_and_scales[i].first, InputError,
                  "piecewise_constant: boundaries must increase, got {} then {}", boundaries_and_scales[i - 1].first,
                  boundaries_and_scales[i].first);
  }
  std::string d = fmt::format("piecewise_constant({}", initial);
  for (const auto& [b, sc] : boundaries_and_scales) d += fmt::format(", ×{} at {}", sc, b);
  return Schedule(
      [=](int64_t t) {
        double rate = initial;  // multiplied in order, as torch's MultiStepLR does
        for (const auto& [b, sc] : boundaries_and_scales)
          if (t >= b) rate *= sc;
        return rate;
      },
      d + ")");
}

Schedule one_cycle(double max_rate, int64_t total_steps, double pct_start, double div_factor,
                   double final_div_factor) {
  check_positive("one_cycle", "max_rate", max_rate);
  DESCENT_CHECK(total_steps >= 2, InputError, "one_cycle: total_steps must be >= 2, got {}", total_steps);
  DESCENT_CHECK(pct_start > 0 && pct_start < 1, InputError, "one_cycle: pct_start must lie in (0, 1), got {}",
                pct_start);
  check_positive("one_cycle", "div_factor", div_factor);
  check_positive("one_cycle", "final_div_factor", final_div_factor);
  const double initial = max_rate / div_factor, lowest = initial / final_div_factor;
  const double up_end = pct_start * static_cast<double>(total_steps) - 1.0;
  const double down_end = static_cast<double>(total_steps - 1);
  auto anneal = [](double start, double end, double pct) {
    return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1.0);
  };
  return Schedule(
      [=](int64_t step) {
        const double t = static_cast<double>(std::min(step, total_steps - 1));
        if (t <= up_end) return anneal(initial, max_rate, t / up_end);
        return anneal(max_rate, lowest, (t - up_end) / (down_end - up_end));
      },
      fmt::format("one_cycle(max={}, total_steps={}, pct_start={})", max_rate, total_steps, pct_start));
}

Schedule cyclic(double base, double max_rate, int64_t step_size_up, int64_t step_size_down, const std::string& mode,
                double gamma) {
  check_nonnegative("cyclic", "base", base);
  check_nonnegative("cyclic", "max_rate", max_rate);
  DESCENT_CHECK(step_size_up >= 1 && step_size_down >= -1, InputError,
                "cyclic: step_size_up must be >= 1 and step_size_down >= 0 (or −1), got {} and {}", step_size_up,
                step_size_down);
  DESCENT_CHECK(mode == "triangular" || mode == "triangular2" || mode == "exp_range", InputError,
                "cyclic: mode '{}' is not one of triangular, triangular2, exp_range", mode);
  check_positive("cyclic", "gamma", gamma);
  const double up = static_cast<double>(step_size_up);
  const double total = up + static_cast<double>(step_size_down >= 0 ? step_size_down : step_size_up);
  const double ratio = up / total;
  const int kind = mode == "triangular" ? 0 : mode == "triangular2" ? 1 : 2;
  return Schedule(
      [=](int64_t step) {
        // torch CyclicLR.get_lr, operation for operation.
        const double t = static_cast<double>(step);
        const double cycle = std::floor(1.0 + t / total);
        const double x = 1.0 + t / total - cycle;
        const double factor = x <= ratio ? x / ratio : (x - 1.0) / (ratio - 1.0);
        const double height = (max_rate - base) * factor;
        const double scale = kind == 0 ? 1.0 : kind == 1 ? 1.0 / std::pow(2.0, cycle - 1.0) : std::pow(gamma, t);
        return base + height * scale;
      },
      fmt::format("cyclic({}..{}, up={}, {})", base, max_rate, step_size_up, mode));
}

Schedule weight_decay_equivalent_exponential(double rate, double weight_decay) {
  check_positive("weight_decay_equivalent_exponential", "rate", rate);
  check_nonnegative("weight_decay_equivalent_exponential", "weight_decay", weight_decay);
  const double shrink = 1.0 - rate * weight_decay;
  DESCENT_CHECK(shrink > 0.0, InputError,
                "weight_decay_equivalent_exponential: rate * weight_decay must be < 1, got {}",
                rate * weight_decay);
  // Arora Thm 13.3.1 with the factor η the seed drops (spec ⚠): η_t = η (1−ηλ)^{−(2t+1)}.
  return Schedule([=](int64_t t) { return rate * std::pow(shrink, -(2.0 * static_cast<double>(t) + 1.0)); },
                  fmt::format("weight_decay_equivalent_exponential({}, weight_decay={})", rate, weight_decay));
}

}  // namespace descent::optim
