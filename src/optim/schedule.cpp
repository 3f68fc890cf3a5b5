#include "descent/optim/schedule.hpp"

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
