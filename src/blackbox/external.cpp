#include "descent/blackbox/external.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "descent/core/error.hpp"

namespace descent::blackbox {
namespace {

double run_once(const std::string& command, double timeout, const Vector& x) {
  std::string input;
  for (Eigen::Index i = 0; i < x.size(); ++i) input += fmt::format("{}{:.17g}", i ? " " : "", x[i]);
  input += "\n";
  // Close-on-exec: when a thread pool runs several commands at once, a child forked by one
  // thread must not keep another evaluation's pipe ends open (that evaluation would then
  // wait for an end-of-file until this child exits). dup2 onto 0 and 1 clears the flag.
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) fail<Error>("external command: pipe failed: {}", std::strerror(errno));
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    fail<Error>("external command: pipe failed: {}", std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) fail<Error>("external command: fork failed: {}", std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);  // own process group, so a time-out kills its children too
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  // The input is written as the command accepts it, inside the same poll loop that reads
  // its output and watches the deadline: a command that never reads a long x (more than a
  // pipe buffer, 64 KiB) would otherwise block the write forever. A command that exits
  // without reading gives EPIPE, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  ::fcntl(in_pipe[1], F_SETFL, ::fcntl(in_pipe[1], F_GETFL) | O_NONBLOCK);
  int in_fd = in_pipe[1];
  size_t written = 0;

  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout > 0 ? timeout : 1e9);
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    const double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p[2] = {{out_pipe[0], POLLIN, 0}, {in_fd, POLLOUT, 0}};
    const int ready = ::poll(p, in_fd >= 0 ? 2 : 1, static_cast<int>(std::min(left * 1000.0, 1e9)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    if (in_fd >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = ::write(in_fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) written = input.size();  // EPIPE: it stopped reading
      if (written == input.size()) {
        ::close(in_fd);
        in_fd = -1;
      }
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the command closed its output
    if (out.size() < (1u << 20)) out.append(buf, static_cast<size_t>(n));
  }
  if (in_fd >= 0) ::close(in_fd);
  ::close(out_pipe[0]);
  if (timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  // After EOF the command may still be running: wait for it until the deadline as well.
  while (!timed_out) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    ::usleep(1000);
  }
  if (timed_out) {
    ::waitpid(pid, &status, 0);
    fail<Error>("external command timed out after {} s", timeout);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail<Error>("external command failed ({})", WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                                                   : fmt::format("signal {}", WTERMSIG(status)));
  const char* s = out.c_str();
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') ++s;
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s) fail<Error>("external command printed no number (output: '{}')", out.substr(0, 80));
  return v;
}

}  // namespace

Function external_command(std::string command, double timeout_seconds) {
  DESCENT_CHECK(!command.empty(), InputError, "external command: the command is empty");
  return [command = std::move(command), timeout_seconds](const Vector& x) { return run_once(command, timeout_seconds, x); };
}

}  // namespace descent::blackbox
