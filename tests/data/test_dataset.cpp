// Datasets, splits, standardization and the resumable batch order.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "descent/core/allocator.hpp"
#include "descent/core/rng.hpp"
#include "descent/data/dataset.hpp"

using namespace descent;
using namespace descent::data;

namespace {

// Example i has inputs (i, 10 i) and label i % 3.
Dataset counting_dataset(int64_t n) {
  Dataset d{Tensor::empty({n, 2}, DType::f32), Tensor::empty({n}, DType::i64), 3};
  for (int64_t i = 0; i < n; ++i) {
    d.inputs.set(2 * i, static_cast<double>(i));
    d.inputs.set(2 * i + 1, 10.0 * static_cast<double>(i));
    d.targets.set(i, static_cast<double>(i % 3));
  }
  return d;
}

template <class F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

std::vector<int64_t> ids(const Dataset& d) {  // recovers i from inputs (i, 10 i)
  std::vector<int64_t> out;
  for (int64_t r = 0; r < d.size(); ++r) out.push_back(static_cast<int64_t>(d.inputs.at(2 * r)));
  return out;
}

}  // namespace

TEST(Dataset, TakeAndSliceAreViewsSelectCopies) {
  const Dataset d = counting_dataset(10);
  const Dataset head = d.take(4);
  EXPECT_EQ(head.size(), 4);
  EXPECT_TRUE(head.inputs.shares_storage(d.inputs));
  EXPECT_EQ(ids(d.slice(3, 6)), (std::vector<int64_t>{3, 4, 5}));
  const std::vector<int64_t> pick{9, 0, 4};
  const Dataset s = d.select(pick);
  EXPECT_FALSE(s.inputs.shares_storage(d.inputs));
  EXPECT_EQ(ids(s), pick);
  EXPECT_EQ(s.targets.to_vector(), (std::vector<double>{0, 0, 1}));
  EXPECT_EQ(d.example_shape(), Shape({2}));
}

TEST(Dataset, ValidateRejectsWrongLabelCountsAndRanges) {
  Dataset d = counting_dataset(5);
  validate_dataset(d, "ok");
  Dataset short_labels{d.inputs, d.targets.rows(0, 4), 3};
  EXPECT_NE(input_error_of([&] { validate_dataset(short_labels, "mine.csv"); })
                .find("mine.csv: 5 inputs but 4 targets"),
            std::string::npos);
  d.num_classes = 2;  // label 2 is now out of range
  EXPECT_NE(input_error_of([&] { validate_dataset(d, "x"); }).find("label 2 of example 2 is outside [0, 2)"),
            std::string::npos);
}

TEST(Splits, RandomSplitPartitionsReproduciblyBySeed) {
  const Dataset d = counting_dataset(100);
  const DatasetPair a = random_split(d, 30, 7), b = random_split(d, 30, 7), c = random_split(d, 30, 8);
  EXPECT_EQ(a.first.size(), 30);
  EXPECT_EQ(a.second.size(), 70);
  std::vector<int64_t> all = ids(a.first), rest = ids(a.second);
  all.insert(all.end(), rest.begin(), rest.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(100);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected) << "a split must be a partition";
  EXPECT_EQ(ids(a.first), ids(b.first));
  EXPECT_NE(ids(a.first), ids(c.first));
  EXPECT_NE(ids(a.first), std::vector<int64_t>(expected.begin(), expected.begin() + 30));
}

TEST(Splits, TrainValidationTestSizes) {
  const TrainValidationTest s = train_validation_test_split(counting_dataset(101), 0.1, 0.2, 1);
  EXPECT_EQ(s.validation.size(), 10);
  EXPECT_EQ(s.test.size(), 20);
  EXPECT_EQ(s.train.size(), 71);
  std::set<int64_t> seen;
  for (const Dataset* part : {&s.train, &s.validation, &s.test})
    for (int64_t i : ids(*part)) EXPECT_TRUE(seen.insert(i).second) << "example " << i << " twice";
  EXPECT_THROW(train_validation_test_split(counting_dataset(5), 0.6, 0.6, 1), InputError);
}

TEST(Standardizer, PerFeatureStatisticsComeFromTrainOnly) {
  Rng rng(3);
  Tensor train = rng.normal_tensor({2000, 3}, DType::f64, 0.0, 1.0);
  for (int64_t i = 0; i < 2000; ++i) {
    train.set(3 * i, 5.0 + 2.0 * train.at(3 * i));  // feature 0 ~ N(5, 4)
    train.set(3 * i + 2, 7.0);                       // feature 2 constant
  }
  const Standardizer s = Standardizer::fit(train, Normalization::per_feature);
  Tensor test = Tensor::from_vector(std::vector<double>{5.0 + 2.0 * 1.0, 0.0, 7.0}, {1, 3});
  const double mean0 = s.mean.at(0), sd0 = s.stddev.at(0);
  s.apply(test);
  EXPECT_DOUBLE_EQ(test.at(0), (7.0 - mean0) / sd0);
  EXPECT_NEAR(test.at(0), 1.0, 0.1);  // one train stddev above the train mean
  EXPECT_EQ(test.at(2), 0.0) << "a constant feature is centred, not divided by zero";
  s.apply(train);
  for (int f = 0; f < 2; ++f) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < 2000; ++i) m += train.at(3 * i + f) / 2000;
    for (int64_t i = 0; i < 2000; ++i) v += (train.at(3 * i + f) - m) * (train.at(3 * i + f) - m) / 2000;
    EXPECT_NEAR(m, 0.0, 1e-12);
    EXPECT_NEAR(v, 1.0, 1e-12);
  }
}

