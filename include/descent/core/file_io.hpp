#pragma once
// Reading whole files and writing them so that a crash never leaves a half-written one.
// Readers of untrusted formats (IDX, NPY, CSV, safetensors) build on these, so every error
// names the file and says what to do.
#include <cstdint>
#include <string>
#include <string_view>

namespace descent {

// The whole contents of `path`. `what` names the kind of file for the error message
// ("NPY file", "checkpoint"); throws InputError naming the path when it cannot be read.
std::string read_file_bytes(const std::string& path, std::string_view what = "file");

// CRC-32 (zlib's polynomial, as in gzip and PNG) of `bytes`; `crc` continues a running value.
uint32_t crc32_of(std::string_view bytes, uint32_t crc = 0);

// A file that appears at `path` all at once or not at all. Bytes go to a temporary file
// in the same directory (so rename(2) is atomic: same file system); commit() fsyncs it,
// renames it over `path` and fsyncs the directory, so after kill -9 or power loss at any
// moment `path` holds either its previous contents or the complete new ones. Destroyed
// without commit(), it removes the temporary file and leaves `path` untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t bytes);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  void commit();
  const std::string& temporary_path() const { return temp_path_; }

 private:
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// AtomicFile for a buffer already in memory.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace descent
