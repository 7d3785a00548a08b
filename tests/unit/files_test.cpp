#include "deploy/files.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/acmectl-files-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { (void)!system(("chmod -R u+w '" + path + "'; rm -rf '" + path + "'").c_str()); }
};

mode_t mode_of(const std::string& p) {
  struct stat st {};
  REQUIRE(stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

int entries(const std::string& dir) {
  const std::string cmd = "test $(ls -A '" + dir + "' | wc -l) -eq ";
  for (int n = 0; n < 100; ++n) {
    if (system((cmd + std::to_string(n)).c_str()) == 0) return n;
  }
  return -1;
}

}  // namespace

TEST_CASE("atomic_write creates the file with its mode and leaves no temp file") {
  TempDir d;
  const std::string p = d.path + "/privkey.pem";
  REQUIRE(agent::atomic_write(p, "secret", 0600));
  CHECK(agent::read_file(p).value() == "secret");
  CHECK(mode_of(p) == 0600);
  REQUIRE(agent::atomic_write(p, "secret2", 0600));
  CHECK(agent::read_file(p).value() == "secret2");
  CHECK(entries(d.path) == 1);
}

TEST_CASE("install_files keeps the previous version as .prev") {
  TempDir d;
  const std::string dir = d.path + "/live/example";
  REQUIRE(agent::install_files(dir, {{"cert.pem", "one", 0644}, {"privkey.pem", "k1", 0600}}));
  CHECK(entries(dir) == 2);
  REQUIRE(agent::install_files(dir, {{"cert.pem", "two", 0644}, {"privkey.pem", "k2", 0600}}));
  CHECK(agent::read_file(dir + "/cert.pem").value() == "two");
  CHECK(agent::read_file(dir + "/cert.pem.prev").value() == "one");
  CHECK(agent::read_file(dir + "/privkey.pem.prev").value() == "k1");
  CHECK(mode_of(dir + "/privkey.pem") == 0600);
  CHECK(mode_of(dir + "/privkey.pem.prev") == 0600);
  CHECK(entries(dir) == 4);
}

TEST_CASE("install_files failing before the renames leaves the old set untouched") {
  if (geteuid() == 0) {
    // root ignores directory permissions; use a file where a directory is expected instead.
    TempDir d;
    REQUIRE(agent::atomic_write(d.path + "/blocker", "x", 0644));
    auto r = agent::install_files(d.path + "/blocker/sub", {{"cert.pem", "new", 0644}});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == acme::Errc::kIo);
    CHECK(agent::read_file(d.path + "/blocker").value() == "x");
    return;
  }
  TempDir d;
  const std::string dir = d.path + "/example";
  REQUIRE(agent::install_files(dir, {{"cert.pem", "old", 0644}}));
  REQUIRE(chmod(dir.c_str(), 0555) == 0);
  auto r = agent::install_files(dir, {{"cert.pem", "new", 0644}});
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("create") != std::string::npos);
  CHECK(agent::read_file(dir + "/cert.pem").value() == "old");
}

TEST_CASE("read_file names the path it could not read") {
  auto r = agent::read_file("/nonexistent/file.pem");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "open /nonexistent/file.pem: No such file or directory");
}

TEST_CASE("install_certificate_files swaps whole versions behind one symlink") {
  TempDir d;
  const std::string out = d.path + "/live";
  REQUIRE(agent::install_certificate_files(
      out, "ex", {{"cert.pem", "c1", 0644}, {"privkey.pem", "k1", 0600}}));
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "c1");
  CHECK(mode_of(out + "/ex/privkey.pem") == 0600);
  char buf[256] = {0};
  REQUIRE(readlink((out + "/ex").c_str(), buf, sizeof buf - 1) > 0);
  CHECK(std::string(buf) == ".ex.d/v1");
  REQUIRE(agent::install_certificate_files(
      out, "ex", {{"cert.pem", "c2", 0644}, {"privkey.pem", "k2", 0600}}));
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "c2");
  CHECK(agent::read_file(out + "/.ex.d/v1/privkey.pem").value() == "k1");  // previous kept
  REQUIRE(agent::install_certificate_files(
      out, "ex", {{"cert.pem", "c3", 0644}, {"privkey.pem", "k3", 0600}}));
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "c3");
  CHECK(agent::read_file(out + "/.ex.d/v2/cert.pem").value() == "c2");
  CHECK(entries(out + "/.ex.d") == 2);  // v1 removed, v2 (previous) and v3 kept
  CHECK(entries(out) == 2);             // the link and the store, no temp files
}

TEST_CASE("install_certificate_files moves an older plain directory aside") {
  TempDir d;
  const std::string out = d.path + "/live";
  REQUIRE(agent::install_files(out + "/ex", {{"cert.pem", "old", 0644}}));
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "new", 0644}}));
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "new");
  CHECK(agent::read_file(out + "/.ex.d/v1/cert.pem").value() == "old");
}

