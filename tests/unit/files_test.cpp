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
