#include "deploy/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <dirent.h>

#include <algorithm>
#include <memory>
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

namespace {

// Version numbers present in a .NAME.d directory, ascending.
std::vector<long> versions_in(const std::string& dir) {
  std::vector<long> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (!d) return out;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string n = e->d_name;
    if (n.size() < 2 || n[0] != 'v') continue;
    char* end = nullptr;
    const long v = std::strtol(n.c_str() + 1, &end, 10);
    if (end != nullptr && *end == '\0' && v >= 0) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void remove_tree(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (d) {
    while (const dirent* e = ::readdir(d.get())) {
      const std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      ::unlink((dir + "/" + n).c_str());
    }
  }
  ::rmdir(dir.c_str());
}

}  // namespace

acme::Result<void> install_certificate_files(const std::string& out_root, const std::string& name,
                                             const std::vector<FileSpec>& files) {
  ACME_CHECK(make_dirs(out_root, 0755));
  const std::string link = out_root + "/" + name;
  const std::string store = out_root + "/." + name + ".d";
  ACME_CHECK(make_dirs(store, 0755));
  auto versions = versions_in(store);
  long next = versions.empty() ? 1 : versions.back() + 1;

  // The version the link points at now becomes "previous" and is kept.
  std::string previous;
  {
    char buf[4096];
    const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n > 0) {
      previous.assign(buf, static_cast<size_t>(n));
      previous = previous.substr(previous.rfind('/') + 1);
    }
  }
  struct stat st {};
  if (::lstat(link.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    previous = "v" + std::to_string(next);
    // Older layout: a plain directory. Move it aside as a version of its own.
    const std::string aside = store + "/v" + std::to_string(next++);
    if (::rename(link.c_str(), aside.c_str()) != 0) return io_error("move aside", link, errno);
    versions.push_back(next - 1);
  }

  const std::string vname = "v" + std::to_string(next);
  const std::string vdir = store + "/" + vname;
  if (::mkdir(vdir.c_str(), 0755) != 0) return io_error("mkdir", vdir, errno);
  for (const auto& f : files) {
    auto tmp = write_temp(vdir + "/" + f.name, f.data, f.mode);
    if (!tmp || ::rename(tmp->c_str(), (vdir + "/" + f.name).c_str()) != 0) {
      const int err = errno;
      remove_tree(vdir);
      if (!tmp) return std::move(tmp).error();
      return io_error("rename in", vdir, err);
    }
  }
  if (auto r = fsync_dir(vdir); !r) {
    remove_tree(vdir);
    return r;
  }
  ACME_CHECK(fsync_dir(store));
  // Relative target, so the tree still works when mounted elsewhere (containers).
  const std::string target = "." + name + ".d/" + vname;
  const std::string tmp_link = temp_name(link);
  if (::symlink(target.c_str(), tmp_link.c_str()) != 0) {
    const int err = errno;
    remove_tree(vdir);
    return io_error("symlink", tmp_link, err);
  }
  if (::rename(tmp_link.c_str(), link.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_link.c_str());
    remove_tree(vdir);
    return io_error("replace", link, err);
  }
  ACME_CHECK(fsync_dir(out_root));
  // Keep the new and the previous version; older ones go.
  for (long v : versions) {
    const std::string vn = "v" + std::to_string(v);
    if (vn != previous && v != next) remove_tree(store + "/" + vn);
  }
  return acme::ok();
}

}  // namespace agent
