// Writes a few small valid inputs per reader into <dir>/{idx,npy,csv,safetensors}/ so the
// fuzzers start from the formats' structure instead of discovering magic numbers.
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "descent/core/rng.hpp"
#include "descent/core/safetensors.hpp"
#include "descent/data/readers.hpp"

namespace fs = std::filesystem;
using namespace descent;

namespace {

void put(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string idx(unsigned char type, const std::vector<uint32_t>& dims, size_t elem_bytes) {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  size_t n = 1;
  for (uint32_t d : dims) {
    n *= d;
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((d >> s) & 0xff);
  }
  for (size_t i = 0; i < n * elem_bytes; ++i) out += static_cast<char>(i * 37 % 251);
  return out;
}

std::string gzip(const std::string& raw) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, raw.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  Rng rng(1);
  put(root / "idx", "images", idx(0x08, {3, 4, 4}, 1));
  put(root / "idx", "images.gz", gzip(idx(0x08, {3, 4, 4}, 1)));
  put(root / "idx", "labels.gz", gzip(idx(0x08, {10}, 1)));
  put(root / "idx", "floats", idx(0x0D, {2, 3}, 4));
  put(root / "idx", "shorts.gz", gzip(idx(0x0B, {5}, 2)));
  put(root / "npy", "f4", data::serialize_npy(rng.normal_tensor({3, 4}, DType::f32)));
  put(root / "npy", "f8", data::serialize_npy(rng.normal_tensor({5}, DType::f64)));
  put(root / "npy", "i8", data::serialize_npy(Tensor::from_vector(std::vector<int64_t>{1, -2}, {2, 1})));
  put(root / "npy", "scalar", data::serialize_npy(Tensor::scalar(1.0, DType::f64)));
  put(root / "csv", "header", "x1,x2,label\n0.5,-1e3,1\n2,+3.25,0\n");
  put(root / "csv", "bare", "1;2;3\r\n4;5;6\r\n\r\n\"7\";8;nan\n");
  put(root / "safetensors", "two",
      serialize_safetensors({{"w", rng.normal_tensor({2, 3}, DType::f32)},
                             {"step", Tensor::from_vector(std::vector<int64_t>{3}, {1})}},
                            {{"epoch", "1"}}));
  put(root / "safetensors", "mixed",
      serialize_safetensors({{"a", Tensor::zeros({0}, DType::f64)},
                             {"m", Tensor::from_vector(std::vector<uint8_t>{1, 0}, {2})}}));
  return 0;
}