// Issue 13 finding 2: links planted in OUT/.NAME.d and directories others can write.
namespace {

std::string link_target(const std::string& p) {
  char buf[256] = {0};
  if (readlink(p.c_str(), buf, sizeof buf - 1) <= 0) return "";
  return buf;
}

// A directory of someone else's files that a planted link points at.
std::string victim_dir(const TempDir& d) {
  const std::string v = d.path + "/victim";
  REQUIRE(agent::install_files(v, {{"important.txt", "keep me", 0644}, {"v1", "x", 0644}}));
  return v;
}

}  // namespace

TEST_CASE("install_certificate_files refuses a link planted in .NAME.d and removes nothing") {
  TempDir d;
  const std::string out = d.path + "/live";
  const std::string victim = victim_dir(d);
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c1", 0644}}));
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c2", 0644}}));
  // v0 is neither the current nor the previous version: the old code removed it, and
  // with it every file in the directory the link points at.
  REQUIRE(symlink(victim.c_str(), (out + "/.ex.d/v0").c_str()) == 0);
  auto r = agent::install_certificate_files(out, "ex", {{"cert.pem", "c3", 0644}});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == acme::Errc::kInvalidInput);
  CHECK(r.error().message == "refusing " + out +
                                 "/.ex.d/v0: it is a symbolic link (remove it by hand) (mode "
                                 "0777, owner uid " +
                                 std::to_string(geteuid()) + ")");
  CHECK(agent::read_file(victim + "/important.txt").value() == "keep me");
  CHECK(agent::read_file(victim + "/v1").value() == "x");
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "c2");  // still served
  CHECK(entries(out + "/.ex.d") == 3);                            // v0 link, v1, v2: untouched
  CHECK(agent::check_certificate_files(out, "ex").error().message == r.error().message);
}

TEST_CASE("install_certificate_files refuses a .NAME.d that is a link, writing nothing there") {
  TempDir d;
  const std::string out = d.path + "/live";
  const std::string victim = victim_dir(d);
  REQUIRE(agent::make_dirs(out, 0755));
  REQUIRE(symlink(victim.c_str(), (out + "/.ex.d").c_str()) == 0);
  auto r = agent::install_certificate_files(out, "ex", {{"cert.pem", "c1", 0644}});
  REQUIRE_FALSE(r);
  CHECK(r.error().message.rfind("refusing " + out + "/.ex.d: it is a symbolic link", 0) == 0);
  CHECK(entries(victim) == 2);
  CHECK(entries(out) == 1);  // no link OUT/ex, no temp file
  CHECK_FALSE(agent::check_certificate_files(out, "ex"));
}

TEST_CASE("install_certificate_files refuses a .NAME.d that others can write") {
  TempDir d;
  const std::string out = d.path + "/live";
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c1", 0644}}));
  REQUIRE(chmod((out + "/.ex.d").c_str(), 0777) == 0);
  auto r = agent::install_certificate_files(out, "ex", {{"cert.pem", "c2", 0644}});
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "refusing " + out +
                                 "/.ex.d: it is writable by others (mode 0777, owner uid " +
                                 std::to_string(geteuid()) + ")");
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "c1");
  CHECK(entries(out + "/.ex.d") == 1);
  REQUIRE(chmod((out + "/.ex.d").c_str(), 0775) == 0);  // group-writable: refused too
  CHECK_FALSE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c2", 0644}}));
  REQUIRE(chmod((out + "/.ex.d").c_str(), 0755) == 0);
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c2", 0644}}));
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "c2");
}

TEST_CASE("install_certificate_files refuses a .NAME.d or NAME owned by another user") {
  if (geteuid() != 0) {
    MESSAGE("skipped: needs root to chown to another user");
    return;
  }
  TempDir d;
  const std::string out = d.path + "/live";
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c1", 0644}}));
  REQUIRE(chown((out + "/.ex.d").c_str(), 65534, 65534) == 0);
  auto r = agent::install_certificate_files(out, "ex", {{"cert.pem", "c2", 0644}});
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "refusing " + out +
                                 "/.ex.d: it is not owned by uid 0 who runs acmectl (mode 0755, "
                                 "owner uid 65534)");
  REQUIRE(chown((out + "/.ex.d").c_str(), 0, 0) == 0);
  REQUIRE(lchown((out + "/ex").c_str(), 65534, 65534) == 0);
  r = agent::install_certificate_files(out, "ex", {{"cert.pem", "c2", 0644}});
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "refusing " + out +
                                 "/ex: it is not owned by uid 0 who runs acmectl (mode 0777, "
                                 "owner uid 65534)");
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "c1");
}

