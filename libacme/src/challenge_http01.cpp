// http-01 solvers (RFC 8555 §8.3): the built-in responder and a webroot.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "acme/base64url.hpp"
#include "acme/challenge.hpp"
#include "acme/unique_fd.hpp"

namespace acme {
namespace {

Result<void> check_token(const ChallengeContext& ctx) {
  // RFC 8555 §8.3: the token is base64url; anything else must never reach a path.
  if (!is_base64url(ctx.token) || ctx.token.size() > 256) {
    return make_error(Errc::kProtocol,
                      "challenge for " + ctx.identifier.value + ": token is not base64url");
  }
  return ok();
}

// Opens the directory `name` under parent without following a link, creating it when
// missing (`created` set then). A link is refused, whatever it points at: followed, it could
// lead a write (as root) anywhere outside the webroot (issue 13 finding 9).
Result<UniqueFd> open_or_make_dir(int parent, const char* name, const std::string& shown,
                                  bool& created) {
  if (::mkdirat(parent, name, 0755) == 0) {
    created = true;
  } else if (errno != EEXIST) {
    return make_error(Errc::kIo, "webroot: mkdir " + shown + ": " + std::strerror(errno));
  }
  UniqueFd fd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd) return fd;
  const int err = errno;
  struct stat st {};
  if ((err == ELOOP || err == ENOTDIR) && ::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return make_error(Errc::kInvalidInput,
                        "webroot: " + shown +
                            " is a symbolic link: refusing to follow it out of the webroot "
                            "(give the directory that really holds .well-known as the webroot)");
    }
    return make_error(Errc::kIo, "webroot: " + shown + " exists and is not a directory");
  }
  return make_error(Errc::kIo, "webroot: open " + shown + ": " + std::strerror(err));
}

// The existing directory `name` under parent, never through a link; invalid when absent.
UniqueFd open_dir_nofollow(int parent, const char* name) {
  return UniqueFd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
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
  std::lock_guard lock(mu_);
  // The webroot itself is the operator's choice (it may be a link); below it, every
  // component is opened relative to its parent's descriptor, never through a link.
  UniqueFd root(::open(webroot_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) {
    return make_error(Errc::kInvalidInput, "webroot " + webroot_ + " is not a directory");
  }
  const std::string well_known = webroot_ + "/.well-known";
  const std::string dir = well_known + "/acme-challenge";
  bool made_wk = false;
  ACME_ASSIGN(auto wk, open_or_make_dir(root.get(), ".well-known", well_known, made_wk));
  created_well_known_ = created_well_known_ || made_wk;
  bool made_dir = false;
  ACME_ASSIGN(auto ch, open_or_make_dir(wk.get(), "acme-challenge", dir, made_dir));
  created_challenge_dir_ = created_challenge_dir_ || made_dir;

  // Written to a temp name, then renamed over TOKEN: whatever sits at TOKEN (a link
  // included) is replaced, never written through. Tokens are base64url, so ".TOKEN.tmp"
  // never collides with one.
  const std::string path = dir + "/" + ctx.token;
  const std::string tmp = "." + ctx.token + ".tmp";
  ::unlinkat(ch.get(), tmp.c_str(), 0);  // left by a crash
  UniqueFd fd(
      ::openat(ch.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) {
    return make_error(Errc::kIo, "webroot: cannot write " + path + ": " + std::strerror(errno));
  }
  auto fail = [&](const char* what) {
    const int err = errno;
    ::unlinkat(ch.get(), tmp.c_str(), 0);
    return make_error(Errc::kIo,
                      std::string("webroot: ") + what + " " + path + ": " + std::strerror(err));
  };
  if (::fchmod(fd.get(), 0644) != 0) return fail("chmod");  // readable by the web server
  const std::string& data = ctx.key_authorization;
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
  if (::close(fd.release()) != 0) return fail("close");
  if (::renameat(ch.get(), tmp.c_str(), ch.get(), ctx.token.c_str()) != 0) return fail("rename to");
  return ok();
}

void Http01WebrootSolver::cleanup(const ChallengeContext& ctx) noexcept {
  if (!is_base64url(ctx.token) || ctx.token.size() > 256) return;
  std::lock_guard lock(mu_);
  // Relative to descriptors opened without following links: a link swapped in since
  // present() cannot make us delete a file outside the webroot.
  UniqueFd root(::open(webroot_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return;
  UniqueFd wk = open_dir_nofollow(root.get(), ".well-known");
  if (!wk) return;
  if (UniqueFd ch = open_dir_nofollow(wk.get(), "acme-challenge"); ch) {
    ::unlinkat(ch.get(), ctx.token.c_str(), 0);
  }
  // The directories stay, even those present() created: another solver (an agent worker
  // with another certificate on the same webroot, or another acmectl) may be between
  // creating .well-known and writing its token right now, and removing them under it made
  // its present() fail. Empty directories under the web root are harmless.
}

}  // namespace acme
