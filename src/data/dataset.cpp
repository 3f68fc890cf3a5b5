#include "descent/data/dataset.hpp"
#include "descent/core/ops.hpp"

#include <cmath>
#include <cstring>

#include "descent/core/rng.hpp"

namespace descent::data {
namespace {

Shape tail_shape(const Shape& s) {
  Shape out;
  for (int i = 1; i < s.rank(); ++i) out.push_back(s[i]);
  return out;
}

Shape with_rows(const Shape& s, int64_t rows) {
  Shape out{rows};
  for (int i = 1; i < s.rank(); ++i) out.push_back(s[i]);
  return out;
}

// Distinct from the streams a user would open with Rng(seed) for initialization, so that
// the shuffle order and the initial weights are not the same random numbers.
constexpr uint64_t kShuffleSalt = 0x5348554646'4c45ull;  // "SHUFFLE"
constexpr uint64_t kSplitSalt = 0x53504c4954ull;         // "SPLIT"

}  // namespace

Shape Dataset::example_shape() const { return tail_shape(inputs.shape()); }

Dataset Dataset::slice(int64_t start, int64_t stop) const {
  DESCENT_CHECK(0 <= start && start <= stop && stop <= size(), InputError,
                "Dataset::slice: [{}, {}) is not within the {} examples", start, stop, size());
  return {inputs.rows(start, stop), targets.rows(start, stop), num_classes};
}

Dataset Dataset::select(std::span<const int64_t> indices) const {
  const auto n = static_cast<int64_t>(indices.size());
  Dataset out{Tensor::empty(with_rows(inputs.shape(), n), inputs.dtype()),
              Tensor::empty(with_rows(targets.shape(), n), targets.dtype()), num_classes};
  gather_rows(inputs, indices, out.inputs);
  gather_rows(targets, indices, out.targets);
  return out;
}

void validate_dataset(const Dataset& data, const std::string& source) {
  DESCENT_CHECK(data.inputs.defined() && data.targets.defined(), InputError,
                "{}: dataset has no inputs or no targets", source);
  DESCENT_CHECK(is_floating(data.inputs.dtype()) && data.inputs.rank() >= 1, InputError,
                "{}: inputs must be a float tensor [n, ...], got {} {}", source,
                dtype_name(data.inputs.dtype()), data.inputs.shape());
  DESCENT_CHECK(data.targets.rank() >= 1 && data.targets.dim(0) == data.inputs.dim(0), InputError,
                "{}: {} inputs but {} targets (shape {}); the label count must match the "
                "example count",
                source, data.inputs.dim(0), data.targets.rank() ? data.targets.dim(0) : 0,
                data.targets.shape());
  if (data.num_classes > 0) {
    DESCENT_CHECK(data.targets.dtype() == DType::i64 && data.targets.rank() == 1, InputError,
                  "{}: class labels must be an int64 tensor [n], got {} {}", source,
                  dtype_name(data.targets.dtype()), data.targets.shape());
    const int64_t* y = data.targets.data<int64_t>();
    for (int64_t i = 0; i < data.targets.numel(); ++i)
      DESCENT_CHECK(0 <= y[i] && y[i] < data.num_classes, InputError,
                    "{}: label {} of example {} is outside [0, {}); check num_classes", source,
                    y[i], i, data.num_classes);
  } else {
    DESCENT_CHECK(data.num_classes == 0, InputError, "{}: num_classes {} is negative", source,
                  data.num_classes);
    DESCENT_CHECK(is_floating(data.targets.dtype()) && data.targets.rank() <= 2, InputError,
                  "{}: regression targets must be a float tensor [n] or [n, k], got {} {}",
                  source, dtype_name(data.targets.dtype()), data.targets.shape());
  }
}

Dataset dataset_from_csv(const CsvTable& table, const std::string& source, int64_t target_column,
                         int64_t num_classes, DType dtype) {
  const int64_t rows = table.values.dim(0), cols = table.values.dim(1);
  const int64_t t = target_column < 0 ? target_column + cols : target_column;
  DESCENT_CHECK(0 <= t && t < cols && cols >= 2, InputError,
                "CSV file '{}': target column {} does not exist among {} columns (and at least "
                "one input column is needed)",
                source, target_column, cols);
  Dataset d{Tensor::empty({rows, cols - 1}, dtype), Tensor(), num_classes};
  d.targets = num_classes > 0 ? Tensor::empty({rows}, DType::i64) : Tensor::empty({rows}, dtype);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0, k = 0; c < cols; ++c) {
      const double v = table.values.at(r * cols + c);
      if (c != t) {
        d.inputs.set(r * (cols - 1) + k++, v);
        continue;
      }
      if (num_classes > 0) {
        DESCENT_CHECK(v == std::floor(v) && v >= 0 && v < static_cast<double>(num_classes),
                      InputError,
                      "CSV file '{}', line {}, column {}: label {} is not an integer in [0, {}); "
                      "check the target column and num_classes",
                      source, table.first_data_line + r, t + 1, v, num_classes);
      }
      d.targets.set(r, v);
    }
  }
  return d;
}

