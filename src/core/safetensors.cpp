#include "descent/core/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/core/file_io.hpp"

namespace descent {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; a big-endian port must byte-swap");

// The reference implementation's own cap: a longer header is an attack, not a checkpoint.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

const char* safetensors_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i64: return "I64";
    case DType::u8: return "U8";
  }
  return "?";
}

// Where the bytes come from: memory (fuzzing, tests) or a file read in place.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  virtual void read(uint64_t offset, void* dst, size_t n) const = 0;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  void read(uint64_t offset, void* dst, size_t n) const override {
    if (n > 0) std::memcpy(dst, bytes_.data() + offset, n);
  }

 private:
  std::string_view bytes_;
};

class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
      fail<InputError>("safetensors file '{}': cannot open ({}); check the path", path,
                       std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      fail<InputError>("safetensors file '{}': not a regular file", path);
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~FileSource() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, void* dst, size_t n) const override {
    char* p = static_cast<char*>(dst);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0)
        fail<InputError>("safetensors file '{}': read failed at byte {} ({})", path_, offset,
                         got == 0 ? "file shrank while reading" : std::strerror(errno));
      p += got;
      n -= static_cast<size_t>(got);
      offset += static_cast<uint64_t>(got);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

DType parse_dtype(const std::string& s, const std::string& file, const std::string& tensor) {
  if (s == "F32") return DType::f32;
  if (s == "F64") return DType::f64;
  if (s == "I64") return DType::i64;
  if (s == "U8" || s == "BOOL") return DType::u8;
  fail<InputError>("safetensors file '{}': tensor '{}' has dtype '{}', which descent does not "
                   "read (F32, F64, I64, U8, BOOL); convert it before loading",
                   file, tensor, s);
}

uint64_t non_negative_integer(const nlohmann::json& v, const std::string& file,
                              const std::string& tensor, const char* field) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  fail<InputError>("safetensors file '{}': tensor '{}': '{}' must hold non-negative integers, "
                   "found {}",
                   file, tensor, field, v.dump().substr(0, 40));
}

Entry parse_entry(const std::string& name, const nlohmann::json& info, const std::string& file) {
  auto bad = [&](const char* what) {
    fail<InputError>("safetensors file '{}': tensor '{}': {}", file, name, what);
  };
  if (!info.is_object()) bad("entry is not a JSON object");
  const auto dt = info.find("dtype");
  const auto sh = info.find("shape");
  const auto off = info.find("data_offsets");
  if (dt == info.end() || !dt->is_string()) bad("missing string field 'dtype'");
  if (sh == info.end() || !sh->is_array()) bad("missing array field 'shape'");
  if (off == info.end() || !off->is_array() || off->size() != 2)
    bad("missing field 'data_offsets' = [begin, end]");
  Entry e;
  e.name = name;
  e.dtype = parse_dtype(dt->get<std::string>(), file, name);
  if (sh->size() > static_cast<size_t>(Shape::kMaxRank))
    fail<InputError>("safetensors file '{}': tensor '{}' has rank {}; descent supports at most {}",
                     file, name, sh->size(), Shape::kMaxRank);
  uint64_t numel = 1;
  bool overflow = false, has_zero_extent = false;
  for (const auto& d : *sh) {
    const uint64_t extent = non_negative_integer(d, file, name, "shape");
    if (extent > static_cast<uint64_t>(INT64_MAX)) overflow = true;
    has_zero_extent = has_zero_extent || extent == 0;
    e.shape.push_back(static_cast<int64_t>(extent));
    // Non-zero extents only: [2^40, 2^40, 0] is empty but would still overflow the int64
    // product in Shape::numel, so it is rejected too.
    overflow = overflow || __builtin_mul_overflow(numel, extent == 0 ? 1 : extent, &numel) ||
               numel > static_cast<uint64_t>(INT64_MAX);
  }
  e.begin = non_negative_integer((*off)[0], file, name, "data_offsets");
  e.end = non_negative_integer((*off)[1], file, name, "data_offsets");
  if (e.begin > e.end) bad("data_offsets has begin > end");
  uint64_t bytes = 0;
  overflow = overflow || __builtin_mul_overflow(numel, dtype_size(e.dtype), &bytes);
  if (has_zero_extent && !overflow) bytes = 0;
  if (overflow || bytes != e.end - e.begin)
    fail<InputError>("safetensors file '{}': tensor '{}' of shape {} and dtype {} needs {} bytes "
                     "but data_offsets [{}, {}] span {}; the header is corrupted",
                     file, name, e.shape, dtype_name(e.dtype),
                     overflow ? std::string("more than 2^63") : std::to_string(bytes), e.begin,
                     e.end, e.end - e.begin);
  return e;
}

nlohmann::json parse_header_json(const std::string& text, const std::string& file) {
  // Only three levels are legal (header, entry, shape list): refusing deeper nesting as it
  // is parsed keeps a hostile header from exhausting the stack.
  const nlohmann::json::parser_callback_t limit_depth =
      [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth > 3)
          fail<InputError>("safetensors file '{}': header JSON nests deeper than a safetensors "
                           "header can; the file is corrupted",
                           file);
        return true;
      };
  try {
    return nlohmann::json::parse(text, limit_depth);
  } catch (const nlohmann::json::exception& e) {
    fail<InputError>("safetensors file '{}': header is not valid JSON ({}); the file is "
                     "truncated, corrupted or not a safetensors file",
                     file, e.what());
  }
}

