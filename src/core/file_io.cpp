#include "descent/core/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>

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

namespace descent {
namespace {

namespace fs = std::filesystem;

// The folder that would hold `path` (created if needed): its nearest existing ancestor must
// be a folder this process may write into.
void check_creatable_under(const fs::path& path, std::string_view flag, const std::string& shown) {
  std::error_code ec;
  fs::path ancestor = path.parent_path();
  if (ancestor.empty()) ancestor = ".";
  while (!fs::exists(ancestor, ec) && ancestor.has_parent_path() && ancestor != ancestor.parent_path())
    ancestor = ancestor.parent_path();
  if (!fs::exists(ancestor, ec)) ancestor = ".";
  DESCENT_CHECK(fs::is_directory(ancestor, ec), InputError, "{} '{}': '{}' is a file, not a folder; choose another path",
                flag, shown, ancestor.string());
  DESCENT_CHECK(::access(ancestor.c_str(), W_OK | X_OK) == 0, InputError,
                "{} '{}': cannot write into '{}' ({}); choose a writable place", flag, shown, ancestor.string(),
                std::strerror(errno));
}

}  // namespace

void check_output_folder(const std::string& path, std::string_view flag, bool allow_existing,
                         std::string_view remedy) {
  DESCENT_CHECK(!path.empty(), InputError, "{} is empty; give the path of an output folder", flag);
  std::error_code ec;
  const fs::path p(path);
  const auto status = fs::status(p, ec);
  if (fs::exists(status)) {
    DESCENT_CHECK(fs::is_directory(status), InputError, "{} '{}' is a file, not a folder; choose another path", flag,
                  path);
    if (!allow_existing && !fs::is_empty(p, ec)) {
      std::string names;
      int shown = 0;
      for (const auto& entry : fs::directory_iterator(p, ec)) {
        if (shown++ == 3) {
          names += ", ...";
          break;
        }
        names += (names.empty() ? "" : ", ") + entry.path().filename().string();
      }
      fail<InputError>("{} '{}' already holds files ({}); {}", flag, path, names, remedy);
    }
    DESCENT_CHECK(::access(p.c_str(), W_OK | X_OK) == 0, InputError,
                  "{} '{}': the folder is not writable ({}); choose a writable place", flag, path, std::strerror(errno));
    return;
  }
  check_creatable_under(fs::absolute(p, ec) / "x", flag, path);
}

void check_output_file(const std::string& path, std::string_view flag, bool allow_existing, std::string_view remedy) {
  DESCENT_CHECK(!path.empty(), InputError, "{} is empty; give the path of an output file", flag);
  std::error_code ec;
  const fs::path p(path);
  const auto status = fs::status(p, ec);
  if (fs::exists(status)) {
    DESCENT_CHECK(!fs::is_directory(status), InputError, "{} '{}' is a folder; give the path of a file", flag, path);
    DESCENT_CHECK(allow_existing, InputError, "{} '{}' already exists; {}", flag, path, remedy);
  }
  const fs::path parent = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  const auto parent_status = fs::status(parent, ec);
  DESCENT_CHECK(fs::exists(parent_status), InputError, "{} '{}': the folder '{}' does not exist; create it first", flag,
                path, parent.string());
  DESCENT_CHECK(fs::is_directory(parent_status), InputError, "{} '{}': '{}' is a file, not a folder", flag, path,
                parent.string());
  DESCENT_CHECK(::access(parent.c_str(), W_OK | X_OK) == 0, InputError,
                "{} '{}': cannot write into '{}' ({}); choose a writable place", flag, path, parent.string(),
                std::strerror(errno));
}

}  // namespace descent