DatasetPair random_split(const Dataset& data, int64_t first_size, uint64_t seed) {
  DESCENT_CHECK(0 <= first_size && first_size <= data.size(), InputError,
                "random_split: first part of {} examples does not fit in {}", first_size,
                data.size());
  const std::vector<int64_t> order = Rng(seed ^ kSplitSalt).permutation(data.size());
  const std::span<const int64_t> all(order);
  return {data.select(all.first(static_cast<size_t>(first_size))),
          data.select(all.subspan(static_cast<size_t>(first_size)))};
}

TrainValidationTest train_validation_test_split(const Dataset& data, double validation_fraction,
                                                double test_fraction, uint64_t seed) {
  DESCENT_CHECK(validation_fraction >= 0 && test_fraction >= 0 &&
                    validation_fraction + test_fraction <= 1,
                InputError,
                "train_validation_test_split: fractions {} + {} must be non-negative and sum to "
                "at most 1",
                validation_fraction, test_fraction);
  const int64_t n = data.size();
  const auto n_val = static_cast<int64_t>(std::floor(validation_fraction * static_cast<double>(n)));
  const auto n_test = static_cast<int64_t>(std::floor(test_fraction * static_cast<double>(n)));
  const std::vector<int64_t> order = Rng(seed ^ kSplitSalt).permutation(n);
  const std::span<const int64_t> all(order);
  const auto train_size = static_cast<size_t>(n - n_val - n_test);
  return {data.select(all.first(train_size)),
          data.select(all.subspan(train_size, static_cast<size_t>(n_val))),
          data.select(all.subspan(train_size + static_cast<size_t>(n_val)))};
}

Standardizer Standardizer::fit(const Tensor& inputs, Normalization mode, double min_stddev) {
  DESCENT_CHECK(inputs.rank() >= 1 && inputs.dim(0) > 0 && is_floating(inputs.dtype()),
                InputError, "Standardizer::fit: need a float tensor [n > 0, ...], got {} {}",
                dtype_name(inputs.dtype()), inputs.shape());
  const int64_t n = inputs.dim(0), d = inputs.numel() / n;
  const bool per_feature = mode == Normalization::per_feature;
  const int64_t k = per_feature ? d : 1;
  std::vector<double> mean(static_cast<size_t>(k), 0.0), var(static_cast<size_t>(k), 0.0);
  dispatch_floating(inputs.dtype(), "Standardizer::fit", [&](auto tag) {
    using T = decltype(tag);
    const T* x = inputs.data<T>();
    // Two passes (mean, then squared deviations): one-pass formulas lose precision when
    // the mean is large compared with the spread, as with raw pixel values.
    for (int64_t i = 0; i < n * d; ++i) mean[static_cast<size_t>(per_feature ? i % d : 0)] += x[i];
    const double count = per_feature ? static_cast<double>(n) : static_cast<double>(n * d);
    for (double& m : mean) m /= count;
    for (int64_t i = 0; i < n * d; ++i) {
      const auto j = static_cast<size_t>(per_feature ? i % d : 0);
      var[j] += (x[i] - mean[j]) * (x[i] - mean[j]);
    }
    for (double& v : var) v /= count;
  });
  Standardizer s;
  const Shape shape = per_feature ? tail_shape(inputs.shape()) : Shape{};
  s.mean = Tensor::from_vector(mean, shape, DType::f64);
  s.stddev = Tensor::empty(shape, DType::f64);
  for (int64_t j = 0; j < k; ++j) {
    const double sd = std::sqrt(var[static_cast<size_t>(j)]);
    s.stddev.data<double>()[j] = sd < min_stddev ? 1.0 : sd;  // constant features: shift only
  }
  return s;
}

