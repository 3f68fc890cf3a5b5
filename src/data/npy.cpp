// NPY reader and writer (numpy.lib.format, versions 1.0-3.0).
#include <bit>
#include <cstring>
#include <vector>

#include "descent/core/file_io.hpp"
#include "descent/data/readers.hpp"

namespace descent::data {
namespace {

static_assert(std::endian::native == std::endian::little, "NPY I/O assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// This parser accepts exactly the subset numpy writes: string keys, string / bool / tuple
// of non-negative int values.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  struct Header {
    std::string descr;
    bool fortran_order = false;
    Shape shape;
    bool has_descr = false, has_order = false, has_shape = false;
  };

  Header parse() {
    Header h;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        h.descr = string_literal();
        h.has_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        h.has_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        h.has_shape = true;
      } else {
        bad("unknown key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') ++i_;
    }
    if (!h.has_descr || !h.has_order || !h.has_shape)
      bad("it needs the keys 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  [[noreturn]] void bad(const std::string& what) {
    fail<InputError>("NPY file '{}': header dict is malformed at character {}: {}; the file is "
                     "corrupted or not written by numpy.save",
                     name_, i_, what);
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n')) ++i_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string string_literal() {
    skip_space();
    const char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string");
    const size_t end = s_.find(q, i_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(s_.substr(i_ + 1, end - i_ - 1));
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    if (s_.substr(i_, 4) == "True") return i_ += 4, true;
    if (s_.substr(i_, 5) == "False") return i_ += 5, false;
    bad("expected True or False");
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') bad("expected a non-negative integer in 'shape'");
      uint64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        v = v * 10 + static_cast<uint64_t>(peek() - '0');
        if (v > (uint64_t{1} << 48)) bad("a dimension in 'shape' is absurdly large");
        ++i_;
      }
      if (shape.rank() == Shape::kMaxRank)
        bad("'shape' has more than " + std::to_string(Shape::kMaxRank) + " dimensions");
      shape.push_back(static_cast<int64_t>(v));
      skip_space();
      if (peek() == ',') ++i_;
      else if (peek() != ')') bad("expected ',' or ')' in 'shape'");
    }
    ++i_;
    return shape;
  }

  std::string_view s_;
  const std::string& name_;
  size_t i_ = 0;
};

DType npy_dtype(const std::string& descr, const std::string& name) {
  if (descr == "<f4") return DType::f32;
  if (descr == "<f8") return DType::f64;
  if (descr == "<i8") return DType::i64;
  if (descr == "|u1" || descr == "<u1" || descr == "|b1" || descr == "<b1") return DType::u8;
  if (!descr.empty() && descr[0] == '>')
    fail<InputError>("NPY file '{}' is big-endian ('{}'); save it little-endian with "
                     "arr.astype(arr.dtype.newbyteorder('<'))",
                     name, descr);
  fail<InputError>("NPY file '{}' has dtype '{}', which descent does not read (float32, float64, "
                   "int64, uint8, bool); convert it, e.g. np.save(path, arr.astype('<f4'))",
                   name, descr);
}

const char* npy_descr(DType t) {
  switch (t) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::i64: return "<i8";
    case DType::u8: return "|u1";
  }
  return "?";
}

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& name) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view(kMagic, 6))
    fail<InputError>("NPY file '{}': missing the '\\x93NUMPY' magic{}; is it a .npy file (not "
                     ".npz or text)?",
                     name, bytes.size() < 10 ? " (file shorter than 10 bytes)" : "");
  const auto u8 = [&](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])); };
  const int major = static_cast<int>(u8(6));
  size_t header_start = 10;
  uint64_t header_len = 0;
  if (major == 1) {
    header_len = u8(8) | u8(9) << 8;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail<InputError>("NPY file '{}' is truncated inside its preamble", name);
    header_len = u8(8) | u8(9) << 8 | u8(10) << 16 | u8(11) << 24;
    header_start = 12;
  } else {
    fail<InputError>("NPY file '{}': format version {}.{} is unknown (descent reads 1.0, 2.0, "
                     "3.0)",
                     name, major, u8(7));
  }
  if (header_len > bytes.size() - header_start)
    fail<InputError>("NPY file '{}': header length {} exceeds the {} bytes that follow; the file "
                     "is truncated",
                     name, header_len, bytes.size() - header_start);
  const auto header =
      HeaderParser(bytes.substr(header_start, header_len), name).parse();
  if (header.fortran_order)
    fail<InputError>("NPY file '{}' is in Fortran order; save np.ascontiguousarray(arr) instead",
                     name);
  const DType dtype = npy_dtype(header.descr, name);
  const size_t data_start = header_start + header_len;
  const uint64_t available = bytes.size() - data_start;
  // The product of the non-zero extents must fit int64 even for an empty array, since
  // Shape::numel multiplies in int64. Dims are below 2^48 (checked by the parser), so
  // stopping at 2^62 keeps the running product within 128 bits.
  unsigned __int128 product = 1;
  bool empty = false;
  for (int i = 0; i < header.shape.rank() && product <= (uint64_t{1} << 62); ++i) {
    empty = empty || header.shape[i] == 0;
    product *= header.shape[i] == 0 ? 1u : static_cast<uint64_t>(header.shape[i]);
  }
  if (product > (uint64_t{1} << 62))
    fail<InputError>("NPY file '{}': shape {} has more than 2^62 elements; the header is "
                     "corrupted",
                     name, header.shape);
  const uint64_t need = empty ? 0 : static_cast<uint64_t>(product) * dtype_size(dtype);
  if (need != available)
    fail<InputError>("NPY file '{}': shape {} of {} needs {} bytes of data but the file has {}; "
                     "it is {}",
                     name, header.shape, dtype_name(dtype), need, available,
                     need > available ? "truncated" : "corrupted (extra bytes)");
  Tensor out = Tensor::empty(header.shape, dtype);
  if (available > 0) std::memcpy(out.raw(), bytes.data() + data_start, available);
  return out;
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file_bytes(path, "NPY file"), path); }

std::string serialize_npy(const Tensor& tensor) {
  DESCENT_CHECK(tensor.defined(), InputError, "save_npy: the tensor is undefined");
  // Python tuple syntax: "()", "(3,)", "(3, 4)".
  std::string shape = "(";
  for (int i = 0; i < tensor.rank(); ++i) shape += (i ? ", " : "") + std::to_string(tensor.dim(i));
  shape += tensor.rank() == 1 ? ",)" : ")";
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}",
                                 npy_descr(tensor.dtype()), shape);
  dict += ", }";
  const bool v1 = dict.size() + 64 < 65535;  // the padded length must fit 16 bits
  const size_t preamble = v1 ? 10 : 12;
  // numpy pads with spaces and ends with '\n' so the data begins on a 64-byte boundary.
  const size_t total = (preamble + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - preamble - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic, 6);
  out += static_cast<char>(v1 ? 1 : 2);
  out += '\0';
  const size_t len = dict.size();
  for (size_t i = 0; i < (v1 ? 2u : 4u); ++i) out += static_cast<char>((len >> (8 * i)) & 0xff);
  out += dict;
  out.append(static_cast<const char*>(tensor.raw()), tensor.nbytes());
  return out;
}

void save_npy(const std::string& path, const Tensor& tensor) {
  write_file_atomically(path, serialize_npy(tensor));
}

}  // namespace descent::data
