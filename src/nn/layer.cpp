#include "descent/nn/layer.hpp"

#include <cmath>

#include "descent/core/error.hpp"

namespace descent::nn {

void Init::apply(Tensor& t, int64_t fan_in, int64_t fan_out, Rng& rng) const {
  const double in = static_cast<double>(std::max<int64_t>(fan_in, 1));
  const double out = static_cast<double>(std::max<int64_t>(fan_out, 1));
  switch (kind) {
    case Kind::zeros: return t.fill(0.0);
    case Kind::ones: return t.fill(1.0);
    case Kind::constant: return t.fill(scale);
    case Kind::normal: return rng.fill_normal(t, 0.0, scale);
    case Kind::uniform: return rng.fill_uniform(t, -scale, scale);
    // He et al. 2015: Var[w] = 2/fan_in keeps ReLU activations' second moment constant.
    case Kind::he_normal: return rng.fill_normal(t, 0.0, scale * std::sqrt(2.0 / in));
    case Kind::he_uniform: {
      const double a = scale * std::sqrt(6.0 / in);
      return rng.fill_uniform(t, -a, a);
    }
    // Glorot & Bengio 2010: Var[w] = 2/(fan_in + fan_out).
    case Kind::xavier_normal: return rng.fill_normal(t, 0.0, scale * std::sqrt(2.0 / (in + out)));
    case Kind::xavier_uniform: {
      const double a = scale * std::sqrt(6.0 / (in + out));
      return rng.fill_uniform(t, -a, a);
    }
  }
}

Init parse_init(const std::string& text) {
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  double value = 1.0;
  if (colon != std::string::npos) {
    try {
      size_t used = 0;
      value = std::stod(text.substr(colon + 1), &used);
      if (used != text.size() - colon - 1) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      fail<InputError>("initialization '{}': '{}' is not a number", text, text.substr(colon + 1));
    }
  }
  if (kind == "zeros") return Init::zeros();
  if (kind == "ones") return Init::ones();
  if (kind == "constant") return Init::constant(value);
  if (kind == "normal") return Init::normal(value);
  if (kind == "uniform") return Init::uniform(value);
  if (kind == "he") return Init{Init::Kind::he_normal, value};
  if (kind == "he_uniform") return Init{Init::Kind::he_uniform, value};
  if (kind == "xavier") return Init{Init::Kind::xavier_normal, value};
  if (kind == "xavier_uniform") return Init{Init::Kind::xavier_uniform, value};
  fail<InputError>("unknown initialization '{}' (choose zeros, ones, constant:V, normal:STD, uniform:A, he, "
                   "he_uniform, xavier, xavier_uniform)",
                   text);
}

}  // namespace descent::nn
