#include "deploy/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace agent {
namespace {

using acme::Errc;
using acme::make_error;

acme::Error io_error(const std::string& what, const std::string& path, int err) {
  return make_error(Errc::kIo, what + " " + path + ": " + std::strerror(err));
}

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string temp_name(const std::string& path) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string dir = dir_of(path);
  const std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
  return dir + "/." + base + ".tmp-" + suffix;
}

class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

acme::Result<void> fsync_dir(const std::string& dir) {
  FdGuard fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return io_error("open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return io_error("fsync directory", dir, errno);
  return acme::ok();
}

// Writes data to a new temp file next to path; returns the temp file's name.
acme::Result<std::string> write_temp(const std::string& path, const std::string& data,
                                     mode_t mode) {
  const std::string tmp = temp_name(path);
  FdGuard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (fd.get() < 0) return io_error("create", tmp, errno);
  auto fail = [&](const char* what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error(what, tmp, err);
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("chmod");
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      return fail("write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("fsync");
  if (::close(fd.release()) != 0) return fail("close");
  return tmp;
}

}  // namespace

acme::Result<void> make_dirs(const std::string& dir, mode_t mode) {
  if (dir.empty()) return make_error(Errc::kInvalidInput, "empty directory name");
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) {
      return io_error("mkdir", partial, errno);
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return make_error(Errc::kIo, dir + " is not a directory");
  }
  return acme::ok();
}

acme::Result<void> atomic_write(const std::string& path, const std::string& data, mode_t mode) {
  ACME_ASSIGN(auto tmp, write_temp(path, data, mode));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("rename to", path, err);
  }
  return fsync_dir(dir_of(path));
}

acme::Result<std::string> read_file(const std::string& path) {
  FdGuard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return io_error("open", path, errno);
  std::string out;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("read", path, errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (64u << 20)) return make_error(Errc::kIo, path + ": file too large");
  }
  return out;
}

acme::Result<void> install_files(const std::string& dir, const std::vector<FileSpec>& files) {
  ACME_CHECK(make_dirs(dir, 0755));
  std::vector<std::string> temps;
  auto discard = [&temps] {
    for (const auto& t : temps) ::unlink(t.c_str());
  };
  for (const auto& f : files) {
    auto tmp = write_temp(dir + "/" + f.name, f.data, f.mode);
    if (!tmp) {
      discard();
      return std::move(tmp).error();
    }
    temps.push_back(std::move(*tmp));
  }
  // Keep the previous version: link it to a temp name, then rename over NAME.prev.
  for (const auto& f : files) {
    const std::string target = dir + "/" + f.name;
    const std::string prev = target + ".prev";
    const std::string link_tmp = temp_name(prev);
    if (::link(target.c_str(), link_tmp.c_str()) == 0) {
      if (::rename(link_tmp.c_str(), prev.c_str()) != 0) {
        const int err = errno;
        ::unlink(link_tmp.c_str());
        discard();
        return io_error("keep previous version as", prev, err);
      }
    } else if (errno != ENOENT) {
      const int err = errno;
      discard();
      return io_error("keep previous version of", target, err);
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string target = dir + "/" + files[i].name;
    if (::rename(temps[i].c_str(), target.c_str()) != 0) {
      const int err = errno;
      for (size_t j = i; j < temps.size(); ++j) ::unlink(temps[j].c_str());
      return io_error("rename to", target, err);
    }
  }
  return fsync_dir(dir);
}

}  // namespace agent
