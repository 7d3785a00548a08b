#include "deploy/purge.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

acme::Error io_error(const std::string& what, int err) {
  return make_error(Errc::kIo, what + ": " + std::strerror(err));
}

// Removes entry `name` of the directory open as dirfd: a link or file is unlinked, a
// directory is emptied through its own O_NOFOLLOW fd, then removed. `where` names it.
acme::Result<void> remove_at(int dirfd, const std::string& name, const std::string& where,
                             int depth) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return acme::ok();
    return io_error("stat " + where, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return io_error("remove " + where, errno);
    }
    return acme::ok();
  }
  if (depth > 8) return make_error(Errc::kIo, "remove " + where + ": nested too deeply");
  const int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return io_error("open " + where, errno);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(fd);
    return io_error("open " + where, err);
  }
  std::vector<std::string> entries;
  while (const dirent* e = ::readdir(dir)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") entries.push_back(n);
  }
  acme::Result<void> result = acme::ok();
  for (const auto& n : entries) {
    result = remove_at(::dirfd(dir), n, where + "/" + n, depth + 1);
    if (!result) break;
  }
  ::closedir(dir);
  if (!result) return result;
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return io_error("remove " + where, errno);
  }
  return acme::ok();
}

}  // namespace

acme::Result<void> remove_certificate_files(const std::string& out_root, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    return make_error(Errc::kInvalidInput, "bad certificate name '" + name + "'");
  }
  const int root = ::open(out_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    if (errno == ENOENT) return acme::ok();
    return io_error("open " + out_root, errno);
  }
  auto r = remove_at(root, name, out_root + "/" + name, 0);
  if (r) r = remove_at(root, "." + name + ".d", out_root + "/." + name + ".d", 0);
  ::fsync(root);
  ::close(root);
  return r;
}

}  // namespace agent
