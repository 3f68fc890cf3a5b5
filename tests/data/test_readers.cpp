// IDX, NPY and CSV readers: round trips, NumPy as a peer, and every kind of bad input
// giving an InputError that names the file.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "common/peer.hpp"
#include "descent/core/file_io.hpp"
#include "descent/core/rng.hpp"
#include "descent/data/dataset.hpp"
#include "descent/data/readers.hpp"

using namespace descent;
using namespace descent::data;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("descent_readers_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
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

std::string idx_bytes(unsigned char type, const std::vector<uint32_t>& dims, const std::string& payload) {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((d >> s) & 0xff);
  return out + payload;
}

std::string gzip(const std::string& raw) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, raw.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string image_payload(int n) {
  std::string p;
  for (int i = 0; i < n * 2 * 3; ++i) p += static_cast<char>(i * 7 % 256);
  return p;
}

}  // namespace

// ---------------------------------------------------------------- IDX

TEST(Idx, RawAndGzipReadTheSameUnsignedBytes) {
  const std::string raw = idx_bytes(0x08, {4, 2, 3}, image_payload(4));
  for (const std::string& bytes : {raw, gzip(raw)}) {
    const Tensor t = parse_idx(bytes, "imgs", 3);
    EXPECT_EQ(t.dtype(), DType::u8);
    EXPECT_EQ(t.shape(), Shape({4, 2, 3}));
    EXPECT_EQ(t.at(5), 35);
    EXPECT_EQ(t.at(23), 23 * 7 % 256);
  }
}

TEST(Idx, WiderTypesAreBigEndianAndSigned) {
  const std::string shorts{'\xff', '\xfe', '\x01', '\x00'};  // -2, 256
  const Tensor s = parse_idx(idx_bytes(0x0B, {2}, shorts), "s");
  EXPECT_EQ(s.dtype(), DType::i64);
  EXPECT_EQ(s.at(0), -2);
  EXPECT_EQ(s.at(1), 256);
  const std::string one_point_five{'\x3f', '\xc0', '\x00', '\x00'};
  EXPECT_EQ(parse_idx(idx_bytes(0x0D, {1}, one_point_five), "f").at(0), 1.5);
}

TEST(Idx, EveryTruncationOfRawAndGzipIsAnInputErrorNamingTheFile) {
  const std::string raw = idx_bytes(0x08, {3, 2, 3}, image_payload(3));
  const std::string gz = gzip(raw);
  for (const std::string* bytes : {&raw, &gz})
    for (size_t len = 0; len < bytes->size(); ++len) {
      const std::string msg = input_error_of([&] { parse_idx(bytes->substr(0, len), "cut.idx"); });
      ASSERT_NE(msg.find("'cut.idx'"), std::string::npos) << len << ": " << msg;
    }
}

TEST(Idx, ExtraBytesAndCorruptedGzipAreRejected) {
  const std::string raw = idx_bytes(0x08, {3, 2, 3}, image_payload(3));
  EXPECT_NE(input_error_of([&] { parse_idx(raw + "x", "x.idx"); }).find("more data than its dims"),
            std::string::npos);
  std::string gz = gzip(raw);
  gz[gz.size() - 6] ^= 0x10;  // inside the stored CRC-32
  EXPECT_NE(input_error_of([&] { parse_idx(gz, "x.gz"); }).find("corrupted"), std::string::npos);
}

TEST(Idx, LyingHeaderIsRejectedBeforeAllocating) {
  // 65535^3 bytes claimed by a 20-byte file.
  const std::string lie = idx_bytes(0x08, {65535, 65535, 65535}, "abcd");
  const std::string raw_msg = input_error_of([&] { parse_idx(lie, "lie.idx"); });
  EXPECT_NE(raw_msg.find("holds only 4"), std::string::npos) << raw_msg;
  const std::string gz_msg = input_error_of([&] { parse_idx(gzip(lie), "lie.gz"); });
  EXPECT_NE(gz_msg.find("cannot inflate to more than"), std::string::npos) << gz_msg;
  const std::string empty_but_huge = idx_bytes(0x08, {65535, 65535, 65535, 65535, 65535, 0}, "");
  EXPECT_NE(input_error_of([&] { parse_idx(empty_but_huge, "e.idx"); }).find("over 2^48"), std::string::npos);
  EXPECT_EQ(parse_idx(idx_bytes(0x08, {0, 28, 28}, ""), "none.idx").shape(), Shape({0, 28, 28}));
}

