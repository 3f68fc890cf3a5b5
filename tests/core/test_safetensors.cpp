// Checkpoints: the safetensors layout, corruption detection and crash-safe saving.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "common/peer.hpp"
#include "descent/core/file_io.hpp"
#include "descent/core/rng.hpp"
#include "descent/core/safetensors.hpp"

using namespace descent;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("descent_safetensors_" + name + "_" +
                                                    std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TensorMap sample_tensors(uint64_t seed) {
  Rng rng(seed);
  TensorMap m;
  m["layer0.weight"] = rng.normal_tensor({3, 4}, DType::f32);
  m["layer0.bias"] = rng.normal_tensor({4}, DType::f64);
  m["step"] = Tensor::from_vector(std::vector<int64_t>{7, -2}, {2});
  m["mask"] = Tensor::from_vector(std::vector<uint8_t>{1, 0, 1}, {3});
  m["scalar"] = Tensor::scalar(2.5, DType::f32);
  m["empty"] = Tensor::zeros({0, 5}, DType::f32);
  return m;
}

void expect_same(const TensorMap& a, const TensorMap& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    const Tensor& u = b.at(name);
    EXPECT_EQ(t.dtype(), u.dtype()) << name;
    EXPECT_EQ(t.shape(), u.shape()) << name;
    ASSERT_EQ(t.nbytes(), u.nbytes());
    EXPECT_EQ(0, std::memcmp(t.raw(), u.raw(), t.nbytes())) << name;
  }
}

uint64_t header_length(const std::string& bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  return n;
}

// Replaces the JSON header of a valid file by `header` (padded), keeping its data section.
std::string with_header(const std::string& valid, std::string header) {
  const std::string data = valid.substr(8 + header_length(valid));
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
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

}  // namespace

TEST(Safetensors, RoundTripKeepsEveryDtypeShapeAndMetadata) {
  const fs::path dir = fresh_dir("roundtrip");
  const std::string path = (dir / "ckpt.safetensors").string();
  const TensorMap tensors = sample_tensors(1);
  save_safetensors(path, tensors, {{"epoch", "3"}, {"optimizer", "adam"}});
  const SafetensorsContents back = load_safetensors(path, {.require_checksum = true});
  expect_same(tensors, back.tensors);
  EXPECT_EQ(back.metadata.at("epoch"), "3");
  EXPECT_EQ(back.metadata.at("optimizer"), "adam");
  EXPECT_EQ(back.metadata.at(kSafetensorsChecksumKey).size(), 8u);
  // From memory, the same bytes give the same tensors.
  expect_same(tensors, parse_safetensors(read_file_bytes(path), "mem").tensors);
  fs::remove_all(dir);
}

TEST(Safetensors, NamesMustBeValidUtf8AndTheChecksumKeyIsReserved) {
  const TensorMap t{{"w", Tensor::zeros({1})}};
  EXPECT_NE(input_error_of([&] { serialize_safetensors(t, {{"note", "\xff\xfe"}}); }).find("UTF-8"),
            std::string::npos);
  EXPECT_THROW(serialize_safetensors(t, {{kSafetensorsChecksumKey, "0"}}), InputError);
}

TEST(Safetensors, DataSectionStartsEightByteAligned) {
  const std::string bytes = serialize_safetensors(sample_tensors(2), {{"k", "v"}});
  EXPECT_EQ(header_length(bytes) % 8, 0u);
  EXPECT_EQ(bytes[8], '{');
}

