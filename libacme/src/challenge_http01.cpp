// http-01 solvers (RFC 8555 §8.3): the built-in responder and a webroot.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "acme/base64url.hpp"
#include "acme/challenge.hpp"

namespace acme {
namespace {

Result<void> check_token(const ChallengeContext& ctx) {
  // RFC 8555 §8.3: the token is base64url; anything else must never reach a path.
  if (!is_base64url(ctx.token) || ctx.token.size() > 256) {
    return make_error(Errc::kProtocol, "challenge for " + ctx.identifier.value +
                                           ": token is not base64url");
  }
  return ok();
}

// mkdir that reports whether it created the directory.
Result<bool> ensure_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return true;
  if (errno == EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return false;
    return make_error(Errc::kIo, "webroot: " + path + " exists and is not a directory");
  }
  return make_error(Errc::kIo, "webroot: mkdir " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<void> Http01StandaloneSolver::present(const ChallengeContext& ctx) {
  ACME_CHECK(check_token(ctx));
  responder_.add(ctx.token, ctx.key_authorization);
  return ok();
}

void Http01StandaloneSolver::cleanup(const ChallengeContext& ctx) noexcept {
  responder_.remove(ctx.token);
}

Result<void> Http01WebrootSolver::present(const ChallengeContext& ctx) {
  ACME_CHECK(check_token(ctx));
  struct stat st {};
  if (::stat(webroot_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return make_error(Errc::kInvalidInput, "webroot " + webroot_ + " is not a directory");
  }
  std::lock_guard lock(mu_);
  const std::string well_known = webroot_ + "/.well-known";
  const std::string dir = well_known + "/acme-challenge";
  ACME_ASSIGN(bool made_wk, ensure_dir(well_known));
  created_well_known_ = created_well_known_ || made_wk;
  ACME_ASSIGN(bool made_dir, ensure_dir(dir));
  created_challenge_dir_ = created_challenge_dir_ || made_dir;
  const std::string path = dir + "/" + ctx.token;
  // O_NOFOLLOW: never write through a symlink planted in the webroot.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    return make_error(Errc::kIo, "webroot: cannot write " + path + ": " + std::strerror(errno));
  }
  ::fchmod(fd, 0644);  // readable by the web server whatever our umask
  const std::string& data = ctx.key_authorization;
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return make_error(Errc::kIo, "webroot: write " + path + ": " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    return make_error(Errc::kIo, "webroot: close " + path + ": " + std::strerror(errno));
  }
  return ok();
}

void Http01WebrootSolver::cleanup(const ChallengeContext& ctx) noexcept {
  if (!is_base64url(ctx.token)) return;
  std::lock_guard lock(mu_);
  const std::string dir = webroot_ + "/.well-known/acme-challenge";
  ::unlink((dir + "/" + ctx.token).c_str());
  // Remove the directories we created, once empty (rmdir fails harmlessly otherwise).
  if (created_challenge_dir_ && ::rmdir(dir.c_str()) == 0) created_challenge_dir_ = false;
  if (created_well_known_ && !created_challenge_dir_ &&
      ::rmdir((webroot_ + "/.well-known").c_str()) == 0) {
    created_well_known_ = false;
  }
}

}  // namespace acme
