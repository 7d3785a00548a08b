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
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c1", 0644}, {"privkey.pem", "k1", 0600}}));
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "c1");
  CHECK(mode_of(out + "/ex/privkey.pem") == 0600);
  char buf[256] = {0};
  REQUIRE(readlink((out + "/ex").c_str(), buf, sizeof buf - 1) > 0);
  CHECK(std::string(buf) == ".ex.d/v1");
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c2", 0644}, {"privkey.pem", "k2", 0600}}));
  CHECK(agent::read_file(out + "/ex/cert.pem").value() == "c2");
  CHECK(agent::read_file(out + "/.ex.d/v1/privkey.pem").value() == "k1");  // previous kept
  REQUIRE(agent::install_certificate_files(out, "ex", {{"cert.pem", "c3", 0644}, {"privkey.pem", "k3", 0600}}));
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