TEST(Safetensors, FlippedDataByteIsAChecksumError) {
  const fs::path dir = fresh_dir("crc");
  const std::string path = (dir / "ckpt.safetensors").string();
  save_safetensors(path, sample_tensors(3));
  std::string bytes = read_file_bytes(path);
  bytes[bytes.size() - 10] ^= 0x01;  // a bit of data: the header still parses
  { std::ofstream(path, std::ios::binary) << bytes; }
  const std::string msg = input_error_of([&] { load_safetensors(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("checksum mismatch"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(Safetensors, EveryTruncationIsAnInputErrorNamingTheFile) {
  const std::string bytes = serialize_safetensors(sample_tensors(4));
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::string msg =
        input_error_of([&] { parse_safetensors(std::string_view(bytes).substr(0, len), "cut.st"); });
    ASSERT_NE(msg.find("'cut.st'"), std::string::npos) << "length " << len << ": " << msg;
  }
}

TEST(Safetensors, CorruptHeadersAreRejectedWithTheReason) {
  const TensorMap one{{"w", Tensor::zeros({2, 2}, DType::f32)}};  // 16 data bytes
  const std::string valid = serialize_safetensors(one);
  auto err = [&](const std::string& header) {
    return input_error_of([&] { parse_safetensors(with_header(valid, header), "bad.st"); });
  };
  EXPECT_NE(err(R"({"w":{"dtype":"F16","shape":[2,4],"data_offsets":[0,16]}})").find("dtype 'F16'"),
            std::string::npos);
  EXPECT_NE(err(R"({"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}})").find("needs 24 bytes"),
            std::string::npos);
  EXPECT_NE(err(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})")
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(err(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})").find("cover 8 bytes"),
            std::string::npos);
  EXPECT_NE(err(R"({"w":{"dtype":"F32","shape":[-2,2],"data_offsets":[0,16]}})").find("non-negative"),
            std::string::npos);
  EXPECT_NE(err(R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,16]}})")
                .find("more than 2^63"),
            std::string::npos);
  EXPECT_NE(err(R"({"w":{"dtype":"U8","shape":[1099511627776,1099511627776,0],"data_offsets":[0,16]}})")
                .find("more than 2^63"),
            std::string::npos)
      << "an empty shape whose other extents overflow int64 is corrupt, not empty";
  EXPECT_NE(err(R"({"w":[[[[[[1]]]]]]})").find("nests deeper"), std::string::npos);
  EXPECT_NE(err(R"({"w":{"dtype":"F32")").find("not valid JSON"), std::string::npos);
  EXPECT_NE(err(R"({"__metadata__":{"descent.data_crc32":"zz"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})")
                .find("not 8 hex digits"),
            std::string::npos);
}

TEST(Safetensors, RequireChecksumRejectsForeignFiles) {
  const std::string valid = serialize_safetensors({{"w", Tensor::zeros({2}, DType::f32)}});
  const std::string foreign =
      with_header(valid, R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})");
  EXPECT_EQ(parse_safetensors(foreign, "f.st").tensors.at("w").numel(), 2);
  EXPECT_NE(input_error_of([&] { parse_safetensors(foreign, "f.st", {.require_checksum = true}); })
                .find("no 'descent.data_crc32' checksum"),
            std::string::npos);
}

TEST(Safetensors, InterruptedSaveLeavesThePreviousCheckpoint) {
  const fs::path dir = fresh_dir("atomic");
  const std::string path = (dir / "ckpt.safetensors").string();
  const TensorMap old_tensors = sample_tensors(5);
  save_safetensors(path, old_tensors, {{"step", "100"}});
  const std::string new_bytes = serialize_safetensors(sample_tensors(6), {{"step", "200"}});
  EXPECT_THROW(
      {
        AtomicFile file(path);
        file.write(std::string_view(new_bytes).substr(0, new_bytes.size() / 2));
        throw std::runtime_error("simulated crash before rename");
      },
      std::runtime_error);
  const SafetensorsContents back = load_safetensors(path, {.require_checksum = true});
  EXPECT_EQ(back.metadata.at("step"), "100");
  expect_same(old_tensors, back.tensors);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1)
      << "the abandoned temporary file was not removed";
  fs::remove_all(dir);
}

