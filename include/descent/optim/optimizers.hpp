#pragma once
// The named optimizers: each is a chain of links from transform.hpp, and the common ones
// (sgd, adam, adamw, lion) carry a fused single-pass `step` with the same semantics and State.
// Hyper-parameters follow torch.optim's names and defaults so results can be compared;
// invalid values are refused here with InputError naming the parameter and the value.
#include <cstdint>
#include <vector>

#include "descent/optim/transform.hpp"

namespace descent::optim {

// SGD as torch.optim.SGD(lr, momentum, dampening=0, weight_decay, nesterov):
//   chain(add_decayed_weights(wd), trace(momentum, nesterov), scale_by_learning_rate(lr)),
// links with a zero coefficient omitted. Fused.
// dampening ≠ 0 (torch's, see trace()) is the unfused chain.
// torch's maximize = True for any of these optimizers is chain(negate(), optimizer).
GradientTransformation sgd(Schedule learning_rate, double momentum = 0.0, bool nesterov = false,
                           double weight_decay = 0.0, double dampening = 0.0);
// Suzuki's damped momentum Δw ← θΔw − (1−θ)η g (and its Nesterov form, returning the
// look-ahead iterate; see trace()): chain(scale_by_learning_rate(η), trace(θ, nesterov, true)).
// The rate acts inside the accumulation, as in the seed, so a schedule changes η of new
// gradients only.
GradientTransformation damped_momentum(Schedule learning_rate, double momentum, bool nesterov = false);
// Adam as torch.optim.Adam (weight_decay is coupled L2, added to the gradient):
//   chain(add_decayed_weights(wd), scale_by_adam(b1, b2, eps), scale_by_learning_rate(lr)). Fused.
// amsgrad = true is the unfused chain.
GradientTransformation adam(Schedule learning_rate, double b1 = 0.9, double b2 = 0.999,
                            double eps = 1e-8, double weight_decay = 0.0, bool amsgrad = false);
// AdamW as torch.optim.AdamW (decoupled: θ ← θ − η(adam direction + λθ)):
//   chain(scale_by_adam(b1, b2, eps), add_decayed_weights(wd), scale_by_learning_rate(lr)). Fused.
GradientTransformation adamw(Schedule learning_rate, double b1 = 0.9, double b2 = 0.999,
                             double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false);
// AdaGrad as torch.optim.Adagrad: chain(add_decayed_weights(wd), scale_by_rss(initial_accumulator,
// eps), scale_by_learning_rate(lr)); lr_decay > 0 makes the rate lr / (1 + lr_decay · t)
// (inverse_time_decay; the rate must then be a constant).
GradientTransformation adagrad(Schedule learning_rate, double eps = 1e-10, double initial_accumulator = 0.0,
                               double weight_decay = 0.0, double lr_decay = 0.0);
// RMSProp as torch.optim.RMSprop: chain(add_decayed_weights(wd), scale_by_rms(alpha, eps,
// centered), trace(momentum), scale_by_learning_rate(lr)).
GradientTransformation rmsprop(Schedule learning_rate, double alpha = 0.99, double eps = 1e-8,
                               double momentum = 0.0, bool centered = false, double weight_decay = 0.0);
// torch.optim.NAdam (torch ≥ 2.0's, = Dozat's), RAdam, Adamax, Adadelta with coupled L2:
// chain(add_decayed_weights(wd), scale_by_<name>(...), scale_by_learning_rate(lr)).
GradientTransformation nadam(Schedule learning_rate = 2e-3, double b1 = 0.9, double b2 = 0.999, double eps = 1e-8,
                             double weight_decay = 0.0, double momentum_decay = 4e-3);
GradientTransformation radam(Schedule learning_rate = 1e-3, double b1 = 0.9, double b2 = 0.999, double eps = 1e-8,
                             double weight_decay = 0.0);
GradientTransformation adamax(Schedule learning_rate = 2e-3, double b1 = 0.9, double b2 = 0.999, double eps = 1e-8,
                              double weight_decay = 0.0);
GradientTransformation adadelta(Schedule learning_rate = 1.0, double rho = 0.9, double eps = 1e-6,
                                double weight_decay = 0.0);
// torch.optim.ASGD: chain(add_decayed_weights(wd), add_decayed_weights(λ),
// scale_by_learning_rate(lr / (1 + λ lr t)^α), asgd_average(t0)); the averaged iterate is the
// state's "average" (torch's ax).
GradientTransformation asgd(double learning_rate = 1e-2, double lambd = 1e-4, double alpha = 0.75, double t0 = 1e6,
                            double weight_decay = 0.0);
// torch.optim.Rprop: chain(scale_by_rprop(lr, ...)).
GradientTransformation rprop(double learning_rate = 1e-2, double eta_minus = 0.5, double eta_plus = 1.2,
                             double min_step = 1e-6, double max_step = 50.0);
// Lion (Chen et al. 2023): chain(scale_by_lion(b1, b2), add_decayed_weights(wd), scale_by_learning_rate(lr)). Fused
// (one pass: sign of the interpolated momentum, update, momentum update).
GradientTransformation lion(Schedule learning_rate = 1e-4, double b1 = 0.9, double b2 = 0.99,
                            double weight_decay = 0.0);
// LAMB (You et al. 2020, Alg. 2): chain(scale_by_adam, add_decayed_weights(wd),
// scale_by_trust_ratio(blocks), scale_by_learning_rate(lr)).
GradientTransformation lamb(Schedule learning_rate = 1e-3, double b1 = 0.9, double b2 = 0.999, double eps = 1e-6,
                            double weight_decay = 0.0, std::vector<Block> blocks = {});
// LARS (You et al. 2017, Alg. 1): chain(add_decayed_weights(wd), scale_by_trust_ratio(blocks,
// trust_coefficient, eps), scale_by_learning_rate(lr), trace(momentum)) (optax's order).
GradientTransformation lars(Schedule learning_rate = 1.0, double momentum = 0.9, double weight_decay = 0.0,
                            double trust_coefficient = 1e-3, std::vector<Block> blocks = {}, double eps = 0.0);
// Adafactor (Shazeer & Stern 2018) without momentum, as optax.adafactor:
// chain(scale_by_factored_rms(blocks, decay_rate, 1e-30, clipping_threshold, min_dim_size_to_factor),
// scale_by_param_block_rms(blocks, min_scale) when min_scale > 0, scale_by_learning_rate(lr)).
// The paper's relative step is lr = min(1e-2, 1/√t).
GradientTransformation adafactor(Schedule learning_rate = 1e-2, std::vector<Block> blocks = {},
                                 double decay_rate = 0.8, double clipping_threshold = 1.0, double min_scale = 1e-3,
                                 int64_t min_dim_size_to_factor = 128);
// Polyak's step: chain(scale_by_polyak(max_rate, f_min), negate()) (needs the loss; StepContext).
GradientTransformation polyak_sgd(double max_rate = 1.0, double f_min = 0.0);
// Noisy SGD: chain(scale_by_learning_rate(lr), add_noise(stddev, seed)).
GradientTransformation noisy_sgd(Schedule learning_rate, Schedule stddev, uint64_t seed = 0);
// SGLD (Welling & Teh 2011): noisy_sgd(lr, √(2 lr / β), seed), θ ← θ − η∇f + √(2η/β) ξ.
GradientTransformation langevin(double learning_rate, double inverse_temperature = 1.0, uint64_t seed = 0);
// Full-matrix AdaGrad (Arora §2.5.4), small P only.
GradientTransformation full_matrix_adagrad(Schedule learning_rate, double eps = 1e-8);
// θ ← θ − η C g (Murphy eq. 6.48) with a fixed P×P preconditioner C.
GradientTransformation preconditioned_sgd(Schedule learning_rate, Tensor preconditioner);

}  // namespace descent::optim
