#pragma once
// The pieces every link of transform.cpp and links.cpp is made of: the buffer of θ's size
// and dtype, the typed elementwise loop, and the handle factory.
#include <memory>
#include <utility>

#include "descent/core/dtype.hpp"
#include "descent/optim/transform.hpp"

namespace descent::optim::detail {

inline Tensor zeros_like(const Tensor& params) { return Tensor::zeros({params.numel()}, params.dtype()); }

// Elementwise links share this shape: one typed loop over u (and θ, and the state buffers).
// Derived::apply<T>(u, state, params, n) runs with state.step = updates applied before.
template <class Derived>
class Elementwise : public Transform {
 public:
  void update(Tensor& u, State& s, const Tensor& params) const override {
    dispatch_floating(u.dtype(), "gradient transformation", [&](auto zero) {
      using T = decltype(zero);
      static_cast<const Derived*>(this)->template apply<T>(u.data<T>(), s, params, u.numel());
    });
    ++s.step;
  }
};

template <class T, class... A>
GradientTransformation make(A&&... a) {
  return GradientTransformation(std::make_shared<const T>(std::forward<A>(a)...));
}

}  // namespace descent::optim::detail
