#include "descent/core/tensor.hpp"

#include <cmath>

#include "descent/core/allocator.hpp"

namespace descent {

Storage::Storage(size_t nbytes) : data(buffer_allocate(nbytes == 0 ? 1 : nbytes)), bytes(nbytes == 0 ? 1 : nbytes) {}
Storage::~Storage() { buffer_release(data, bytes); }

namespace {
template <class F>
decltype(auto) dispatch_any(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i64: return f(int64_t{});
    case DType::u8: return f(uint8_t{});
  }
  return f(float{});
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (int i = 0; i < shape.rank(); ++i)
    DESCENT_CHECK(shape[i] >= 0, ShapeError, "Tensor: negative extent in shape {}", shape);
  Tensor t;
  t.storage_ = std::make_shared<Storage>(static_cast<size_t>(shape.numel()) * dtype_size(dtype));
  t.shape_ = shape;
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full(Shape{}, value, dtype); }

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  DESCENT_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), ShapeError,
                "Tensor::from_vector: {} values do not fill shape {} ({} elements)",
                values.size(), shape, shape.numel());
  Tensor t = empty(shape, dtype);
  dispatch_any(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.raw());
    for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
  });
  return t;
}

Tensor Tensor::arange(int64_t n, DType dtype) {
  Tensor t = empty({n}, dtype);
  for (int64_t i = 0; i < n; ++i) t.set(i, static_cast<double>(i));
  return t;
}

Tensor Tensor::eye(int64_t n, DType dtype) {
  Tensor t = zeros({n, n}, dtype);
  for (int64_t i = 0; i < n; ++i) t.set(i * n + i, 1.0);
  return t;
}

void Tensor::check_dtype(DType want) const {
  DESCENT_CHECK(storage_ != nullptr, ShapeError, "Tensor: access to an undefined tensor");
  DESCENT_CHECK(want == dtype_, ShapeError, "Tensor: data<{}>() on a {} tensor of shape {}",
                dtype_name(want), dtype_name(dtype_), shape_);
}

double Tensor::at(int64_t i) const {
  DESCENT_CHECK(defined() && i >= 0 && i < numel(), ShapeError,
                "Tensor::at: index {} out of range for shape {}", i, shape_);
  return dispatch_any(dtype_, [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(static_cast<const T*>(raw())[i]);
  });
}

void Tensor::set(int64_t i, double v) {
  DESCENT_CHECK(defined() && i >= 0 && i < numel(), ShapeError,
                "Tensor::set: index {} out of range for shape {}", i, shape_);
  dispatch_any(dtype_, [&](auto tag) {
    using T = decltype(tag);
    static_cast<T*>(raw())[i] = static_cast<T>(v);
  });
}

double Tensor::item() const {
  DESCENT_CHECK(defined() && numel() == 1, ShapeError,
                "Tensor::item: expected one element, tensor has shape {}", shape_);
  return at(0);
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> v(static_cast<size_t>(numel()));
  dispatch_any(dtype_, [&](auto tag) {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(raw());
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(p[i]);
  });
  return v;
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < s.rank(); ++i) {
    if (s[i] == -1) {
      DESCENT_CHECK(infer < 0, ShapeError, "reshape: {} -> {}: at most one -1", shape_, shape);
      infer = i;
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    DESCENT_CHECK(known > 0 && numel() % known == 0, ShapeError,
                  "reshape: {} ({} elements) cannot be viewed as {}", shape_, numel(), shape);
    s[infer] = numel() / known;
  }
  DESCENT_CHECK(s.numel() == numel(), ShapeError,
                "reshape: {} ({} elements) cannot be viewed as {} ({} elements)", shape_, numel(),
                shape, s.numel());
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::view(int64_t offset, const Shape& shape) const {
  DESCENT_CHECK(offset >= 0 && offset + shape.numel() <= numel(), ShapeError,
                "view: elements [{}, {}) exceed tensor of shape {} ({} elements)", offset,
                offset + shape.numel(), shape_, numel());
  Tensor t = *this;
  t.offset_ = offset_ + offset;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::row(int64_t i) const {
  DESCENT_CHECK(rank() >= 1 && i >= 0 && i < shape_[0], ShapeError,
                "row: index {} out of range for shape {}", i, shape_);
  Shape s;
  for (int d = 1; d < rank(); ++d) s.push_back(shape_[d]);
  return view(i * s.numel(), s);
}

Tensor Tensor::rows(int64_t start, int64_t stop) const {
  DESCENT_CHECK(rank() >= 1 && 0 <= start && start <= stop && stop <= shape_[0], ShapeError,
                "rows: range [{}, {}) out of range for shape {}", start, stop, shape_);
  Shape s = shape_;
  s[0] = stop - start;
  const int64_t per_row = shape_[0] == 0 ? 0 : numel() / shape_[0];
  return view(start * per_row, s);
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

Tensor Tensor::astype(DType dtype) const {
  if (dtype == dtype_) return clone();
  Tensor t = empty(shape_, dtype);
  dispatch_any(dtype_, [&](auto src_tag) {
    using S = decltype(src_tag);
    dispatch_any(dtype, [&](auto dst_tag) {
      using D = decltype(dst_tag);
      const S* s = static_cast<const S*>(raw());
      D* d = static_cast<D*>(t.raw());
      for (int64_t i = 0, n = numel(); i < n; ++i) d[i] = static_cast<D>(s[i]);
    });
  });
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  DESCENT_CHECK(src.numel() == numel() && src.dtype() == dtype_, ShapeError,
                "copy_from: source {} {} does not match destination {} {}", dtype_name(src.dtype()),
                src.shape(), dtype_name(dtype_), shape_);
  if (nbytes()) std::memmove(raw(), src.raw(), nbytes());
}

void Tensor::fill(double value) {
  dispatch_any(dtype_, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(raw());
    const T v = static_cast<T>(value);
    for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = v;
  });
}

std::string Tensor::str(int max_elements) const {
  if (!defined()) return "Tensor(undefined)";
  std::string s = fmt::format("Tensor({} {}: [", dtype_name(dtype_), shape_);
  const int64_t n = std::min<int64_t>(numel(), max_elements);
  for (int64_t i = 0; i < n; ++i) s += fmt::format("{}{:.6g}", i ? ", " : "", at(i));
  if (numel() > n) s += ", ...";
  return s + "])";
}

}  // namespace descent
