#pragma once
// flock(2) on a file in the state dir. The lock belongs to the open file description, so it
// excludes other processes and other threads of this one alike, and it dies with the
// process: a crash never leaves a stale lock behind.

#include <chrono>
#include <memory>
#include <string>

#include "acme/result.hpp"
#include "acme/unique_fd.hpp"

namespace agent {

class FileLock {
 public:
  // Non-blocking: nullptr (no error) when someone else holds it.
  static acme::Result<std::unique_ptr<FileLock>> try_take(const std::string& path);
  // Waits up to `wait` for the lock; an error naming the path when it stays taken.
  static acme::Result<std::unique_ptr<FileLock>> take(const std::string& path,
                                                      std::chrono::milliseconds wait);
  ~FileLock() = default;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) noexcept : fd_(fd) {}
  acme::UniqueFd fd_;  // closing it releases the lock
};

// STATE/locks/NAME.lock: one renewal per certificate across processes and threads.
acme::Result<std::unique_ptr<FileLock>> try_lock_certificate(const std::string& state_dir,
                                                             const std::string& name);

}  // namespace agent