TEST(Idx, WrongRankOrNotIdxStatesTheExpectedMagic) {
  const std::string labels = idx_bytes(0x08, {3}, "abc");
  const std::string msg = input_error_of([&] { parse_idx(labels, "labels.idx", 3); });
  EXPECT_NE(msg.find("expected magic 0x00000803, found 0x00000801"), std::string::npos) << msg;
  EXPECT_NE(input_error_of([&] { parse_idx("PK\3\4 zip file", "a.zip"); }).find("not an IDX header"),
            std::string::npos);
  const std::string missing = input_error_of([&] { read_idx("/nonexistent/x.idx"); });
  EXPECT_NE(missing.find("'/nonexistent/x.idx': cannot open"), std::string::npos) << missing;
}

// ---------------------------------------------------------------- NPY

TEST(Npy, RoundTripEveryDtypeAndRank) {
  Rng rng(1);
  for (const Tensor& t : {rng.normal_tensor({3, 4}, DType::f32), rng.normal_tensor({5}, DType::f64),
                          Tensor::from_vector(std::vector<int64_t>{-1, 2, 3, 4, 5, 6}, {1, 2, 3}),
                          Tensor::from_vector(std::vector<uint8_t>{0, 255}, {2}),
                          Tensor::scalar(3.0, DType::f64), Tensor::zeros({0, 3})}) {
    const std::string bytes = serialize_npy(t);
    EXPECT_EQ((bytes.size() - t.nbytes()) % 64, 0u) << "data must start 64-byte aligned";
    const Tensor back = parse_npy(bytes, "t.npy");
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_EQ(back.dtype(), t.dtype());
    EXPECT_EQ(0, std::memcmp(back.raw(), t.raw(), t.nbytes()));
  }
}

TEST(Npy, EveryTruncationIsAnInputErrorNamingTheFile) {
  const std::string bytes = serialize_npy(Rng(2).normal_tensor({2, 3}, DType::f64));
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::string msg = input_error_of([&] { parse_npy(bytes.substr(0, len), "cut.npy"); });
    ASSERT_NE(msg.find("'cut.npy'"), std::string::npos) << len << ": " << msg;
  }
  EXPECT_NE(input_error_of([&] { parse_npy(bytes + "zz", "long.npy"); }).find("extra bytes"),
            std::string::npos);
  // An empty array whose other extents overflow int64 is corrupt, not empty.
  std::string huge_empty = serialize_npy(Tensor::zeros({0, 3}));
  const auto shape_at = huge_empty.find("(0, 3)");
  const std::string huge_shape = "(99999999999999, 99999999999999, 0)";
  huge_empty.replace(shape_at, 6, huge_shape);
  huge_empty[8] = static_cast<char>(huge_empty[8] + static_cast<char>(huge_shape.size() - 6));
  const std::string msg = input_error_of([&] { parse_npy(huge_empty, "he.npy"); });
  EXPECT_NE(msg.find("more than 2^62 elements"), std::string::npos) << msg;
  EXPECT_EQ(parse_npy(serialize_npy(Tensor::zeros({0, 1000000})), "wide.npy").shape(),
            Shape({0, 1000000}));
}

