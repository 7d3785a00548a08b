#include "base/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "deploy/files.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

acme::Result<int> open_lock_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return make_error(Errc::kIo, "lock " + path + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

acme::Result<std::unique_ptr<FileLock>> FileLock::try_take(const std::string& path) {
  ACME_ASSIGN(const int fd, open_lock_file(path));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return std::unique_ptr<FileLock>();
    return make_error(Errc::kIo, "lock " + path + ": " + std::strerror(err));
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

acme::Result<std::unique_ptr<FileLock>> FileLock::take(const std::string& path,
                                                       std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    ACME_ASSIGN(auto lock, try_take(path));
    if (lock) return lock;
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(Errc::kIo, "lock " + path + " is held by another acmectl for more than " +
                                       std::to_string(wait.count() / 1000) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

acme::Result<std::unique_ptr<FileLock>> try_lock_certificate(const std::string& state_dir,
                                                             const std::string& name) {
  ACME_CHECK(make_dirs(state_dir + "/locks", 0700));
  return FileLock::try_take(state_dir + "/locks/" + name + ".lock");
}

}  // namespace agent
