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

// Output checks a command makes before any expensive work, so that nothing a user owns is
// overwritten and no long computation is lost to an unwritable path at its end. `flag` names
// the setting in messages ("--out"); `remedy` says what to do when the path already exists
// ("pass --overwrite to replace it"). Both throw InputError; neither creates anything.
//
// A folder of outputs: refuses an empty path, a path that is a file, an existing non-empty
// folder unless `allow_existing`, and a folder that could not be created or written (its
// nearest existing ancestor is not a writable folder).
void check_output_folder(const std::string& path, std::string_view flag, bool allow_existing,
                         std::string_view remedy = "choose another folder or pass --overwrite");
// A single output file: refuses an empty path, a folder, an existing file unless
// `allow_existing`, and a file whose folder does not exist or is not writable.
void check_output_file(const std::string& path, std::string_view flag, bool allow_existing,
                       std::string_view remedy = "choose another path or pass --overwrite");

}  // namespace descent
