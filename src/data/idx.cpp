// IDX reader: the format of MNIST and Fashion-MNIST, usually gzip-compressed.
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "descent/core/file_io.hpp"
#include "descent/data/readers.hpp"

namespace descent::data {
namespace {

// deflate cannot expand data by more than about 1032:1 (RFC 1951 max run 258 bytes in
// 2 bits), so a gzip file of c bytes never inflates past this bound: a header that claims
// more is lying and is rejected before anything is allocated.
uint64_t max_inflated_size(uint64_t compressed) { return compressed * 1040 + 4096; }

// Sequential reads from raw bytes or from a gzip stream inflated on the fly.
class IdxStream {
 public:
  IdxStream(std::string_view bytes, const std::string& name) : bytes_(bytes), name_(name) {
    gzip_ = bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
            static_cast<unsigned char>(bytes[1]) == 0x8b;
    if (!gzip_) return;
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    zs_.avail_in = static_cast<uInt>(std::min<size_t>(bytes.size(), std::numeric_limits<uInt>::max()));
    fed_ = zs_.avail_in;
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK)
      fail<InputError>("IDX file '{}': zlib could not start inflating", name_);
    initialized_ = true;
  }
  ~IdxStream() {
    if (initialized_) inflateEnd(&zs_);
  }
  IdxStream(const IdxStream&) = delete;
  IdxStream& operator=(const IdxStream&) = delete;

  bool gzip() const { return gzip_; }
  // Bytes left for the payload, known exactly for raw files, bounded for gzip ones.
  uint64_t max_remaining() const {
    return gzip_ ? max_inflated_size(bytes_.size()) : bytes_.size() - pos_;
  }

  // Reads exactly n bytes; `what` says which part of the file was cut short.
  void read(void* dst, size_t n, const char* what) {
    const size_t got = read_some(dst, n);
    if (got < n)
      fail<InputError>("IDX file '{}' is truncated: {} ended after {} of {} bytes; download or "
                       "copy the file again",
                       name_, what, got, n);
  }

  // Verifies that nothing follows the payload (and, for gzip, that the stream's CRC holds).
  void expect_end(uint64_t payload_bytes) {
    char extra;
    if (read_some(&extra, 1) != 0)
      fail<InputError>("IDX file '{}' has more data than its dims describe ({} payload bytes); "
                       "the header or the file is corrupted",
                       name_, payload_bytes);
    if (gzip_ && (zs_.avail_in != 0 || fed_ != bytes_.size()))
      fail<InputError>("IDX file '{}': unexpected bytes after the end of the gzip stream; the "
                       "file is corrupted",
                       name_);
  }

 private:
  size_t read_some(void* dst, size_t n) {
    if (!gzip_) {
      const size_t take = std::min<size_t>(n, bytes_.size() - pos_);
      if (take > 0) std::memcpy(dst, bytes_.data() + pos_, take);
      pos_ += take;
      return take;
    }
    auto* out = static_cast<Bytef*>(dst);
    size_t done = 0;
    while (done < n && !ended_) {
      if (zs_.avail_in == 0 && fed_ < bytes_.size()) {
        const size_t more = std::min<size_t>(bytes_.size() - fed_, std::numeric_limits<uInt>::max());
        zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes_.data() + fed_));
        zs_.avail_in = static_cast<uInt>(more);
        fed_ += more;
      }
      const size_t chunk = std::min<size_t>(n - done, std::numeric_limits<uInt>::max());
      zs_.next_out = out + done;
      zs_.avail_out = static_cast<uInt>(chunk);
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      done += chunk - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        ended_ = true;
      } else if (rc == Z_BUF_ERROR && zs_.avail_in == 0 && fed_ == bytes_.size()) {
        fail<InputError>("IDX file '{}': the gzip stream is truncated; download or copy the file "
                         "again",
                         name_);
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        fail<InputError>("IDX file '{}': gzip data is corrupted ({}); download or copy the file "
                         "again",
                         name_, zs_.msg ? zs_.msg : "inflate failed");
      }
    }
    return done;
  }

  std::string_view bytes_;
  const std::string& name_;
  bool gzip_ = false;
  bool initialized_ = false;
  bool ended_ = false;
  size_t pos_ = 0;  // raw files
  size_t fed_ = 0;  // gzip: input bytes handed to zlib so far
  z_stream zs_{};
};

struct IdxType {
  size_t bytes;
  DType dtype;
  const char* name;
};

bool idx_type(unsigned char code, IdxType& t) {
  switch (code) {
    case 0x08: t = {1, DType::u8, "unsigned byte"}; return true;
    case 0x09: t = {1, DType::i64, "signed byte"}; return true;
    case 0x0B: t = {2, DType::i64, "short"}; return true;
    case 0x0C: t = {4, DType::i64, "int"}; return true;
    case 0x0D: t = {4, DType::f32, "float"}; return true;
    case 0x0E: t = {8, DType::f64, "double"}; return true;
  }
  return false;
}

