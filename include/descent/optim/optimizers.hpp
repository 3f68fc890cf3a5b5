#pragma once
// The named optimizers: each is a chain of links from transform.hpp, and the common ones
// (sgd, adam, adamw) carry a fused single-pass `step` with the same semantics and State.
// Hyper-parameters follow torch.optim's names and defaults so results can be compared;
// invalid values are refused here with InputError naming the parameter and the value.
#include "descent/optim/transform.hpp"

namespace descent::optim {

// SGD as torch.optim.SGD(lr, momentum, dampening=0, weight_decay, nesterov):
//   chain(add_decayed_weights(wd), trace(momentum, nesterov), scale_by_learning_rate(lr)),
// links with a zero coefficient omitted. Fused.
GradientTransformation sgd(Schedule learning_rate, double momentum = 0.0, bool nesterov = false,
                           double weight_decay = 0.0);
// Suzuki's damped momentum Δw ← θΔw − (1−θ)η g (and its Nesterov form, returning the
// look-ahead iterate; see trace()): chain(scale_by_learning_rate(η), trace(θ, nesterov, true)).
// The rate acts inside the accumulation, as in the seed, so a schedule changes η of new
// gradients only.
GradientTransformation damped_momentum(Schedule learning_rate, double momentum, bool nesterov = false);
// Adam as torch.optim.Adam (weight_decay is coupled L2, added to the gradient):
//   chain(add_decayed_weights(wd), scale_by_adam(b1, b2, eps), scale_by_learning_rate(lr)). Fused.
GradientTransformation adam(Schedule learning_rate, double b1 = 0.9, double b2 = 0.999,
                            double eps = 1e-8, double weight_decay = 0.0);
// AdamW as torch.optim.AdamW (decoupled: θ ← θ − η(adam direction + λθ)):
//   chain(scale_by_adam(b1, b2, eps), add_decayed_weights(wd), scale_by_learning_rate(lr)). Fused.
GradientTransformation adamw(Schedule learning_rate, double b1 = 0.9, double b2 = 0.999,
                             double eps = 1e-8, double weight_decay = 1e-2);
// AdaGrad as torch.optim.Adagrad (lr_decay = 0): chain(add_decayed_weights(wd),
// scale_by_rss(initial_accumulator, eps), scale_by_learning_rate(lr)).
GradientTransformation adagrad(Schedule learning_rate, double eps = 1e-10, double initial_accumulator = 0.0,
                               double weight_decay = 0.0);
// RMSProp as torch.optim.RMSprop: chain(add_decayed_weights(wd), scale_by_rms(alpha, eps,
// centered), trace(momentum), scale_by_learning_rate(lr)).
GradientTransformation rmsprop(Schedule learning_rate, double alpha = 0.99, double eps = 1e-8,
                               double momentum = 0.0, bool centered = false, double weight_decay = 0.0);
// Full-matrix AdaGrad (Arora §2.5.4), small P only.
GradientTransformation full_matrix_adagrad(Schedule learning_rate, double eps = 1e-8);
// θ ← θ − η C g (Murphy eq. 6.48) with a fixed P×P preconditioner C.
GradientTransformation preconditioned_sgd(Schedule learning_rate, Tensor preconditioner);

}  // namespace descent::optim
