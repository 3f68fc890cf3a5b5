// Fashion-MNIST from Debian's dataset-fashion-mnist package.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "descent/data/fashion_mnist.hpp"

using namespace descent;
using namespace descent::data;
namespace fs = std::filesystem;

namespace {

bool package_installed() {
  return fs::exists(fashion_mnist_directory() + "/train-images-idx3-ubyte.gz");
}

#define REQUIRE_FASHION_MNIST()                                                              \
  if (!package_installed())                                                                  \
  GTEST_SKIP() << "Fashion-MNIST not found in '" << fashion_mnist_directory()                \
               << "' (sudo apt install dataset-fashion-mnist, or set DESCENT_FASHION_MNIST_DIR); " \
                  "skipped"

}  // namespace

TEST(FashionMnist, TrainAndTestHaveTheirSizesBalancedLabelsAndUnitPixels) {
  REQUIRE_FASHION_MNIST();
  for (const auto& [split, n] : {std::pair<std::string, int64_t>{"train", 60000}, {"test", 10000}}) {
    const Dataset d = load_fashion_mnist(split);
    ASSERT_EQ(d.inputs.shape(), Shape({n, 784})) << split;
    ASSERT_EQ(d.targets.shape(), Shape({n}));
    EXPECT_EQ(d.num_classes, 10);
    std::vector<int64_t> counts(10, 0);
    for (int64_t i = 0; i < n; ++i) ++counts.at(static_cast<size_t>(d.targets.data<int64_t>()[i]));
    for (int64_t c : counts) EXPECT_EQ(c, n / 10) << split << ": the classes are balanced";
    const float* x = d.inputs.data<float>();
    float lo = 1, hi = 0;
    for (int64_t i = 0; i < n * 784; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
    EXPECT_EQ(lo, 0.0f);
    EXPECT_EQ(hi, 1.0f);
  }
}

TEST(FashionMnist, MissingFilesSayWhichPackageToInstall) {
  const std::string msg = [] {
    try {
      load_fashion_mnist("train", {.directory = "/nonexistent/fm"});
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("(no InputError)");
  }();
  EXPECT_NE(msg.find("'/nonexistent/fm/train-images-idx3-ubyte.gz' not found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("apt install dataset-fashion-mnist"), std::string::npos) << msg;
  EXPECT_NE(msg.find("DESCENT_FASHION_MNIST_DIR"), std::string::npos) << msg;
  EXPECT_THROW(load_fashion_mnist("validation"), InputError);
}

TEST(FashionMnist, ImagesAndLabelsOfDifferentSplitsAreALabelCountError) {
  REQUIRE_FASHION_MNIST();
  const fs::path dir = fs::temp_directory_path() / ("descent_fm_mix_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::create_symlink(fashion_mnist_directory() + "/t10k-images-idx3-ubyte.gz", dir / "t10k-images-idx3-ubyte.gz");
  fs::create_symlink(fashion_mnist_directory() + "/train-labels-idx1-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz");
  try {
    load_fashion_mnist("test", {.directory = dir.string()});
    ADD_FAILURE() << "10000 images with 60000 labels were accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("has 10000 images but"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("60000 labels"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(FashionMnist, EnvironmentVariableOverridesTheDirectory) {
  const char* user_setting = std::getenv("DESCENT_FASHION_MNIST_DIR");
  const std::string saved = user_setting ? user_setting : "";
  ::setenv("DESCENT_FASHION_MNIST_DIR", "/somewhere/else", 1);
  EXPECT_EQ(fashion_mnist_directory(), "/somewhere/else");
  ::unsetenv("DESCENT_FASHION_MNIST_DIR");
  EXPECT_EQ(fashion_mnist_directory(), "/usr/share/datasets/fashion-mnist");
  if (user_setting) ::setenv("DESCENT_FASHION_MNIST_DIR", saved.c_str(), 1);
}
