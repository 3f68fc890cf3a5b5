#include "descent/data/fashion_mnist.hpp"

#include <cstdlib>
#include <filesystem>

namespace descent::data {

std::string fashion_mnist_directory() {
  const char* env = std::getenv("DESCENT_FASHION_MNIST_DIR");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

namespace {

// The Debian package ships the files gzipped; a user's own copy may be unpacked.
std::string find_file(const std::string& dir, const std::string& stem) {
  for (const std::string& candidate : {dir + "/" + stem + ".gz", dir + "/" + stem})
    if (std::filesystem::is_regular_file(candidate)) return candidate;
  fail<InputError>("Fashion-MNIST: '{}/{}.gz' not found; install it with `sudo apt install "
                   "dataset-fashion-mnist`, or set DESCENT_FASHION_MNIST_DIR to a folder holding "
                   "the four IDX files",
                   dir, stem);
}

}  // namespace

Dataset load_fashion_mnist(const std::string& split, const FashionMnistOptions& options) {
  DESCENT_CHECK(split == "train" || split == "test", InputError,
                "Fashion-MNIST: split '{}' does not exist; use \"train\" or \"test\"", split);
  DESCENT_CHECK(is_floating(options.dtype), InputError,
                "Fashion-MNIST: inputs dtype must be float32 or float64, got {}",
                dtype_name(options.dtype));
  const std::string dir = options.directory.empty() ? fashion_mnist_directory() : options.directory;
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string image_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string label_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  const Tensor images = read_idx(image_path, 3);
  const Tensor labels = read_idx(label_path, 1);
  DESCENT_CHECK(images.dtype() == DType::u8 && labels.dtype() == DType::u8, InputError,
                "Fashion-MNIST: '{}' and '{}' must hold unsigned bytes (IDX type 0x08)",
                image_path, label_path);
  DESCENT_CHECK(images.dim(1) == 28 && images.dim(2) == 28, InputError,
                "Fashion-MNIST: '{}' holds {} images, expected 28x28", image_path,
                images.shape());
  DESCENT_CHECK(images.dim(0) == labels.dim(0), InputError,
                "Fashion-MNIST: '{}' has {} images but '{}' has {} labels; the files do not "
                "belong together",
                image_path, images.dim(0), label_path, labels.dim(0));
  const int64_t n = images.dim(0);
  Dataset d;
  d.num_classes = 10;
  d.inputs = Tensor::empty(options.flatten ? Shape{n, 784} : Shape{n, 28, 28}, options.dtype);
  const uint8_t* px = images.data<uint8_t>();
  dispatch_floating(options.dtype, "load_fashion_mnist", [&](auto tag) {
    using T = decltype(tag);
    T* x = d.inputs.data<T>();
    for (int64_t i = 0; i < n * 784; ++i) x[i] = static_cast<T>(px[i]) / T(255);
  });
  d.targets = Tensor::empty({n}, DType::i64);
  for (int64_t i = 0; i < n; ++i) d.targets.data<int64_t>()[i] = labels.data<uint8_t>()[i];
  validate_dataset(d, "Fashion-MNIST '" + label_path + "'");
  return d;
}

}  // namespace descent::data
