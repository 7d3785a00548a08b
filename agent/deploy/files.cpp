#include "deploy/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>

#include "acme/unique_fd.hpp"
#include "deploy/permissions.hpp"

namespace agent {
namespace {

using acme::Errc;
using acme::make_error;
using acme::UniqueFd;

// Issue 13 finding 10: a full disk must say which path could not be written, not only
// "No space left on device".
acme::Error io_error(const std::string& what, const std::string& path, int err) {
  switch (err) {
    case ENOSPC:
      return make_error(Errc::kIo, "no space left on device writing " + path + " (" + what + ")");
    case EDQUOT:
      return make_error(Errc::kIo, "disk quota exceeded writing " + path + " (" + what + ")");
    case EROFS: return make_error(Errc::kIo, "read-only file system: cannot " + what + " " + path);
    default: return make_error(Errc::kIo, what + " " + path + ": " + std::strerror(err));
  }
}

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// One path component we create ourselves: no separator, no "." or "..".
bool is_component(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos &&
         n.find('\0') == std::string::npos;
}

constexpr size_t kSuffixLen = 16;

std::string temp_base(const std::string& base) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char suffix[kSuffixLen + 1];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
  return "." + base + ".tmp-" + suffix;
}

std::string temp_name(const std::string& path) {
  return dir_of(path) + "/" + temp_base(base_of(path));
}

acme::Result<UniqueFd> open_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return io_error("open directory", dir, errno);
  return fd;
}

acme::Result<void> fsync_fd(int fd, const std::string& shown) {
  if (::fsync(fd) != 0) return io_error("fsync", shown, errno);
  return acme::ok();
}

acme::Result<void> fsync_dir(const std::string& dir) {
  ACME_ASSIGN(auto fd, open_dir(dir));
  return fsync_fd(fd.get(), dir);
}

