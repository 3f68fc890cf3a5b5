#pragma once
// Tensor: an n-dimensional, row-major, contiguous array of float32/float64 (or int64
// indices, bool masks). Copies share storage (like a handle); `clone()` copies data.
// Views (`reshape`, `view`, `row`) share storage with the original.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "descent/core/dtype.hpp"
#include "descent/core/shape.hpp"

namespace descent {

struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  explicit Storage(size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false

  // Uninitialized contents.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
  static Tensor scalar(double value, DType dtype = DType::f32);
  // Copies `values` (length must equal shape.numel()).
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype);
  static Tensor arange(int64_t n, DType dtype = DType::f32);
  static Tensor eye(int64_t n, DType dtype = DType::f32);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int axis) const { return shape_.dim(axis); }
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  // Typed access; throws when T does not match dtype().
  template <class T> T* data() {
    check_dtype(dtype_v<T>);
    return static_cast<T*>(raw()) ;
  }
  template <class T> const T* data() const {
    check_dtype(dtype_v<T>);
    return static_cast<const T*>(raw());
  }
  void* raw() { return static_cast<char*>(storage_->data) + offset_ * dtype_size(dtype_); }
  const void* raw() const {
    return static_cast<const char*>(storage_->data) + offset_ * dtype_size(dtype_);
  }

  // Element i of the flattened tensor, as double (for tests and reports, not hot loops).
  double at(int64_t flat_index) const;
  void set(int64_t flat_index, double value);
  // The value of a one-element tensor.
  double item() const;
  std::vector<double> to_vector() const;

  // Views sharing storage.
  Tensor reshape(const Shape& shape) const;  // one dimension may be -1
  Tensor flatten() const { return reshape({numel()}); }
  // Elements [offset, offset + shape.numel()) of the flattened tensor, as `shape`.
  Tensor view(int64_t offset, const Shape& shape) const;
  // Sub-tensor i along axis 0.
  Tensor row(int64_t i) const;
  // Rows [start, stop) along axis 0.
  Tensor rows(int64_t start, int64_t stop) const;

  Tensor clone() const;
  Tensor astype(DType dtype) const;
  // Copies `src` (same numel and dtype) into this tensor's memory.
  void copy_from(const Tensor& src);
  void fill(double value);

  // True when both share the same storage.
  bool shares_storage(const Tensor& other) const { return storage_ == other.storage_; }
  std::string str(int max_elements = 16) const;

 private:
  void check_dtype(DType want) const;
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;  // in elements
  Shape shape_;
  DType dtype_ = DType::f32;
};

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  DESCENT_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), ShapeError,
                "Tensor::from_vector: {} values do not fill shape {} ({} elements)",
                values.size(), shape, shape.numel());
  Tensor t = empty(shape, dtype_v<T>);
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
  return t;
}

}  // namespace descent