TEST(Standardizer, GlobalUsesOneMeanAndStddev) {
  Tensor x = Tensor::from_vector(std::vector<float>{0, 2, 4, 6}, {2, 2});
  const Standardizer s = Standardizer::fit(x, Normalization::global);
  EXPECT_EQ(s.mean.rank(), 0);
  EXPECT_DOUBLE_EQ(s.mean.item(), 3.0);
  EXPECT_DOUBLE_EQ(s.stddev.item(), std::sqrt(5.0));
  s.apply(x);
  EXPECT_FLOAT_EQ(static_cast<float>(x.at(3)), static_cast<float>(3.0 / std::sqrt(5.0)));
  Tensor wrong = Tensor::zeros({2, 3});
  EXPECT_THROW(Standardizer::fit(Tensor::zeros({2, 2}), Normalization::per_feature).apply(wrong), InputError);
}

TEST(BatchSampler, EachEpochIsAPermutationDependingOnlyOnSeedAndEpoch) {
  const BatchSampler a(50, 8, 42), b(50, 8, 42), other_seed(50, 8, 43);
  std::vector<int64_t> expected(50);
  std::iota(expected.begin(), expected.end(), 0);
  for (int64_t epoch : {0, 1, 5}) {
    std::vector<int64_t> order = a.epoch_order(epoch);
    EXPECT_EQ(order, b.epoch_order(epoch));
    EXPECT_NE(order, other_seed.epoch_order(epoch));
    EXPECT_NE(order, a.epoch_order(epoch + 1));
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, expected);
  }
  EXPECT_EQ(BatchSampler(50, 8, 42, /*shuffle=*/false).epoch_order(3), expected);
}

TEST(BatchSampler, ResumingAtAPositionReplaysTheUninterruptedRun) {
  BatchSampler straight(23, 5, 9);
  EXPECT_EQ(straight.steps_per_epoch(), 5);  // 5+5+5+5+3
  std::vector<std::vector<int64_t>> uninterrupted;
  BatchPosition p;
  for (int i = 0; i < 17; ++i, p = straight.next(p)) {
    const auto batch = straight.batch(p);
    uninterrupted.emplace_back(batch.begin(), batch.end());
  }
  EXPECT_EQ(p, (BatchPosition{3, 2}));
  EXPECT_EQ(uninterrupted[4].size(), 3u);
  // A fresh process (new sampler) that checkpointed position {1, 3} = step 8.
  BatchSampler resumed(23, 5, 9);
  BatchPosition q{1, 3};
  for (int i = 8; i < 17; ++i, q = resumed.next(q)) {
    const auto batch = resumed.batch(q);
    EXPECT_EQ(std::vector<int64_t>(batch.begin(), batch.end()), uninterrupted[static_cast<size_t>(i)]) << i;
  }
  EXPECT_EQ(BatchSampler(23, 5, 9, true, /*drop_last=*/true).steps_per_epoch(), 4);
  EXPECT_THROW(straight.batch({0, 5}), InputError);
}

TEST(BatchBuffer, GathersRowsWithoutAllocatingPerStep) {
  const Dataset d = counting_dataset(23);
  BatchSampler sampler(23, 5, 1);
  BatchBuffer buffer;
  buffer.gather(d, sampler.batch({0, 0}));  // first step allocates
  const uint64_t before = allocator_stats().allocations;
  BatchPosition p{0, 1};
  for (int i = 0; i < 30; ++i, p = sampler.next(p)) {
    const auto idx = sampler.batch(p);
    buffer.gather(d, idx);
    ASSERT_EQ(buffer.inputs().dim(0), static_cast<int64_t>(idx.size()));
    for (size_t r = 0; r < idx.size(); ++r) {
      EXPECT_EQ(buffer.inputs().at(2 * static_cast<int64_t>(r) + 1), 10.0 * static_cast<double>(idx[r]));
      EXPECT_EQ(buffer.targets().at(static_cast<int64_t>(r)), static_cast<double>(idx[r] % 3));
    }
  }
  EXPECT_EQ(allocator_stats().allocations, before) << "gather allocated tensor memory per step";
}