// Writes data to a new temp file in dir_fd (shown as dir_path in errors) and syncs it;
// returns the temp file's name relative to dir_fd. O_EXCL|O_NOFOLLOW: never through a link.
acme::Result<std::string> write_temp_at(int dir_fd, const std::string& dir_path,
                                        const std::string& base, const std::string& data,
                                        mode_t mode) {
  const std::string tmp = temp_base(base);
  const std::string shown = dir_path + "/" + tmp;
  UniqueFd fd(
      ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return io_error("create", shown, errno);
  auto fail = [&](const char* what) {
    const int err = errno;
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return io_error(what, shown, err);
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

// Path-based form for install_files: returns the temp file's full path.
acme::Result<std::string> write_temp(const std::string& path, const std::string& data,
                                     mode_t mode) {
  const std::string dir = dir_of(path);
  ACME_ASSIGN(auto dfd, open_dir(dir));
  ACME_ASSIGN(auto tmp, write_temp_at(dfd.get(), dir, base_of(path), data, mode));
  return dir + "/" + tmp;
}

// Names in the directory dir_fd, without "." and "..".
std::vector<std::string> list_dir(int dir_fd) {
  std::vector<std::string> out;
  UniqueFd dup(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (!dup) return out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(dup.get()), &::closedir);
  if (!d) return out;
  (void)dup.release();  // the DIR owns it now
  ::rewinddir(d.get());
  while (const dirent* e = ::readdir(d.get())) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  return out;
}

// Removes the directory `name` under parent_fd and what is in it, following no link: a
// link inside is removed itself (unlinkat), never what it points to. Best effort.
void remove_tree_at(int parent_fd, const std::string& name, int depth = 4) {
  UniqueFd fd(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return;  // gone, or not a directory we may enter: leave it
  for (const auto& n : list_dir(fd.get())) {
    if (::unlinkat(fd.get(), n.c_str(), 0) != 0 && errno == EISDIR && depth > 0) {
      remove_tree_at(fd.get(), n, depth - 1);
    }
  }
  ::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR);
}

// One line naming the path, its mode and its owner (issue 13 finding 2).
acme::Error refusal(const std::string& shown, const struct stat& st, const std::string& why) {
  return make_error(Errc::kInvalidInput, "refusing " + shown + ": it " + why + " (mode " +
                                             octal_mode(st.st_mode) + ", owner uid " +
                                             std::to_string(st.st_uid) + ")");
}

acme::Result<void> check_ours(const struct stat& st, const std::string& shown) {
  if (st.st_uid != ::geteuid()) {
    return refusal(shown, st,
                   "is not owned by uid " + std::to_string(::geteuid()) + " who runs acmectl");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return refusal(shown, st, "is writable by others");
  return acme::ok();
}

// Opens the directory `name` under dir_fd without following a link and checks it is ours:
// owned by the running user and not writable by group or others.
acme::Result<UniqueFd> open_own_dir(int dir_fd, const std::string& name, const std::string& shown) {
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    struct stat st {};
    if ((err == ELOOP || err == ENOTDIR) &&
        ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      return refusal(shown, st,
                     S_ISLNK(st.st_mode) ? "is a symbolic link (remove it by hand)"
                                         : "is not a directory (remove it by hand)");
    }
    return io_error("open directory", shown, err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("stat", shown, errno);
  ACME_CHECK(check_ours(st, shown));
  return fd;
}

// "v12" -> 12; -1 for anything else.
long version_of(const std::string& n) {
  if (n.size() < 2 || n.size() > 12 || n[0] != 'v') return -1;
  if (!std::all_of(n.begin() + 1, n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::strtol(n.c_str() + 1, nullptr, 10);
}

// Version numbers in .NAME.d, ascending. Nothing there is ever a link: one is refused
// rather than removed or followed (a planted link must not make us delete its target's files).
acme::Result<std::vector<long>> scan_versions(int store_fd, const std::string& store_path) {
  std::vector<long> out;
  for (const auto& n : list_dir(store_fd)) {
    struct stat st {};
    if (::fstatat(store_fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // raced away
    const std::string shown = store_path + "/" + n;
    if (S_ISLNK(st.st_mode)) return refusal(shown, st, "is a symbolic link (remove it by hand)");
    const long v = version_of(n);
    if (v < 0) continue;  // not ours: leave it alone
    if (!S_ISDIR(st.st_mode)) return refusal(shown, st, "is not a directory (remove it by hand)");
    out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What OUT/NAME is now.
struct Current {
  bool plain_dir = false;  // the older layout: a directory to move aside
  std::string version;     // "vN" the link points at; "" when none
};

acme::Result<Current> inspect_link(int root_fd, const std::string& name,
                                   const std::string& link_path) {
  Current cur;
  struct stat st {};
  if (::fstatat(root_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return cur;
    return io_error("stat", link_path, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    ACME_CHECK(check_ours(st, link_path));
    cur.plain_dir = true;
    return cur;
  }
  if (!S_ISLNK(st.st_mode)) {
    return refusal(link_path, st, "is neither a symbolic link nor a directory");
  }
  // A link's own mode is always 0777; its owner is what tells whose it is.
  if (st.st_uid != ::geteuid()) {
    return refusal(link_path, st,
                   "is not owned by uid " + std::to_string(::geteuid()) + " who runs acmectl");
  }
  char buf[4096];
  const ssize_t n = ::readlinkat(root_fd, name.c_str(), buf, sizeof buf - 1);
  if (n > 0) {
    const std::string target(buf, static_cast<size_t>(n));
    const std::string prefix = "." + name + ".d/";
    if (target.rfind(prefix, 0) == 0 && version_of(target.substr(prefix.size())) >= 0) {
      cur.version = target.substr(prefix.size());
    }
  }
  return cur;
}

// Links (and probe files of check_certificate_files) .NAME.tmp-XXXXXXXXXXXXXXXX left in OUT
// by a crash between create and rename.
void remove_stale_temp_links(int root_fd, const std::string& name) {
  const std::string prefix = "." + name + ".tmp-";
  for (const auto& n : list_dir(root_fd)) {
    if (n.size() != prefix.size() + kSuffixLen || n.rfind(prefix, 0) != 0) continue;
    struct stat st {};
    if (::fstatat(root_fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (S_ISLNK(st.st_mode) || S_ISREG(st.st_mode)) && st.st_uid == ::geteuid()) {
      ::unlinkat(root_fd, n.c_str(), 0);
    }
  }
}

acme::Result<void> check_names(const std::string& name, const std::vector<FileSpec>& files) {
  if (!is_component(name)) {
    return make_error(Errc::kInvalidInput, "certificate name '" + name + "' is not a file name");
  }
  for (const auto& f : files) {
    if (!is_component(f.name)) {
      return make_error(Errc::kInvalidInput, "file name '" + f.name + "' is not a file name");
    }
  }
  return acme::ok();
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
  const std::string dir = dir_of(path);
  const std::string base = base_of(path);
  if (!is_component(base)) return make_error(Errc::kInvalidInput, path + " is not a file name");
  ACME_ASSIGN(auto dfd, open_dir(dir));
  ACME_ASSIGN(auto tmp, write_temp_at(dfd.get(), dir, base, data, mode));
  if (::renameat(dfd.get(), tmp.c_str(), dfd.get(), base.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(dfd.get(), tmp.c_str(), 0);
    return io_error("rename to", path, err);
  }
  return fsync_fd(dfd.get(), dir);
}

acme::Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return io_error("open", path, errno);
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

void remove_stale_temp_files(const std::string& dir, const std::string& base) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return;
  for (const auto& n : list_dir(fd.get())) {
    // atomic_write's temp names: ".BASE.tmp-" and kSuffixLen characters.
    const size_t at = n.rfind(".tmp-");
    if (n.empty() || n[0] != '.' || at == std::string::npos || at == 0 ||
        n.size() != at + 5 + kSuffixLen) {
      continue;
    }
    if (!base.empty() && n.compare(1, at - 1, base) != 0) continue;
    struct stat st {};
    if (::fstatat(fd.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        st.st_uid == ::geteuid()) {
      ::unlinkat(fd.get(), n.c_str(), 0);
    }
  }
}

acme::Result<void> check_certificate_files(const std::string& out_root, const std::string& name) {
  ACME_CHECK(check_names(name, {}));
  ACME_CHECK(make_dirs(out_root, 0755));
  ACME_ASSIGN(auto root, open_dir(out_root));
  ACME_CHECK(inspect_link(root.get(), name, out_root + "/" + name));
  const std::string store_name = "." + name + ".d";
  const std::string store_path = out_root + "/" + store_name;
  struct stat st {};
  if (::fstatat(root.get(), store_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    ACME_ASSIGN(auto store, open_own_dir(root.get(), store_name, store_path));
    ACME_CHECK(scan_versions(store.get(), store_path));
  } else if (errno != ENOENT) {
    return io_error("stat", store_path, errno);
  }
  // Can we create files here at all (read-only mount, no permission)?
  const std::string probe = temp_base(name);
  UniqueFd fd(::openat(root.get(), probe.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return io_error("create", out_root + "/" + probe, errno);
  ::unlinkat(root.get(), probe.c_str(), 0);
  return acme::ok();
}

acme::Result<void> install_certificate_files(const std::string& out_root, const std::string& name,
                                             const std::vector<FileSpec>& files) {
  ACME_CHECK(check_names(name, files));
  ACME_CHECK(make_dirs(out_root, 0755));
  // Everything below is relative to directory descriptors opened here, without following a
  // link: a link planted in OUT or OUT/.NAME.d can neither redirect a write nor a removal.
  ACME_ASSIGN(auto root, open_dir(out_root));
  const std::string link_path = out_root + "/" + name;
  const std::string store_name = "." + name + ".d";
  const std::string store_path = out_root + "/" + store_name;

  ACME_ASSIGN(auto current, inspect_link(root.get(), name, link_path));
  if (::mkdirat(root.get(), store_name.c_str(), 0755) != 0 && errno != EEXIST) {
    return io_error("mkdir", store_path, errno);
  }
  ACME_ASSIGN(auto store, open_own_dir(root.get(), store_name, store_path));
  ACME_ASSIGN(auto versions, scan_versions(store.get(), store_path));
  long next = versions.empty() ? 1 : versions.back() + 1;

  // The version the link points at now becomes "previous" and is kept.
  std::string previous = current.version;
  std::string moved_aside;
  if (current.plain_dir) {
    // Older layout: a plain directory. Move it aside as a version of its own.
    moved_aside = "v" + std::to_string(next);
    if (::renameat(root.get(), name.c_str(), store.get(), moved_aside.c_str()) != 0) {
      return io_error("move aside", link_path, errno);
    }
    previous = moved_aside;
    versions.push_back(next++);
  }

  const std::string vname = "v" + std::to_string(next);
  const std::string vpath = store_path + "/" + vname;
  // On failure the new version goes and a moved-aside directory comes back: OUT/NAME is
  // then exactly what it was.
  bool made_vdir = false;
  auto undo = [&](acme::Error e) {
    if (made_vdir) remove_tree_at(store.get(), vname);
    if (!moved_aside.empty()) {
      ::renameat(store.get(), moved_aside.c_str(), root.get(), name.c_str());
    }
    return e;
  };
  if (::mkdirat(store.get(), vname.c_str(), 0755) != 0) {
    return undo(io_error("mkdir", vpath, errno));  // EEXIST: another writer; not ours to remove
  }
  made_vdir = true;
  auto vdir = open_own_dir(store.get(), vname, vpath);
  if (!vdir) return undo(std::move(vdir).error());
  for (const auto& f : files) {
    auto tmp = write_temp_at(vdir->get(), vpath, f.name, f.data, f.mode);
    if (!tmp) return undo(std::move(tmp).error());
    if (::renameat(vdir->get(), tmp->c_str(), vdir->get(), f.name.c_str()) != 0) {
      return undo(io_error("rename to", vpath + "/" + f.name, errno));
    }
  }
  if (auto r = fsync_fd(vdir->get(), vpath); !r) return undo(std::move(r).error());
  if (auto r = fsync_fd(store.get(), store_path); !r) return undo(std::move(r).error());

  // Relative target, so the tree still works when mounted elsewhere (containers).
  const std::string target = store_name + "/" + vname;
  const std::string tmp_link = temp_base(name);
  if (::symlinkat(target.c_str(), root.get(), tmp_link.c_str()) != 0) {
    return undo(io_error("symlink", out_root + "/" + tmp_link, errno));
  }
  if (::renameat(root.get(), tmp_link.c_str(), root.get(), name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(root.get(), tmp_link.c_str(), 0);
    return undo(io_error("replace", link_path, err));
  }
  ACME_CHECK(fsync_fd(root.get(), out_root));
  // Keep the new and the previous version; older ones go.
  for (long v : versions) {
    const std::string vn = "v" + std::to_string(v);
    if (vn != previous && v != next) remove_tree_at(store.get(), vn);
  }
  remove_stale_temp_links(root.get(), name);
  return acme::ok();
}

acme::Result<CertificateVersions> certificate_versions(const std::string& out_root,
                                                       const std::string& name) {
  ACME_CHECK(check_names(name, {}));
  ACME_ASSIGN(auto root, open_dir(out_root));
  const std::string link_path = out_root + "/" + name;
  const std::string store_name = "." + name + ".d";
  const std::string store_path = out_root + "/" + store_name;
  ACME_ASSIGN(auto current, inspect_link(root.get(), name, link_path));
  CertificateVersions out;
  out.current = current.version;
  if (out.current.empty()) return out;
  ACME_ASSIGN(auto store, open_own_dir(root.get(), store_name, store_path));
  ACME_ASSIGN(auto versions, scan_versions(store.get(), store_path));
  const long cur = version_of(out.current);
  for (long v : versions) {
    if (v < cur) out.previous = "v" + std::to_string(v);  // ascending: the last one wins
  }
  if (!out.previous.empty()) out.previous_dir = store_path + "/" + out.previous;
  return out;
}

acme::Result<void> switch_certificate_version(const std::string& out_root, const std::string& name,
                                              const std::string& version) {
  ACME_CHECK(check_names(name, {}));
  if (version_of(version) < 0) {
    return make_error(Errc::kInvalidInput, "'" + version + "' is not a certificate version");
  }
  ACME_ASSIGN(auto root, open_dir(out_root));
  const std::string link_path = out_root + "/" + name;
  const std::string store_name = "." + name + ".d";
  const std::string store_path = out_root + "/" + store_name;
  ACME_ASSIGN(auto current, inspect_link(root.get(), name, link_path));
  if (current.plain_dir) {
    return make_error(Errc::kInvalidInput, link_path + " is a directory, not a versioned link");
  }
  ACME_ASSIGN(auto store, open_own_dir(root.get(), store_name, store_path));
  ACME_CHECK(open_own_dir(store.get(), version, store_path + "/" + version));
  const std::string target = store_name + "/" + version;
  const std::string tmp_link = temp_base(name);
  if (::symlinkat(target.c_str(), root.get(), tmp_link.c_str()) != 0) {
    return io_error("symlink", out_root + "/" + tmp_link, errno);
  }
  if (::renameat(root.get(), tmp_link.c_str(), root.get(), name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(root.get(), tmp_link.c_str(), 0);
    return io_error("replace", link_path, err);
  }
  return fsync_fd(root.get(), out_root);
}

}  // namespace agent