void Standardizer::apply(Tensor& inputs) const {
  DESCENT_CHECK(mean.defined(), InputError, "Standardizer::apply: fit() it first");
  const int64_t k = mean.numel();
  DESCENT_CHECK(inputs.rank() >= 1 && is_floating(inputs.dtype()) &&
                    ((k == 1 && mean.rank() == 0) || tail_shape(inputs.shape()) == mean.shape()),
                InputError,
                "Standardizer::apply: inputs {} do not have the fitted example shape {}",
                inputs.shape(), mean.shape());
  const double* m = mean.data<double>();
  const double* s = stddev.data<double>();
  dispatch_floating(inputs.dtype(), "Standardizer::apply", [&](auto tag) {
    using T = decltype(tag);
    T* x = inputs.data<T>();
    for (int64_t i = 0, total = inputs.numel(); i < total; ++i) {
      const int64_t j = k == 1 ? 0 : i % k;
      x[i] = static_cast<T>((x[i] - m[j]) / s[j]);
    }
  });
}

BatchSampler::BatchSampler(int64_t num_examples, int64_t batch_size, uint64_t seed, bool shuffle,
                           bool drop_last)
    : num_examples_(num_examples), batch_size_(batch_size), seed_(seed), shuffle_(shuffle),
      drop_last_(drop_last) {
  DESCENT_CHECK(num_examples > 0 && batch_size > 0, InputError,
                "BatchSampler: need examples and a positive batch size, got {} examples, batch "
                "size {}",
                num_examples, batch_size);
  DESCENT_CHECK(!drop_last || batch_size <= num_examples, InputError,
                "BatchSampler: batch size {} exceeds the {} examples and drop_last leaves no "
                "batch; lower the batch size",
                batch_size, num_examples);
}

int64_t BatchSampler::steps_per_epoch() const {
  return drop_last_ ? num_examples_ / batch_size_ : (num_examples_ + batch_size_ - 1) / batch_size_;
}

std::vector<int64_t> BatchSampler::epoch_order(int64_t epoch) const {
  DESCENT_CHECK(epoch >= 0, InputError, "BatchSampler: epoch {} is negative", epoch);
  if (!shuffle_) {
    std::vector<int64_t> order(static_cast<size_t>(num_examples_));
    for (int64_t i = 0; i < num_examples_; ++i) order[static_cast<size_t>(i)] = i;
    return order;
  }
  return Rng(seed_ ^ kShuffleSalt, static_cast<uint64_t>(epoch)).permutation(num_examples_);
}

std::span<const int64_t> BatchSampler::batch(BatchPosition p) {
  DESCENT_CHECK(0 <= p.step && p.step < steps_per_epoch(), InputError,
                "BatchSampler: step {} is outside the epoch's {} steps", p.step, steps_per_epoch());
  if (p.epoch != cached_epoch_) {
    order_ = epoch_order(p.epoch);
    cached_epoch_ = p.epoch;
  }
  const int64_t start = p.step * batch_size_;
  const int64_t stop = std::min(start + batch_size_, num_examples_);
  return std::span<const int64_t>(order_).subspan(static_cast<size_t>(start),
                                                  static_cast<size_t>(stop - start));
}

BatchPosition BatchSampler::next(BatchPosition p) const {
  return p.step + 1 < steps_per_epoch() ? BatchPosition{p.epoch, p.step + 1}
                                        : BatchPosition{p.epoch + 1, 0};
}

void BatchBuffer::gather(const Dataset& data, std::span<const int64_t> indices) {
  const auto b = static_cast<int64_t>(indices.size());
  auto ensure = [b](Tensor& storage, const Tensor& source) {
    if (!storage.defined() || storage.dtype() != source.dtype() ||
        tail_shape(storage.shape()) != tail_shape(source.shape()) || storage.dim(0) < b)
      storage = Tensor::empty(with_rows(source.shape(), b), source.dtype());
  };
  ensure(input_storage_, data.inputs);
  ensure(target_storage_, data.targets);
  inputs_ = input_storage_.rows(0, b);
  targets_ = target_storage_.rows(0, b);
  gather_rows(data.inputs, indices, inputs_);
  gather_rows(data.targets, indices, targets_);
}

}  // namespace descent::data
