// Http01WebrootSolver against a real directory tree, links planted as a hostile neighbour
// would (issue 13 finding 9).
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "acme/challenge.hpp"

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/acmectl-webroot-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { (void)!system(("rm -rf '" + path + "'").c_str()); }
};

const char* const kToken = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

acme::ChallengeContext context(std::string token = kToken) {
  acme::ChallengeContext c;
  c.identifier = {"dns", "a.test"};
  c.challenge_type = "http-01";
  c.token = std::move(token);
  c.key_authorization = c.token + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
  return c;
}

bool exists(const std::string& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int entries(const std::string& dir) {
  const std::string cmd = "test $(ls -A '" + dir + "' | wc -l) -eq ";
  for (int n = 0; n < 100; ++n) {
    if (system((cmd + std::to_string(n)).c_str()) == 0) return n;
  }
  return -1;
}

}  // namespace

TEST_CASE("webroot: writes the key authorization 0644 and cleanup removes the token") {
  TempDir d;
  acme::Http01WebrootSolver solver(d.path);
  const auto ctx = context();
  REQUIRE(solver.present(ctx));
  const std::string file = d.path + "/.well-known/acme-challenge/" + kToken;
  CHECK(slurp(file) == ctx.key_authorization);
  struct stat st {};
  REQUIRE(stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  CHECK(entries(d.path + "/.well-known/acme-challenge") == 1);  // no temp file left
  solver.cleanup(ctx);
  // The token goes; the directories stay (another solver may be using them right now).
  CHECK(entries(d.path + "/.well-known/acme-challenge") == 0);
}

TEST_CASE("webroot: solvers sharing a webroot concurrently never remove each other's path") {
  TempDir d;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&d, &failures, t] {
      for (int i = 0; i < 50; ++i) {
        acme::Http01WebrootSolver solver(d.path);
        auto ctx = context();
        ctx.token = "tok" + std::to_string(t) + "_" + std::to_string(i);
        if (!solver.present(ctx)) ++failures;
        solver.cleanup(ctx);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
}

TEST_CASE("webroot: directories that existed before stay after cleanup") {
  TempDir d;
  REQUIRE(mkdir((d.path + "/.well-known").c_str(), 0755) == 0);
  REQUIRE(mkdir((d.path + "/.well-known/acme-challenge").c_str(), 0755) == 0);
  acme::Http01WebrootSolver solver(d.path);
  REQUIRE(solver.present(context()));
  solver.cleanup(context());
  CHECK(exists(d.path + "/.well-known/acme-challenge"));
  CHECK(entries(d.path + "/.well-known/acme-challenge") == 0);
}

TEST_CASE("webroot: a linked .well-known/acme-challenge is refused, nothing written elsewhere") {
  TempDir d;
  TempDir elsewhere;
  const std::string webroot = d.path + "/www";
  REQUIRE(mkdir(webroot.c_str(), 0755) == 0);
  REQUIRE(mkdir((webroot + "/.well-known").c_str(), 0755) == 0);
  REQUIRE(symlink(elsewhere.path.c_str(), (webroot + "/.well-known/acme-challenge").c_str()) == 0);
  acme::Http01WebrootSolver solver(webroot);
  auto r = solver.present(context());
  REQUIRE_FALSE(r);
  CHECK(r.error().code == acme::Errc::kInvalidInput);
  CHECK(r.error().message ==
        "webroot: " + webroot +
            "/.well-known/acme-challenge is a symbolic link: refusing to follow it out of the "
            "webroot (give the directory that really holds .well-known as the webroot)");
  CHECK(entries(elsewhere.path) == 0);
  solver.cleanup(context());
  CHECK(exists(webroot + "/.well-known/acme-challenge"));  // the link is not ours to remove
}

TEST_CASE("webroot: a linked .well-known is refused, nothing created through it") {
  TempDir d;
  TempDir elsewhere;
  REQUIRE(symlink(elsewhere.path.c_str(), (d.path + "/.well-known").c_str()) == 0);
  acme::Http01WebrootSolver solver(d.path);
  auto r = solver.present(context());
  REQUIRE_FALSE(r);
  CHECK(r.error().message.rfind("webroot: " + d.path + "/.well-known is a symbolic link", 0) == 0);
  CHECK(entries(elsewhere.path) == 0);
}

TEST_CASE("webroot: a link planted at the token's name is replaced, its target untouched") {
  TempDir d;
  TempDir elsewhere;
  const std::string victim = elsewhere.path + "/index.html";
  { std::ofstream(victim) << "precious"; }
  REQUIRE(mkdir((d.path + "/.well-known").c_str(), 0755) == 0);
  REQUIRE(mkdir((d.path + "/.well-known/acme-challenge").c_str(), 0755) == 0);
  const std::string file = d.path + "/.well-known/acme-challenge/" + kToken;
  REQUIRE(symlink(victim.c_str(), file.c_str()) == 0);
  acme::Http01WebrootSolver solver(d.path);
  REQUIRE(solver.present(context()));
  CHECK(slurp(victim) == "precious");
  CHECK(slurp(file) == context().key_authorization);
  solver.cleanup(context());
  CHECK(slurp(victim) == "precious");
  CHECK_FALSE(exists(file));
}

TEST_CASE("webroot: a link swapped in before cleanup does not make it delete elsewhere") {
  TempDir d;
  TempDir elsewhere;
  acme::Http01WebrootSolver solver(d.path);
  REQUIRE(solver.present(context()));
  // The neighbour replaces acme-challenge by a link to a directory holding a file named
  // like the token: a path-based unlink would remove that file.
  const std::string ch = d.path + "/.well-known/acme-challenge";
  REQUIRE(rename(ch.c_str(), (d.path + "/moved").c_str()) == 0);
  REQUIRE(symlink(elsewhere.path.c_str(), ch.c_str()) == 0);
  { std::ofstream(elsewhere.path + "/" + kToken) << "not yours"; }
  solver.cleanup(context());
  CHECK(slurp(elsewhere.path + "/" + kToken) == "not yours");
}

TEST_CASE("webroot: a token that is not base64url never reaches a path") {
  TempDir d;
  acme::Http01WebrootSolver solver(d.path);
  for (const char* bad : {"../../etc/passwd", "a/b", "..", ".hidden", "tok en"}) {
    auto r = solver.present(context(bad));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == acme::Errc::kProtocol);
  }
  CHECK(entries(d.path) == 0);
}

TEST_CASE("webroot: a missing webroot is refused") {
  acme::Http01WebrootSolver solver("/nonexistent/webroot");
  auto r = solver.present(context());
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "webroot /nonexistent/webroot is not a directory");
}