TEST_CASE("install_certificate_files refuses a plain file at OUT/NAME and bad names") {
  TempDir d;
  const std::string out = d.path + "/live";
  REQUIRE(agent::install_files(out, {{"ex", "someone's file", 0644}}));
  auto r = agent::install_certificate_files(out, "ex", {{"cert.pem", "c1", 0644}});
  REQUIRE_FALSE(r);
  CHECK(r.error().message.rfind(
            "refusing " + out + "/ex: it is neither a symbolic link nor a directory", 0) == 0);
  CHECK(agent::read_file(out + "/ex").value() == "someone's file");
  CHECK_FALSE(agent::install_certificate_files(out, "..", {{"cert.pem", "c1", 0644}}));
  CHECK_FALSE(agent::install_certificate_files(out, "a/b", {{"cert.pem", "c1", 0644}}));
  CHECK_FALSE(agent::install_certificate_files(out, "ok", {{"../cert.pem", "c1", 0644}}));
}

TEST_CASE("install_certificate_files removes a temp link left by a crash") {
  TempDir d;
  const std::string out = d.path + "/live";
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c1", 0644}}));
  REQUIRE(symlink(".ex.d/v1", (out + "/.ex.tmp-0123456789abcdef").c_str()) == 0);
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c2", 0644}}));
  CHECK(entries(out) == 2);
  CHECK(link_target(out + "/ex") == ".ex.d/v2");
}

TEST_CASE("check_certificate_files passes a fresh or healthy layout and creates nothing") {
  TempDir d;
  const std::string out = d.path + "/live";
  REQUIRE(agent::check_certificate_files(out, "ex"));
  CHECK(entries(out) == 0);
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c1", 0644}}));
  REQUIRE(agent::check_certificate_files(out, "ex"));
  CHECK(entries(out) == 2);
  if (geteuid() != 0) {
    REQUIRE(chmod(out.c_str(), 0555) == 0);
    auto r = agent::check_certificate_files(out, "ex");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.rfind("create " + out + "/.ex.tmp-", 0) == 0);
    REQUIRE(chmod(out.c_str(), 0755) == 0);
  }
}

TEST_CASE("remove_stale_temp_files removes what a killed atomic_write left, nothing else") {
  TempDir d;
  const std::string dead = d.path + "/.account.key.tmp-0123456789abcdef";
  const std::string other = d.path + "/.b.key.tmp-0123456789abcdef";
  const std::string keep = d.path + "/account.key";
  const std::string link = d.path + "/.c.key.tmp-0123456789abcdef";
  const std::string short_suffix = d.path + "/.d.key.tmp-0123";
  for (const auto& p : {dead, other, keep, short_suffix})
    REQUIRE(agent::atomic_write(p, "x", 0600));
  REQUIRE(::symlink(keep.c_str(), link.c_str()) == 0);
  agent::remove_stale_temp_files(d.path, "account.key");
  CHECK(::access(dead.c_str(), F_OK) != 0);
  CHECK(::access(other.c_str(), F_OK) == 0);  // another base: not ours to remove here
  agent::remove_stale_temp_files(d.path);
  CHECK(::access(other.c_str(), F_OK) != 0);
  CHECK(::access(keep.c_str(), F_OK) == 0);
  CHECK(::access(short_suffix.c_str(), F_OK) == 0);  // not atomic_write's name shape
  struct stat st {};
  CHECK(::lstat(link.c_str(), &st) == 0);  // links are left alone
  CHECK(::access(keep.c_str(), F_OK) == 0);
}

TEST_CASE("certificate_versions and switch_certificate_version: the rollback switch") {
  TempDir d;
  const std::string out = d.path + "/live";
  auto v0 = agent::certificate_versions(out + "-missing", "ex");
  CHECK_FALSE(v0.has_value());  // no OUT at all
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c1", 0644}}));
  auto v1 = agent::certificate_versions(out, "ex");
  REQUIRE(v1);
  CHECK(v1->current == "v1");
  CHECK(v1->previous.empty());
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c2", 0644}}));
  auto v2 = agent::certificate_versions(out, "ex");
  REQUIRE(v2);
  CHECK(v2->current == "v2");
  CHECK(v2->previous == "v1");
  CHECK(v2->previous_dir == out + "/.ex.d/v1");
  REQUIRE(agent::switch_certificate_version(out, "ex", "v1"));
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "c1");
  auto back = agent::certificate_versions(out, "ex");
  REQUIRE(back);
  CHECK(back->current == "v1");
  CHECK(back->previous.empty());  // v2 is newer, not a rollback target
  CHECK(entries(out) == 2);       // no temp link left
  // The next install keeps v1 (what is served) as previous and drops v2.
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c3", 0644}}));
  auto v3 = agent::certificate_versions(out, "ex");
  REQUIRE(v3);
  CHECK(v3->current == "v3");
  CHECK(v3->previous == "v1");
  CHECK(entries(out + "/.ex.d") == 2);
  CHECK_FALSE(agent::switch_certificate_version(out, "ex", "v9"));  // not kept
  CHECK_FALSE(agent::switch_certificate_version(out, "ex", "../x"));
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "c3");
}
