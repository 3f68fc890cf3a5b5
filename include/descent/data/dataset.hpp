#pragma once
// Datasets, splits, normalization, and mini-batches whose order is a pure function of
// (seed, epoch) so that a trainer resumed from a checkpoint sees exactly the batches it
// would have seen without the crash.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "descent/core/tensor.hpp"
#include "descent/data/readers.hpp"

namespace descent::data {

struct Dataset {
  Tensor inputs;            // [n, ...] float32 or float64
  Tensor targets;           // [n] int64 labels in [0, num_classes), or [n, k] float targets
  int64_t num_classes = 0;  // 0 for regression

  int64_t size() const { return inputs.defined() ? inputs.dim(0) : 0; }
  bool is_classification() const { return num_classes > 0; }
  // Shape of one example (inputs' shape without the leading n).
  Shape example_shape() const;

  // Rows [start, stop): views, no copy.
  Dataset slice(int64_t start, int64_t stop) const;
  // The first n examples (views).
  Dataset take(int64_t n) const { return slice(0, n); }
  // The examples at `indices`, in that order (a copy).
  Dataset select(std::span<const int64_t> indices) const;
};

// Checks what every consumer relies on: float inputs of rank >= 1, as many targets as
// inputs, int64 labels within [0, num_classes) for classification, float targets of rank
// 1 or 2 otherwise. `source` names the data in the message (a file, a generator).
void validate_dataset(const Dataset& data, const std::string& source);

// Classification or regression data from a CSV table: column `target_column` (negative
// counts from the end) becomes the target, the others the inputs. With num_classes > 0 the
// target column must hold integers in [0, num_classes); with 0 it is a regression target.
Dataset dataset_from_csv(const CsvTable& table, const std::string& source, int64_t target_column,
                         int64_t num_classes, DType dtype = DType::f32);

// ---- splits ----
struct DatasetPair {
  Dataset first, second;
};
// A random partition (seeded) into `first_size` examples and the rest.
DatasetPair random_split(const Dataset& data, int64_t first_size, uint64_t seed);

struct TrainValidationTest {
  Dataset train, validation, test;
};
// Random partition by fractions; the validation and test sizes round down.
TrainValidationTest train_validation_test_split(const Dataset& data, double validation_fraction,
                                                double test_fraction, uint64_t seed);

// ---- normalization ----
enum class Normalization {
  per_feature,  // a mean and a standard deviation per input coordinate
  global,       // one mean and one standard deviation over all coordinates
};

// Standardizes inputs with statistics fitted on the training set only and then applied
// unchanged to validation and test data (fitting on them would leak test information).
struct Standardizer {
  Tensor mean;    // example_shape() (per_feature) or a scalar (global), float64
  Tensor stddev;  // same shape; coordinates with stddev below min_stddev keep scale 1

  static Standardizer fit(const Tensor& inputs, Normalization mode, double min_stddev = 1e-8);
  // x <- (x - mean) / stddev, in place, for inputs of the fitted example shape.
  void apply(Tensor& inputs) const;
  void apply(Dataset& data) const { apply(data.inputs); }
};

// ---- mini-batches ----
struct BatchPosition {
  int64_t epoch = 0;
  int64_t step = 0;  // batch index within the epoch
  friend bool operator==(const BatchPosition&, const BatchPosition&) = default;
};

class BatchSampler {
 public:
  // drop_last: skip the final short batch of each epoch.
  BatchSampler(int64_t num_examples, int64_t batch_size, uint64_t seed, bool shuffle = true,
               bool drop_last = false);

  int64_t num_examples() const { return num_examples_; }
  int64_t batch_size() const { return batch_size_; }
  int64_t steps_per_epoch() const;
  // The order of the examples in epoch `epoch`: a pure function of (seed, epoch), so any
  // batch can be recomputed from its position alone (identity order when !shuffle).
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // Indices of batch `position`; the span stays valid until a call for another epoch.
  std::span<const int64_t> batch(BatchPosition position);
  // The position after `position` (wrapping to step 0 of the next epoch).
  BatchPosition next(BatchPosition position) const;

 private:
  int64_t num_examples_, batch_size_;
  uint64_t seed_;
  bool shuffle_, drop_last_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> order_;
};

// Gathers the examples of a batch into buffers allocated once and reused every step.
class BatchBuffer {
 public:
  void gather(const Dataset& data, std::span<const int64_t> indices);
  // [b, ...] views of the buffers, valid until the next gather.
  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor input_storage_, target_storage_;  // capacity: the largest batch so far
  Tensor inputs_, targets_;
};


}  // namespace descent::data
