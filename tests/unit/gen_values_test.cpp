// The checks every generator runs on user values before they reach a config file.
#include <doctest/doctest.h>

#include "gen/values.hpp"

using namespace agent::gen;

TEST_CASE("values: host:port") {
  auto a = parse_host_port("127.0.0.1:8080", "--upstream");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 8080);
  CHECK(a->str() == "127.0.0.1:8080");

  auto b = parse_host_port("[::1]:9000", "--upstream");
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(b->str() == "[::1]:9000");

  auto c = parse_host_port("app_backend.internal:80", "--upstream");
  REQUIRE(c);
  CHECK(c->host == "app_backend.internal");

  for (const char* bad :
       {"127.0.0.1", "127.0.0.1:", ":80", "host:0", "host:65536", "host:80x", "::1:80", "[::1]80",
        "[nothost]:80", "bad host:80", "a;b:80", "-lead:80", "a..b:80", "host:-1"}) {
    CAPTURE(bad);
    auto r = parse_host_port(bad, "--upstream");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == acme::Errc::kInvalidInput);
    CHECK(r.error().message.find("--upstream '") == 0);
  }
}

TEST_CASE("values: server names are normalised, bad ones name the option") {
  auto n = check_server_names({"Example.COM", "*.example.com"}, "-d");
  REQUIRE(n);
  CHECK((*n == std::vector<std::string>{"example.com", "*.example.com"}));
  for (const char* bad : {"exa mple.com", "example..com", "-a.com", "a/b", "", "a;b.com"}) {
    CAPTURE(bad);
    auto r = check_server_names({bad}, "-d");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("-d '") == 0);
  }
  auto dup = check_server_names({"a.example", "A.example"}, "-d");
  REQUIRE_FALSE(dup);
  CHECK(dup.error().message.find("twice") != std::string::npos);
}

TEST_CASE("values: paths") {
  CHECK(check_abs_path("/var/lib/acmectl/live/x", "--cert-dir"));
  for (const char* bad : {"relative", "", "/a b", "/a;b", "/a{b", "/a\"b", "/a$b", "/a/../b",
                          "/a/..", "/a#b", "/a\nb"}) {
    CAPTURE(bad);
    CHECK_FALSE(check_abs_path(bad, "--cert-dir"));
  }
  CHECK(check_url_path("/api/user", "--route"));
  CHECK(check_url_path("/static/", "--route"));
  for (const char* bad : {"api", "/a b", "/a//b", "/a/../b", "/a*", "/a?x", "/(a)", "~/a"}) {
    CAPTURE(bad);
    CHECK_FALSE(check_url_path(bad, "--route"));
  }
}

TEST_CASE("values: nginx times, ports, identifiers, quoting") {
  for (const char* t : {"10s", "1m", "30d", "3600", "2h", "1y"}) {
    CAPTURE(t);
    CHECK(check_nginx_time(t, "fail_timeout"));
  }
  for (const char* t : {"", "s", "10 s", "10x", "-1s", "1.5s", "9999999999s", "500ms"}) {
    CAPTURE(t);
    CHECK_FALSE(check_nginx_time(t, "fail_timeout"));
  }
  CHECK(*parse_port("443", "--listen-https") == 443);
  CHECK_FALSE(parse_port("0", "--listen-https"));
  CHECK_FALSE(parse_port("70000", "--listen-https"));
  CHECK(cert_dir_name("*.example.com") == "_wildcard.example.com");
  CHECK(cert_dir_name("example.com") == "example.com");
  CHECK(identifier_from("/api/user") == "api_user");
  CHECK(identifier_from("_wildcard.Example.com") == "wildcard_example_com");
  CHECK(identifier_from("///") == "root");
  CHECK(double_quoted(R"(a"b\c)") == R"("a\"b\\c")");
}
