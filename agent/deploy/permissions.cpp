#include "deploy/permissions.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "hooks/hook_runner.hpp"

namespace agent {
namespace {

using acme::Errc;
using acme::make_error;

std::string prefix(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path;
}

acme::Result<struct stat> stat_path(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(Errc::kIo,
                      "cannot check " + prefix(what, path) + ": " + std::strerror(errno));
  }
  return st;
}

// Root may own what we use: it could replace the file whatever its owner.
acme::Result<void> check_owner(const struct stat& st, const std::string& path,
                               std::string_view what) {
  const uid_t me = ::geteuid();
  if (st.st_uid == me || st.st_uid == 0) return acme::ok();
  return make_error(Errc::kInvalidInput, prefix(what, path) + " is owned by uid " +
                                             std::to_string(st.st_uid) + ", not by uid " +
                                             std::to_string(me) +
                                             " who runs acmectl (chown it or remove it)");
}

acme::Result<void> check_not_writable(const struct stat& st, const std::string& path,
                                      std::string_view what) {
  ACME_CHECK(check_owner(st, path, what));
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return make_error(Errc::kInvalidInput, prefix(what, path) + " has mode " +
                                               octal_mode(st.st_mode) +
                                               ": it must not be writable by others (chmod go-w)");
  }
  return acme::ok();
}

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// The program and the directory it lives in: whoever can write either can choose what runs.
// A sticky directory (/tmp) is fine: others cannot rename or remove our file in it.
acme::Result<void> check_program(const std::string& program, std::string_view what) {
  ACME_ASSIGN(auto path, resolve_program(program));
  ACME_ASSIGN(auto st, stat_path(path, what));
  ACME_CHECK(check_not_writable(st, path, what));
  const std::string dir = dir_of(path);
  ACME_ASSIGN(auto dst, stat_path(dir, std::string(what) + " directory"));
  if ((dst.st_mode & S_ISVTX) != 0) return check_owner(dst, dir, std::string(what) + " directory");
  return check_not_writable(dst, dir, std::string(what) + " directory");
}

}  // namespace

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

acme::Result<void> check_private_file(const std::string& path, std::string_view what) {
  ACME_ASSIGN(auto st, stat_path(path, what));
  if (!S_ISREG(st.st_mode)) {
    return make_error(Errc::kInvalidInput, prefix(what, path) + " is not a regular file");
  }
  ACME_CHECK(check_owner(st, path, what));
  // OpenSSH's rule: no bit at all for group or others.
  const mode_t others = st.st_mode & 077;
  if (others != 0) {
    const char* how = (others & 044) != 0   ? "readable by others"
                      : (others & 022) != 0 ? "writable by others"
                                            : "accessible by others";
    return make_error(Errc::kInvalidInput, prefix(what, path) + " has mode " +
                                               octal_mode(st.st_mode) + ": it must not be " + how +
                                               " (chmod 600)");
  }
  return acme::ok();
}

acme::Result<void> check_not_writable_by_others(const std::string& path, std::string_view what) {
  ACME_ASSIGN(auto st, stat_path(path, what));
  return check_not_writable(st, path, what);
}

acme::Result<std::string> resolve_program(const std::string& program) {
  if (program.empty()) return make_error(Errc::kInvalidInput, "empty program name");
  if (program.find('/') != std::string::npos) {
    if (!is_executable_file(program)) {
      return make_error(Errc::kInvalidInput, program + " is not an executable file");
    }
    return program;
  }
  // execvp(3)'s default search path when PATH is unset.
  const char* env = std::getenv("PATH");
  const std::string path = env != nullptr ? env : "/bin:/usr/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";  // an empty PATH entry means the current directory
    const std::string candidate = dir + "/" + program;
    if (is_executable_file(candidate)) return candidate;
    start = end + 1;
  }
  return make_error(Errc::kInvalidInput, program + ": no executable of that name in PATH");
}

acme::Result<void> check_hook_command(const std::string& command, std::string_view what) {
  std::istringstream in(command);
  std::string first;
  in >> first;
  if (first.empty()) return make_error(Errc::kInvalidInput, std::string(what) + " is empty");
  if (!needs_shell(command)) return check_program(first, what);
  // The runner uses /bin/sh -c; the script the user named first is what usually runs.
  ACME_CHECK(check_program("/bin/sh", what));
  struct stat st {};
  if (first.find('/') != std::string::npos && ::stat(first.c_str(), &st) == 0) {
    return check_program(first, what);
  }
  return acme::ok();
}

}  // namespace agent