TEST(Npy, NumpyReadsOursAndWeReadNumpysIncludingVersion2) {
  DESCENT_REQUIRE_PEER(python, "numpy");
  const fs::path dir = fresh_dir("npy_peer");
  const Tensor ours = Rng(3).normal_tensor({4, 3}, DType::f32);
  save_npy((dir / "ours.npy").string(), ours);
  const std::string script = R"(
import sys, numpy as np
d = sys.argv[1]
a = np.load(d + '/ours.npy')
print(a.dtype, a.shape, repr(float(a.astype(np.float64).sum())))
np.save(d + '/f8.npy', np.arange(6, dtype='<f8').reshape(2, 3) / 4)
np.save(d + '/i8.npy', np.array([-5, 7], dtype='<i8'))
np.save(d + '/b1.npy', np.array([True, False, True]))
with open(d + '/v2.npy', 'wb') as f:
    np.lib.format.write_array(f, np.full((2, 2), 9, dtype='u1'), version=(2, 0))
np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3))))
np.save(d + '/i4.npy', np.array([1, 2], dtype='<i4'))
np.save(d + '/big.npy', np.array([1.0], dtype='>f8'))
)";
  { std::ofstream(dir / "peer.py") << script; }
  const auto out = descent::testing::run_command(python + " " + (dir / "peer.py").string() + " " + dir.string());
  ASSERT_TRUE(out);
  double sum = 0;
  for (int64_t i = 0; i < ours.numel(); ++i) sum += ours.at(i);
  EXPECT_EQ(out->substr(0, out->rfind(' ')), "float32 (4, 3)");
  EXPECT_NEAR(std::stod(out->substr(out->rfind(' '))), sum, 1e-9);

  const Tensor f8 = read_npy((dir / "f8.npy").string());
  EXPECT_EQ(f8.shape(), Shape({2, 3}));
  EXPECT_EQ(f8.at(5), 1.25);
  EXPECT_EQ(read_npy((dir / "i8.npy").string()).at(0), -5);
  EXPECT_EQ(read_npy((dir / "b1.npy").string()).to_vector(), (std::vector<double>{1, 0, 1}));
  EXPECT_EQ(read_npy((dir / "v2.npy").string()).at(3), 9);
  EXPECT_NE(input_error_of([&] { read_npy((dir / "fortran.npy").string()); }).find("np.ascontiguousarray"),
            std::string::npos);
  const std::string i4 = input_error_of([&] { read_npy((dir / "i4.npy").string()); });
  EXPECT_NE(i4.find("dtype '<i4'"), std::string::npos) << i4;
  EXPECT_NE(i4.find((dir / "i4.npy").string()), std::string::npos) << i4;
  EXPECT_NE(input_error_of([&] { read_npy((dir / "big.npy").string()); }).find("big-endian"),
            std::string::npos);
  fs::remove_all(dir);
}

// ---------------------------------------------------------------- CSV

TEST(Csv, HeaderQuotesBlankLinesAndCrlf) {
  const CsvTable t = parse_csv("\"x1\", x2 ,label\r\n1.5, -2,0\r\n\r\n+3,\"4e1\",1\r\n", "t.csv");
  EXPECT_EQ(t.column_names, (std::vector<std::string>{"x1", "x2", "label"}));
  EXPECT_EQ(t.values.shape(), Shape({2, 3}));
  EXPECT_EQ(t.values.to_vector(), (std::vector<double>{1.5, -2, 0, 3, 40, 1}));
  EXPECT_EQ(t.first_data_line, 2);
  const CsvTable bare = parse_csv("1;2\n3;4", "b.csv", {.delimiter = ';'});
  EXPECT_TRUE(bare.column_names.empty());
  EXPECT_EQ(bare.values.at(3), 4);
}

TEST(Csv, FirstBadFieldIsReportedByLineAndColumn) {
  const std::string msg = input_error_of([&] { parse_csv("a,b\n1,2\n3,x7\n", "bad.csv"); });
  EXPECT_NE(msg.find("CSV file 'bad.csv', line 3, column 2: 'x7' is not a number"), std::string::npos)
      << msg;
  const std::string width = input_error_of([&] { parse_csv("1,2\n3,4,5\n", "w.csv"); });
  EXPECT_NE(width.find("line 2: 3 fields, but line 1 has 2"), std::string::npos) << width;
  EXPECT_NE(input_error_of([&] { parse_csv("a,b\n", "h.csv"); }).find("no data rows"), std::string::npos);
  EXPECT_NE(input_error_of([&] { parse_csv("1,,2\n", "e.csv"); }).find("column 2: ''"), std::string::npos);
}

TEST(Csv, DatasetFromCsvChecksLabels) {
  const CsvTable t = parse_csv("f1,f2,y\n0.5,1,2\n0.25,2,0\n", "d.csv");
  const Dataset d = dataset_from_csv(t, "d.csv", -1, 3);
  EXPECT_EQ(d.inputs.shape(), Shape({2, 2}));
  EXPECT_EQ(d.targets.dtype(), DType::i64);
  EXPECT_EQ(d.targets.to_vector(), (std::vector<double>{2, 0}));
  EXPECT_EQ(d.inputs.at(2), 0.25);
  const std::string msg = input_error_of([&] { dataset_from_csv(t, "d.csv", -1, 2); });
  EXPECT_NE(msg.find("line 2, column 3: label 2 is not an integer in [0, 2)"), std::string::npos) << msg;
  const Dataset r = dataset_from_csv(t, "d.csv", 0, 0);
  EXPECT_EQ(r.targets.to_vector(), (std::vector<double>{0.5, 0.25}));
}
