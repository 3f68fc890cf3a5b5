// Sharpness-aware minimization finds flatter minima (Foret et al., ICLR 2021, §1 and §4;
// the seeds tie sharpness to generalization, Arora ch. 2 and 12). SAM descends with the
// gradient taken at θ + ρ g/‖g‖ (optim::sam), i.e. it minimizes max_{‖ε‖≤ρ} f(θ + ε), which
// for small ρ is f + ρ‖∇f‖ and penalizes the directions of large curvature. Measured: SGD and
// SAM (the same SGD underneath, the same initialization and batch order) trained on a
// Fashion-MNIST subset until the full training loss first reaches the same target; then
// λ_max(∇²f) at each end point (Lanczos) and the test accuracies side by side. Claim: SAM's
// λ_max is lower, at every seed of the run.
#include <fmt/format.h>

#include <limits>

#include "descent/data/fashion_mnist.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/optim/minimize.hpp"
#include "descent/optim/optimizers.hpp"
#include "landscape_common.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(sam_flatter_minima, "Foret et al., ICLR 2021 (SAM); Arora ch. 2, 12", "§1, eq. (1)–(2) and §4",
                   "Trained to the same training loss as SGD, SAM ends at a flatter minimum: a lower λ_max of the "
                   "training-loss Hessian, with the test accuracies side by side") {
  const bool quick = ctx.quick;
  const int64_t n = quick ? 500 : 5000, n_test = quick ? 1000 : 10000;
  const int64_t hidden = quick ? 32 : 128, batch = quick ? 50 : 100;
  const double eta = 0.1, rho = 0.1;
  const double target = quick ? 0.05 : 0.02;  // the common training loss
  const int64_t max_epochs = quick ? 400 : 300;
  // Seeds of the run: quick, the run's seed; full, seeds 0–4.
  std::vector<uint64_t> seeds = quick ? std::vector<uint64_t>{ctx.seed} : std::vector<uint64_t>{0, 1, 2, 3, 4};

  // Fashion-MNIST: the first n training and n_test test images, both shifted by the training
  // subset's mean pixel.
  data::Dataset train = landscape::fashion_subset(n);
  data::Dataset test = data::load_fashion_mnist("test", {.flatten = true}).take(n_test);
  {
    data::Dataset raw = data::load_fashion_mnist("train", {.flatten = true}).take(n);
    double mean = 0;
    for (int64_t i = 0; i < raw.inputs.numel(); ++i) mean += raw.inputs.data<float>()[i];
    mean /= double(raw.inputs.numel());
    test.inputs = test.inputs.clone();
    test.targets = test.targets.clone();
    for (int64_t i = 0; i < test.inputs.numel(); ++i) test.inputs.data<float>()[i] -= float(mean);
  }

  Table& t = ctx.table("sam_flatter_minima", {"seed", "method", "epochs", "train_loss", "sharpness",
                                              "sharpness_relative_residual", "test_accuracy"});
  std::vector<bool> flatter;
  int done = 0;
  for (const uint64_t seed : seeds) {
    double sharp[2] = {0, 0};
    for (const int use_sam : {0, 1}) {
      ctx.progress(done++, int64_t(2 * seeds.size()), use_sam ? "sam" : "sgd");
      nn::Model model = nn::mlp(784, 10, {.hidden = {hidden}, .activation = nn::Activation::relu});
      model.initialize(seed);
      nn::ModelObjective f(model, nn::Loss::softmax_cross_entropy, train.inputs, train.targets, 1000);
      nn::ModelObjective f_test(model, nn::Loss::softmax_cross_entropy, test.inputs, test.targets, 1000);
      const auto opt = use_sam ? optim::chain(optim::sam(rho), optim::sgd(eta)) : optim::sgd(eta);
      const int64_t steps_per_epoch = (n + batch - 1) / batch;
      double reached = std::numeric_limits<double>::infinity();
      int64_t epochs = 0;
      // Stop at the first epoch end where the full training loss is at the target.
      const optim::Callback at_target = [&](const optim::StepRecord& r, const Tensor& theta) {
        if ((r.step + 1) % steps_per_epoch != 0) return false;
        ++epochs;
        reached = f.value(theta);
        return reached <= target;
      };
      const optim::Trace run =
          optim::minimize_stochastic(f, model.parameters(), opt, {.batch_size = batch, .seed = seed},
                                     {.max_steps = max_epochs * steps_per_epoch}, {at_target});
      const landscape::Sharpness s = landscape::sharpness(f, run.theta, {}, 1e-4, seed);
      const double accuracy = f_test.evaluate(run.theta).accuracy;
      sharp[use_sam] = s.value;
      t.add_row({int64_t(seed), use_sam ? "sam" : "sgd", epochs, reached, s.value, s.relative_residual, accuracy});
      ctx.check.at_most(fmt::format("seed{}_{}_train_loss_at_target", seed, use_sam ? "sam" : "sgd"), reached,
                        target);
    }
    flatter.push_back(sharp[1] < sharp[0]);
    ctx.measure(fmt::format("seed{}_sharpness_ratio_sam_over_sgd", seed), sharp[1] / sharp[0]);
  }
  ctx.check.frequency("sam_sharpness_below_sgd", flatter, 1.0);
  ctx.measure("examples", n);
  ctx.measure("test_examples", n_test);
  ctx.note(fmt::format(
      "Fashion-MNIST first {} training / {} test images (pixels shifted by the training mean), MLP 784-{}-10 relu, "
      "cross-entropy; mini-batches of {} in seeded epochs, η = {}; SAM: ρ = {} on the same SGD. Both stop at the first "
      "epoch end with full training loss ≤ {}. λ_max by Lanczos to 1e-4 relative residual.",
      n, n_test, hidden, batch, eta, rho, target));
}

}  // namespace descent::experiments