uint64_t big_endian(const unsigned char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

template <class T>
T sign_extend(uint64_t v, size_t bytes) {
  const unsigned bits = static_cast<unsigned>(8 * bytes);
  const uint64_t sign = uint64_t{1} << (bits - 1);
  return static_cast<T>(static_cast<int64_t>((v ^ sign) - sign));
}

}  // namespace

Tensor parse_idx(std::string_view bytes, const std::string& name, int expected_rank) {
  IdxStream in(bytes, name);
  unsigned char magic[4];
  in.read(magic, 4, "the 4-byte magic number");
  const uint32_t magic_value = static_cast<uint32_t>(big_endian(magic, 4));
  IdxType type{};
  if (magic[0] != 0 || magic[1] != 0 || !idx_type(magic[2], type) || magic[3] == 0) {
    if (expected_rank > 0)
      fail<InputError>("IDX file '{}': expected magic 0x0000080{}, found 0x{:08x} ({}); is it an "
                       "IDX file?",
                       name, expected_rank, magic_value,
                       magic[0] == 0x1f && magic[1] == 0x8b ? "still gzipped twice?" : "not IDX");
    fail<InputError>("IDX file '{}': magic 0x{:08x} is not an IDX header (0x0000TTDD: type "
                     "08/09/0B/0C/0D/0E, rank DD > 0); is it an IDX file?",
                     name, magic_value);
  }
  const int rank = magic[3];
  if (expected_rank > 0 && rank != expected_rank)
    fail<InputError>("IDX file '{}': expected magic 0x0000080{}, found 0x{:08x} (rank {} instead "
                     "of {}); is it the right file (images have rank 3, labels rank 1)?",
                     name, expected_rank, magic_value, rank, expected_rank);
  if (rank > Shape::kMaxRank)
    fail<InputError>("IDX file '{}': rank {} exceeds descent's maximum of {}", name, rank,
                     Shape::kMaxRank);
  unsigned char dims[4 * Shape::kMaxRank];
  in.read(dims, 4 * static_cast<size_t>(rank), "the dimension sizes");
  Shape shape;
  uint64_t numel = 1;
  // The product of the non-zero extents is capped even for an empty array: Shape::numel
  // multiplies in int64, which extents like [2^31, 2^31, 2^31, 0] would overflow.
  bool empty = false;
  for (int i = 0; i < rank; ++i) {
    const uint64_t d = big_endian(dims + 4 * i, 4);
    shape.push_back(static_cast<int64_t>(d));
    empty = empty || d == 0;
    const unsigned __int128 product = static_cast<unsigned __int128>(numel) * (d == 0 ? 1 : d);
    numel = product > (uint64_t{1} << 48) ? UINT64_MAX : static_cast<uint64_t>(product);
  }
  if (empty && numel != UINT64_MAX) numel = 0;
  const uint64_t payload = numel == UINT64_MAX ? UINT64_MAX : numel * type.bytes;
  if (payload > in.max_remaining())
    fail<InputError>("IDX file '{}': dims {} of {}s need {} bytes but the file {} {}; it is "
                     "truncated or the header is corrupted",
                     name, shape, type.name,
                     payload == UINT64_MAX ? std::string("over 2^48") : std::to_string(payload),
                     in.gzip() ? "cannot inflate to more than" : "holds only", in.max_remaining());

  Tensor out = Tensor::empty(shape, type.dtype);
  if (type.dtype == DType::u8) {
    in.read(out.raw(), payload, "the payload");
  } else {
    std::vector<unsigned char> buf(static_cast<size_t>(payload));
    in.read(buf.data(), buf.size(), "the payload");
    auto convert = [&](auto* dst) {
      using T = std::remove_pointer_t<decltype(dst)>;
      for (uint64_t i = 0; i < numel; ++i) {
        const uint64_t v = big_endian(buf.data() + i * type.bytes, type.bytes);
        if constexpr (std::is_same_v<T, float>) {
          dst[i] = std::bit_cast<float>(static_cast<uint32_t>(v));
        } else if constexpr (std::is_same_v<T, double>) {
          dst[i] = std::bit_cast<double>(v);
        } else {
          dst[i] = sign_extend<T>(v, type.bytes);
        }
      }
    };
    if (type.dtype == DType::f32) convert(out.data<float>());
    else if (type.dtype == DType::f64) convert(out.data<double>());
    else convert(out.data<int64_t>());
  }
  in.expect_end(payload);
  return out;
}

Tensor read_idx(const std::string& path, int expected_rank) {
  return parse_idx(read_file_bytes(path, "IDX file"), path, expected_rank);
}

}  // namespace descent::data
