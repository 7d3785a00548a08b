#include "deploy/permissions.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "deploy/files.hpp"

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/acmectl-perm-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { (void)!system(("rm -rf '" + path + "'").c_str()); }
};

std::string file_at(const TempDir& d, const std::string& name, mode_t mode) {
  const std::string p = d.path + "/" + name;
  REQUIRE(agent::atomic_write(p, "x", mode));
  REQUIRE(chmod(p.c_str(), mode) == 0);
  return p;
}

constexpr uid_t kNobody = 65534;

// PATH set for one scope.
struct ScopedPath {
  std::string old;
  explicit ScopedPath(const std::string& p) : old(getenv("PATH") ? getenv("PATH") : "") {
    setenv("PATH", p.c_str(), 1);
  }
  ~ScopedPath() { setenv("PATH", old.c_str(), 1); }
};

}  // namespace

TEST_CASE("check_private_file: 0600 and 0400 keys pass") {
  TempDir d;
  CHECK(agent::check_private_file(file_at(d, "a.key", 0600), "account key"));
  CHECK(agent::check_private_file(file_at(d, "b.key", 0400), "account key"));
}

TEST_CASE("check_private_file: a key others can read or write is refused, naming path and mode") {
  TempDir d;
  const std::string p = file_at(d, "account.key", 0644);
  auto r = agent::check_private_file(p, "account key");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == acme::Errc::kInvalidInput);
  CHECK(r.error().message ==
        "account key " + p + " has mode 0644: it must not be readable by others (chmod 600)");

  REQUIRE(chmod(p.c_str(), 0640) == 0);
  r = agent::check_private_file(p, "certificate key");
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "certificate key " + p + " has mode 0640: it must not be readable by others (chmod 600)");

  REQUIRE(chmod(p.c_str(), 0602) == 0);
  r = agent::check_private_file(p, "account key");
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "account key " + p + " has mode 0602: it must not be writable by others (chmod 600)");

  REQUIRE(chmod(p.c_str(), 0610) == 0);
  r = agent::check_private_file(p, "account key");
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "account key " + p + " has mode 0610: it must not be accessible by others (chmod 600)");
}

TEST_CASE("check_private_file: a directory or a missing file is refused") {
  TempDir d;
  auto r = agent::check_private_file(d.path, "account key");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "account key " + d.path + " is not a regular file");
  r = agent::check_private_file(d.path + "/missing.key", "account key");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == acme::Errc::kIo);
  CHECK(r.error().message ==
        "cannot check account key " + d.path + "/missing.key: No such file or directory");
}

TEST_CASE("check_private_file: a key owned by another user is refused") {
  if (geteuid() != 0) {
    MESSAGE("skipped: needs root to chown a file to another user");
    return;
  }
  TempDir d;
  const std::string p = file_at(d, "account.key", 0600);
  REQUIRE(chown(p.c_str(), kNobody, kNobody) == 0);
  auto r = agent::check_private_file(p, "account key");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "account key " + p +
                                 " is owned by uid 65534, not by uid 0 who runs acmectl (chown "
                                 "it or remove it)");
}

TEST_CASE("check_not_writable_by_others: group or world writable state dirs are refused") {
  TempDir d;
  REQUIRE(chmod(d.path.c_str(), 0700) == 0);
  CHECK(agent::check_not_writable_by_others(d.path, "state dir"));
  REQUIRE(chmod(d.path.c_str(), 0755) == 0);
  CHECK(agent::check_not_writable_by_others(d.path, "state dir"));
  REQUIRE(chmod(d.path.c_str(), 0777) == 0);
  auto r = agent::check_not_writable_by_others(d.path, "state dir");
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "state dir " + d.path + " has mode 0777: it must not be writable by others (chmod go-w)");
  REQUIRE(chmod(d.path.c_str(), 0775) == 0);
  r = agent::check_not_writable_by_others(d.path, "state dir");
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "state dir " + d.path + " has mode 0775: it must not be writable by others (chmod go-w)");
  REQUIRE(chmod(d.path.c_str(), 0700) == 0);

  const std::string db = file_at(d, "acmectl.db", 0666);
  r = agent::check_not_writable_by_others(db, "database");
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "database " + db + " has mode 0666: it must not be writable by others (chmod go-w)");
  REQUIRE(chmod(db.c_str(), 0644) == 0);  // readable is fine for these
  CHECK(agent::check_not_writable_by_others(db, "database"));
}

TEST_CASE("check_not_writable_by_others: a database owned by another user is refused") {
  if (geteuid() != 0) {
    MESSAGE("skipped: needs root to chown a file to another user");
    return;
  }
  TempDir d;
  const std::string db = file_at(d, "acmectl.db", 0600);
  REQUIRE(chown(db.c_str(), kNobody, kNobody) == 0);
  auto r = agent::check_not_writable_by_others(db, "database");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "database " + db +
                                 " is owned by uid 65534, not by uid 0 who runs acmectl (chown "
                                 "it or remove it)");
}

TEST_CASE("resolve_program: searches PATH like execvp, takes a path as given") {
  TempDir d;
  const std::string prog = file_at(d, "my-hook", 0755);
  file_at(d, "not-exec", 0644);
  {
    ScopedPath p("/nonexistent:" + d.path);
    auto r = agent::resolve_program("my-hook");
    REQUIRE(r);
    CHECK(*r == prog);
    auto missing = agent::resolve_program("not-exec");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message == "not-exec: no executable of that name in PATH");
  }
  CHECK(agent::resolve_program(prog).value() == prog);
  auto r = agent::resolve_program(d.path + "/not-exec");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == d.path + "/not-exec is not an executable file");
}

TEST_CASE("check_hook_command: the program and its directory must not be writable by others") {
  TempDir d;
  REQUIRE(chmod(d.path.c_str(), 0755) == 0);
  const std::string hook = file_at(d, "reload.sh", 0755);
  CHECK(agent::check_hook_command(hook + " --quiet", "deploy hook"));
  {
    ScopedPath p(d.path);
    CHECK(agent::check_hook_command("reload.sh", "deploy hook"));
  }

  REQUIRE(chmod(hook.c_str(), 0757) == 0);
  auto r = agent::check_hook_command(hook, "deploy hook");
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "deploy hook " + hook + " has mode 0757: it must not be writable by others (chmod go-w)");
  // With shell syntax the runner uses /bin/sh, but the script named first is checked too.
  r = agent::check_hook_command(hook + " && echo done", "deploy hook");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("has mode 0757") != std::string::npos);
  REQUIRE(chmod(hook.c_str(), 0755) == 0);

  // Anyone who can write the directory can swap the program.
  REQUIRE(chmod(d.path.c_str(), 0777) == 0);
  r = agent::check_hook_command(hook, "deploy hook");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "deploy hook directory " + d.path +
                                 " has mode 0777: it must not be writable by others (chmod go-w)");
  // A sticky directory (like /tmp) is fine: others cannot rename our file in it.
  REQUIRE(chmod(d.path.c_str(), 01777) == 0);
  CHECK(agent::check_hook_command(hook, "deploy hook"));
  REQUIRE(chmod(d.path.c_str(), 0755) == 0);

  r = agent::check_hook_command(d.path + "/missing-hook", "deploy hook");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == d.path + "/missing-hook is not an executable file");
}

TEST_CASE("octal_mode writes permission bits like chmod") {
  CHECK(agent::octal_mode(S_IFREG | 0644) == "0644");
  CHECK(agent::octal_mode(S_IFDIR | 01777) == "1777");
  CHECK(agent::octal_mode(0) == "0000");
}