// The claim itself: kill -9 at an arbitrary moment of a save loop, then load. The child
// reports each completed save through a pipe; the parent kills it a varying time after
// the first few, i.e. somewhere inside a later save, however slow the machine is.
TEST(Safetensors, KillDashNineDuringSavesLeavesALoadableCheckpoint) {
  const fs::path dir = fresh_dir("kill");
  const std::string path = (dir / "ckpt.safetensors").string();
  save_safetensors(path, sample_tensors(0), {{"step", "0"}});
  for (int trial = 0; trial < 8; ++trial) {
    int saved[2];
    ASSERT_EQ(::pipe(saved), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(saved[0]);
      TensorMap big{{"w", Tensor::zeros({1 << 18}, DType::f32)}};
      for (int step = 1;; ++step) {
        big["w"].fill(step);
        save_safetensors(path, big, {{"step", std::to_string(step)}});
        const char done = 1;
        if (::write(saved[1], &done, 1) != 1) ::_exit(1);
      }
    }
    ::close(saved[1]);
    char done;
    for (int i = 0; i < 1 + trial % 3; ++i) ASSERT_EQ(::read(saved[0], &done, 1), 1);
    ::usleep(static_cast<useconds_t>(500 * trial));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ::close(saved[0]);
    const SafetensorsContents back = load_safetensors(path, {.require_checksum = true});
    const int step = std::stoi(back.metadata.at("step"));
    EXPECT_GE(step, 1 + trial % 3);
    EXPECT_EQ(back.tensors.at("w").at(12345), step) << "tensor and metadata from different saves";
  }
  fs::remove_all(dir);  // also removes temporaries orphaned by the kills
}

TEST(Safetensors, NumpyReadsOurFileAndWeReadNumpys) {
  DESCENT_REQUIRE_PEER(python, "numpy");
  const fs::path dir = fresh_dir("peer");
  const std::string ours = (dir / "ours.safetensors").string();
  const std::string theirs = (dir / "theirs.safetensors").string();
  Rng rng(9);
  const Tensor w = rng.normal_tensor({5, 3}, DType::f32);
  save_safetensors(ours, {{"w", w}, {"n", Tensor::from_vector(std::vector<int64_t>{4, 5}, {2})}},
                   {{"note", "hi"}});
  // A reader of the published layout, written from the spec with struct + json + numpy.
  const std::string script = R"(
import json, struct, sys, zlib, numpy as np
def read(path):
    b = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', b[:8]); h = json.loads(b[8:8 + n]); data = b[8 + n:]
    meta = h.pop('__metadata__', {})
    if 'descent.data_crc32' in meta: assert int(meta['descent.data_crc32'], 16) == zlib.crc32(data)
    dt = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8', 'U8': 'u1'}
    return {k: np.frombuffer(data[v['data_offsets'][0]:v['data_offsets'][1]], dt[v['dtype']]).reshape(v['shape']) for k, v in h.items()}, meta
t, meta = read(sys.argv[1])
print(repr(float(t['w'].astype(np.float64).sum())), t['w'].shape, t['n'].tolist(), meta['note'])
x = np.arange(6, dtype='<f8').reshape(2, 3) * 0.5
hdr = json.dumps({'x': {'dtype': 'F64', 'shape': [2, 3], 'data_offsets': [0, 48]}}).encode()
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(hdr)) + hdr + x.tobytes())
)";
  const std::string script_path = (dir / "peer.py").string();
  { std::ofstream(script_path) << script; }
  const auto out = descent::testing::run_command(python + " " + script_path + " " + ours + " " + theirs);
  ASSERT_TRUE(out) << "python reader failed on our file";
  double expected_sum = 0;
  for (int64_t i = 0; i < w.numel(); ++i) expected_sum += static_cast<double>(static_cast<float>(w.at(i)));
  const double numpy_sum = std::stod(out->substr(0, out->find(' ')));
  EXPECT_NEAR(numpy_sum, expected_sum, 1e-9);
  EXPECT_NE(out->find("(5, 3) [4, 5] hi"), std::string::npos) << *out;
  const Tensor x = load_safetensors(theirs).tensors.at("x");
  EXPECT_EQ(x.dtype(), DType::f64);
  EXPECT_EQ(x.shape(), Shape({2, 3}));
  EXPECT_DOUBLE_EQ(x.at(5), 2.5);
  fs::remove_all(dir);
}
