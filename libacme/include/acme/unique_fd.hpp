#pragma once
// UniqueFd: owns one file descriptor and closes it exactly once (ARCHITECTURE.md: every
// handle is owned from the moment it exists). The one RAII fd class of the project.
//
// Contract: a UniqueFd holding -1 (or any negative value) owns nothing. reset() and the
// destructor close the held descriptor and ignore close()'s result: after close() the
// descriptor is released even on EINTR (Linux), so retrying would close someone else's.

#include <unistd.h>

#include <utility>

namespace acme {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueFd() noexcept { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Gives up ownership: the caller closes the returned descriptor.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  // Closes the held descriptor (if any) and takes `fd`.
  void reset(int fd = -1) noexcept {
    const int old = std::exchange(fd_, fd);
    if (old >= 0 && old != fd) ::close(old);
  }

 private:
  int fd_ = -1;
};

}  // namespace acme
