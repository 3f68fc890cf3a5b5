#include "descent/core/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "descent/core/error.hpp"

namespace descent {
namespace {

std::string parent_directory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string read_file_bytes(const std::string& path, std::string_view what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail<InputError>("{} '{}': cannot open ({}); check the path and its permissions", what, path,
                     std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail<InputError>("{} '{}': not a regular file; give the path of a file", what, path);
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const int err = errno;
      ::close(fd);
      fail<InputError>("{} '{}': read failed after {} of {} bytes ({})", what, path, done,
                       bytes.size(), got == 0 ? "file shrank while reading" : std::strerror(err));
    }
    done += static_cast<size_t>(got);
  }
  ::close(fd);
  return bytes;
}

uint32_t crc32_of(std::string_view bytes, uint32_t crc) {
  uLong c = crc;
  const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
  size_t left = bytes.size();
  while (left > 0) {  // zlib takes uInt lengths: feed files above 4 GiB in pieces
    const size_t n = std::min<size_t>(left, std::numeric_limits<uInt>::max());
    c = ::crc32(c, p, static_cast<uInt>(n));
    p += n;
    left -= n;
  }
  return static_cast<uint32_t>(c);
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  temp_path_ = path_ + ".tmp.XXXXXX";
  fd_ = ::mkstemp(temp_path_.data());
  if (fd_ < 0)
    fail<InputError>("cannot create a temporary file next to '{}' ({}); is the directory '{}' "
                     "writable?",
                     path_, std::strerror(errno), parent_directory(path_));
  ::fchmod(fd_, 0644);  // mkstemp makes 0600; checkpoints are meant to be shared
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t bytes) {
  DESCENT_CHECK(fd_ >= 0 && !committed_, Error, "AtomicFile '{}': write after commit", path_);
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t put = ::write(fd_, p, bytes);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0)
      fail<InputError>("writing '{}' failed ({}); is the disk full?", temp_path_,
                       std::strerror(errno));
    p += put;
    bytes -= static_cast<size_t>(put);
  }
}

void AtomicFile::commit() {
  DESCENT_CHECK(fd_ >= 0 && !committed_, Error, "AtomicFile '{}': committed twice", path_);
  if (::fsync(fd_) != 0)
    fail<InputError>("fsync of '{}' failed ({}); the file was not written", temp_path_,
                     std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    fail<InputError>("cannot rename '{}' to '{}' ({})", temp_path_, path_, std::strerror(errno));
  committed_ = true;
  // The rename lives in the directory entry: without this fsync a power loss could undo it.
  const int dir = ::open(parent_directory(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

}  // namespace descent
