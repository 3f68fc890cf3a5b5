#pragma once
// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60000 training and 10000 test images of
// 28x28 grey-scale clothing in 10 classes, read from the IDX files of Debian's
// `dataset-fashion-mnist` package.
#include <array>
#include <string>

#include "descent/data/dataset.hpp"

namespace descent::data {

inline constexpr std::array<const char*, 10> kFashionMnistClassNames = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// $DESCENT_FASHION_MNIST_DIR when set, else /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_directory();

struct FashionMnistOptions {
  std::string directory;     // empty: fashion_mnist_directory()
  DType dtype = DType::f32;  // of the inputs: f32 or f64
  bool flatten = true;       // inputs [n, 784]; false: [n, 28, 28]
};

// split: "train" or "test". Pixels are scaled to [0, 1]; labels are int64 in 0..9. A
// missing file is an InputError saying which package to install or which variable to set.
Dataset load_fashion_mnist(const std::string& split, const FashionMnistOptions& options = {});

}  // namespace descent::data