uint32_t parse_checksum(const std::string& text, const std::string& file) {
  uint32_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (text.size() != 8 || ec != std::errc() || ptr != text.data() + text.size())
    fail<InputError>("safetensors file '{}': metadata '{}' = '{}' is not 8 hex digits; the "
                     "header is corrupted",
                     file, kSafetensorsChecksumKey, text.substr(0, 20));
  return value;
}

SafetensorsContents parse(const ByteSource& src, const std::string& file,
                          const SafetensorsLoadOptions& options) {
  const uint64_t size = src.size();
  if (size < 8)
    fail<InputError>("safetensors file '{}' is {} bytes, too short for the 8-byte header "
                     "length; it is truncated or not a safetensors file",
                     file, size);
  unsigned char len_bytes[8];
  src.read(0, len_bytes, 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > size - 8 || header_len > kMaxHeaderBytes)
    fail<InputError>("safetensors file '{}': header length {} exceeds the {} bytes that follow "
                     "it (limit {}); the file is truncated or not a safetensors file",
                     file, header_len, size - 8, kMaxHeaderBytes);
  std::string text(header_len, '\0');
  src.read(8, text.data(), text.size());
  const nlohmann::json header = parse_header_json(text, file);
  if (!header.is_object())
    fail<InputError>("safetensors file '{}': header is not a JSON object", file);

  SafetensorsContents out;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        fail<InputError>("safetensors file '{}': __metadata__ is not a JSON object", file);
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          fail<InputError>("safetensors file '{}': __metadata__ value of '{}' is not a string",
                           file, mk);
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(key, value, file));
  }

  // The format requires the tensors to tile the data section exactly: no gaps, no overlap.
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t covered = 0;
  for (const Entry& e : entries) {
    if (e.begin != covered)
      fail<InputError>("safetensors file '{}': tensor '{}' starts at data offset {} but the "
                       "previous tensor ends at {} ({}); the header is corrupted",
                       file, e.name, e.begin, covered, e.begin < covered ? "overlap" : "gap");
    covered = e.end;
  }
  if (covered != data_size)
    fail<InputError>("safetensors file '{}': tensors cover {} bytes of data but the file holds "
                     "{} after the header; the file is {}",
                     file, covered, data_size, covered > data_size ? "truncated" : "corrupted");

  const auto stored = out.metadata.find(kSafetensorsChecksumKey);
  if (stored == out.metadata.end() && options.require_checksum)
    fail<InputError>("safetensors file '{}' has no '{}' checksum in its metadata; it was not "
                     "written by descent, or load it without require_checksum",
                     file, kSafetensorsChecksumKey);

  uint32_t crc = 0;
  for (const Entry& e : entries) {  // in file order, so the running CRC is the section's
    Tensor t = Tensor::empty(e.shape, e.dtype);
    const size_t n = static_cast<size_t>(e.end - e.begin);
    src.read(data_start + e.begin, t.raw(), n);
    crc = crc32_of({static_cast<const char*>(t.raw()), n}, crc);
    out.tensors.emplace(e.name, std::move(t));
  }
  if (stored != out.metadata.end()) {
    const uint32_t expected = parse_checksum(stored->second, file);
    if (expected != crc)
      fail<InputError>("safetensors file '{}': data checksum mismatch (stored crc32 {:08x}, "
                       "computed {:08x}); the file is corrupted, use an earlier checkpoint",
                       file, expected, crc);
  }
  return out;
}

std::string header_bytes(const TensorMap& tensors, MetadataMap metadata, uint32_t crc) {
  DESCENT_CHECK(!metadata.count(kSafetensorsChecksumKey), InputError,
                "save_safetensors: metadata key '{}' is reserved for the checksum; rename it",
                kSafetensorsChecksumKey);
  metadata[kSafetensorsChecksumKey] = fmt::format("{:08x}", crc);
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", safetensors_dtype(t.dtype())},
                    {"shape", t.shape().vec()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception&) {
    fail<InputError>("save_safetensors: tensor names and metadata must be valid UTF-8 (the "
                     "header is JSON); re-encode them");
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  return out + text;
}

uint32_t data_crc(const TensorMap& tensors) {
  uint32_t crc = 0;
  for (const auto& [name, t] : tensors) {
    DESCENT_CHECK(t.defined(), InputError, "save_safetensors: tensor '{}' is undefined", name);
    DESCENT_CHECK(!name.empty() && name != "__metadata__", InputError,
                  "save_safetensors: '{}' cannot name a tensor; choose another name", name);
    crc = crc32_of({static_cast<const char*>(t.raw()), t.nbytes()}, crc);
  }
  return crc;
}

}  // namespace

std::string serialize_safetensors(const TensorMap& tensors, const MetadataMap& metadata) {
  std::string out = header_bytes(tensors, metadata, data_crc(tensors));
  for (const auto& [name, t] : tensors) out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const MetadataMap& metadata) {
  const std::string header = header_bytes(tensors, metadata, data_crc(tensors));
  AtomicFile file(path);
  file.write(header);
  for (const auto& [name, t] : tensors) file.write(t.raw(), t.nbytes());
  file.commit();
}

SafetensorsContents parse_safetensors(std::string_view bytes, const std::string& name,
                                      const SafetensorsLoadOptions& options) {
  return parse(MemorySource(bytes), name, options);
}

SafetensorsContents load_safetensors(const std::string& path, const SafetensorsLoadOptions& options) {
  return parse(FileSource(path), path, options);
}

}  // namespace descent
