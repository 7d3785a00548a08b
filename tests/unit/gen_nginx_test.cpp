// `acmectl gen nginx` as text: what each option puts where, and every refusal. That the
// text is valid nginx is tests/integration/gen_nginx_check.sh's job (nginx -t).
#include <doctest/doctest.h>

#include <string>

#include "gen/nginx.hpp"

using namespace agent::gen;

namespace {

NginxOptions base() {
  NginxOptions o;
  o.domains = {"example.com", "www.example.com"};
  o.upstreams = {"127.0.0.1:8080"};
  return o;
}

std::string render(const NginxOptions& o) {
  auto r = nginx_site(o);
  REQUIRE_MESSAGE(r, (r ? std::string() : r.error().message));
  return *r;
}

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

std::string error_of(const NginxOptions& o) {
  auto r = nginx_site(o);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == acme::Errc::kInvalidInput);
  CHECK(r.error().message.find('\n') == std::string::npos);
  return r.error().message;
}

}  // namespace

TEST_CASE("nginx: defaults") {
  const std::string t = render(base());
  // Dual stack by default: Let's Encrypt validates over IPv6 when there is an AAAA record.
  CHECK(has(t, "    listen 80;\n    listen [::]:80;\n"));
  CHECK(has(t, "    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n"));
  CHECK(count(t, "server_name example.com www.example.com;") == 2);
  CHECK(has(
      t, "location ^~ /.well-known/acme-challenge/ {\n        proxy_pass http://127.0.0.1:8402;"));
  CHECK(has(t, "return 301 https://$host$request_uri;"));
  CHECK(has(t, "ssl_certificate /var/lib/acmectl/live/example.com/fullchain.pem;"));
  CHECK(has(t, "ssl_certificate_key /var/lib/acmectl/live/example.com/privkey.pem;"));
  CHECK(has(t, "ssl_protocols TLSv1.2 TLSv1.3;"));
  CHECK_FALSE(has(t, "TLSv1.1"));
  CHECK(has(t, "add_header Strict-Transport-Security \"max-age=31536000\" always;"));
  CHECK(has(
      t, "upstream acmectl_example_com_app {\n    server 127.0.0.1:8080;\n    keepalive 32;\n}"));
  for (const char* h : {"proxy_set_header Host $host;", "proxy_set_header X-Real-IP $remote_addr;",
                        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                        "proxy_set_header X-Forwarded-Proto $scheme;"}) {
    CAPTURE(h);
    CHECK(has(t, h));
  }
  // keepalive to upstreams needs HTTP/1.1 without "Connection: close".
  CHECK(has(t, "proxy_http_version 1.1;"));
  CHECK(has(t, "proxy_set_header Connection \"\";"));
  CHECK_FALSE(has(t, "Access-Control"));
  CHECK_FALSE(has(t, "least_conn"));
  CHECK(count(t, "{") == count(t, "}"));
}

TEST_CASE("nginx: upstream balance, parameters and routes") {
  auto o = base();
  o.upstreams = {"10.0.0.1:8080,weight=3,max_fails=2,fail_timeout=15s", "[::1]:8080"};
  o.balance = "least_conn";
  o.keepalive = 0;
  o.routes = {"/api/user=127.0.0.1:8081", "/api/user/=127.0.0.1:8082,weight=2",
              "/api/order=127.0.0.1:8083"};
  const std::string t = render(o);
  CHECK(has(t,
            "    least_conn;\n    server 10.0.0.1:8080 weight=3 max_fails=2 fail_timeout=15s;\n"
            "    server [::1]:8080;\n}"));
  CHECK_FALSE(has(t, "keepalive"));
  // Both spellings of /api/user go to one upstream with two servers.
  CHECK(has(t,
            "upstream acmectl_example_com_route_api_user {\n    least_conn;\n"
            "    server 127.0.0.1:8081;\n    server 127.0.0.1:8082 weight=2;\n}"));
  CHECK(has(
      t, "location = /api/user {\n        proxy_pass http://acmectl_example_com_route_api_user;"));
  CHECK(has(
      t,
      "location ^~ /api/user/ {\n        proxy_pass http://acmectl_example_com_route_api_user;"));
  CHECK(has(
      t,
      "location ^~ /api/order/ {\n        proxy_pass http://acmectl_example_com_route_api_order;"));
  CHECK(count(t, "upstream ") == 3);

  o.balance = "ip_hash";
  o.keepalive = 8;
  const std::string h = render(o);
  CHECK(has(h, "    ip_hash;\n"));
  // keepalive comes after the balancing method (nginx requires it).
  CHECK(h.find("keepalive 8;") > h.find("ip_hash;"));
}

TEST_CASE("nginx: ports, webroot, cert dir, wildcard") {
  auto o = base();
  o.listen_http = "127.0.0.1:8081";
  o.listen_https = "8443";
  o.webroot = "/var/www/acme/";
  o.domains = {"*.example.com", "example.com"};
  std::string t = render(o);
  CHECK(has(t, "listen 127.0.0.1:8081;"));
  CHECK(has(t, "listen 8443 ssl http2;"));
  CHECK(has(t, "return 301 https://$host:8443$request_uri;"));
  CHECK(has(t,
            "root /var/www/acme;\n        default_type text/plain;\n        try_files $uri =404;"));
  CHECK_FALSE(has(t, "8402"));
  CHECK(has(t, "/var/lib/acmectl/live/_wildcard.example.com/fullchain.pem"));
  CHECK(has(t, "server_name *.example.com example.com;"));

  o.cert_dir = "/etc/acmectl/live/site/";
  o.listen_https = "[::1]:443";
  t = render(o);
  CHECK(has(t, "ssl_certificate /etc/acmectl/live/site/fullchain.pem;"));
  CHECK(has(t, "listen [::1]:443 ssl http2;"));
  CHECK(has(t, "return 301 https://$host$request_uri;"));

  o = base();
  o.ipv6 = false;
  t = render(o);
  CHECK_FALSE(has(t, "[::]"));
  o.ipv6 = true;
  o.listen_http = "127.0.0.1:8080";
  t = render(o);
  CHECK(has(t, "    listen 127.0.0.1:8080;\n    server_name"));  // an address: as given
  CHECK(has(t, "    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n"));

  o = base();
  o.state_dir = "/srv/acmectl";
  o.acme_proxy = "127.0.0.1:9402";
  t = render(o);
  CHECK(has(t, "/srv/acmectl/live/example.com/privkey.pem"));
  CHECK(has(t, "proxy_pass http://127.0.0.1:9402;"));
}

TEST_CASE("nginx: HSTS variants; every location that adds headers repeats it") {
  auto o = base();
  o.hsts_max_age = 63072000;
  o.hsts_include_subdomains = true;
  o.hsts_preload = true;
  o.static_path = "/static";
  o.static_root = "/srv/app/static";
  std::string t = render(o);
  const std::string hsts =
      "add_header Strict-Transport-Security \"max-age=63072000; includeSubDomains; preload\" "
      "always;";
  CHECK(has(t, hsts));
  // The static location has its own add_header, which drops the server's: repeated there.
  const size_t loc = t.find("location ^~ /static/ {");
  REQUIRE(loc != std::string::npos);
  const std::string block = t.substr(loc, t.find('}', loc) - loc);
  CHECK(has(block, hsts));
  CHECK(has(block, "alias /srv/app/static/;"));
  CHECK(has(block, "expires 30d;"));
  CHECK(has(block, "add_header Cache-Control \"public, immutable\";"));

  o = base();
  o.hsts = false;
  t = render(o);
  CHECK_FALSE(has(t, "Strict-Transport-Security"));
  CHECK(has(t, "X-Content-Type-Options"));
}

TEST_CASE("nginx: CORS for listed origins, or any origin without credentials") {
  auto o = base();
  o.cors_origins = {"https://app.example.com", "http://localhost:3000"};
  o.cors_credentials = true;
  std::string t = render(o);
  CHECK(has(t,
            "map $http_origin $acmectl_example_com_cors_origin {\n    default \"\";\n"
            "    \"https://app.example.com\" $http_origin;\n"
            "    \"http://localhost:3000\" $http_origin;\n}"));
  CHECK(has(t, "add_header Access-Control-Allow-Origin $acmectl_example_com_cors_origin always;"));
  CHECK(has(t, "add_header Access-Control-Allow-Credentials true always;"));
  CHECK(has(t, "add_header Vary Origin always;"));
  CHECK(has(t, "if ($request_method = OPTIONS) {"));
  // The application's own CORS headers are hidden: one Access-Control-Allow-Origin only.
  CHECK(has(t, "        proxy_hide_header Access-Control-Allow-Origin;\n"));
  CHECK(has(t, "        proxy_hide_header Vary;\n"));
  CHECK(has(t, "return 204;"));
  CHECK_FALSE(has(t, "Access-Control-Allow-Origin \"*\""));

  o.cors_origins = {"*"};
  o.cors_credentials = false;
  t = render(o);
  CHECK(has(t, "add_header Access-Control-Allow-Origin \"*\" always;"));
  CHECK_FALSE(has(t, "add_header Access-Control-Allow-Credentials"));
  CHECK_FALSE(has(t, "map $http_origin"));
}

TEST_CASE("nginx: refusals name the option") {
  struct Case {
    const char* needle;
    void (*tweak)(NginxOptions&);
  };
  const Case cases[] = {
      {"-d", [](NginxOptions& o) { o.domains.clear(); }},
      {"-d 'bad name'", [](NginxOptions& o) { o.domains = {"bad name"}; }},
      {"twice",
       [](NginxOptions& o) {
         o.domains = {"a.example", "a.example"};
       }},
      {"--upstream", [](NginxOptions& o) { o.upstreams.clear(); }},
      {"--upstream '127.0.0.1'", [](NginxOptions& o) { o.upstreams = {"127.0.0.1"}; }},
      {"unknown parameter 'wieght'", [](NginxOptions& o) { o.upstreams = {"h:1,wieght=2"}; }},
      {"weight", [](NginxOptions& o) { o.upstreams = {"h:1,weight=0"}; }},
      {"fail_timeout", [](NginxOptions& o) { o.upstreams = {"h:1,fail_timeout=soon"}; }},
      {"given twice", [](NginxOptions& o) { o.upstreams = {"h:1,weight=1,weight=2"}; }},
      {"PATH=HOST:PORT", [](NginxOptions& o) { o.routes = {"/api"}; }},
      {"PATH=HOST:PORT", [](NginxOptions& o) { o.routes = {"/api="}; }},
      {"--route path", [](NginxOptions& o) { o.routes = {"api=h:1"}; }},
      {"'/' is the --upstream", [](NginxOptions& o) { o.routes = {"/=h:1"}; }},
      {"acmectl", [](NginxOptions& o) { o.routes = {"/.well-known/acme-challenge=h:1"}; }},
      {"not both",
       [](NginxOptions& o) {
         o.webroot = "/var/www";
         o.acme_proxy = "127.0.0.1:1";
       }},
      {"--webroot", [](NginxOptions& o) { o.webroot = "var/www"; }},
      {"--acme-proxy", [](NginxOptions& o) { o.acme_proxy = "localhost"; }},
      {"--cert-dir", [](NginxOptions& o) { o.cert_dir = "/etc/x y"; }},
      {"--listen-http", [](NginxOptions& o) { o.listen_http = "http"; }},
      {"both", [](NginxOptions& o) { o.listen_https = "80"; }},
      {"--hsts-preload", [](NginxOptions& o) { o.hsts_preload = true; }},
      {"--hsts-preload",
       [](NginxOptions& o) {
         o.hsts_preload = true;
         o.hsts_include_subdomains = true;
         o.hsts_max_age = 86400;
       }},
      {"--no-hsts",
       [](NginxOptions& o) {
         o.hsts = false;
         o.hsts_include_subdomains = true;
       }},
      {"go together", [](NginxOptions& o) { o.static_path = "/static/"; }},
      {"--static-root",
       [](NginxOptions& o) {
         o.static_path = "/static/";
         o.static_root = "static";
       }},
      {"--static-expires",
       [](NginxOptions& o) {
         o.static_path = "/s/";
         o.static_root = "/srv";
         o.static_expires = "forever";
       }},
      {"also a --route",
       [](NginxOptions& o) {
         o.static_path = "/api/";
         o.static_root = "/srv";
         o.routes = {"/api=h:1"};
       }},
      {"credentials",
       [](NginxOptions& o) {
         o.cors_origins = {"*"};
         o.cors_credentials = true;
       }},
      {"alone",
       [](NginxOptions& o) {
         o.cors_origins = {"*", "https://a.example"};
       }},
      {"needs at least one --cors-origin", [](NginxOptions& o) { o.cors_credentials = true; }},
      {"--cors-origin 'app.example.com'",
       [](NginxOptions& o) { o.cors_origins = {"app.example.com"}; }},
      {"no path", [](NginxOptions& o) { o.cors_origins = {"https://a.example/"}; }},
      {"scheme", [](NginxOptions& o) { o.cors_origins = {"ftp://a.example"}; }},
      {"lower case", [](NginxOptions& o) { o.cors_origins = {"https://A.example"}; }},
      {"--client-max-body-size", [](NginxOptions& o) { o.client_max_body_size = "10 m"; }},
      {"--client-max-body-size", [](NginxOptions& o) { o.client_max_body_size = "m"; }},
      {"--client-max-body-size",
       [](NginxOptions& o) { o.client_max_body_size = "99999999999999g"; }},
      {"--static-expires",
       [](NginxOptions& o) {
         o.static_path = "/s/";
         o.static_root = "/srv";
         o.static_expires = "500ms";
       }},
      {"fail_timeout", [](NginxOptions& o) { o.upstreams = {"h:1,fail_timeout=500ms"}; }},
  };
  for (const auto& c : cases) {
    auto o = base();
    c.tweak(o);
    const std::string msg = error_of(o);
    CAPTURE(c.needle);
    CAPTURE(msg);
    CHECK(msg.find(c.needle) != std::string::npos);
  }
}

TEST_CASE("nginx: names of different sites never collide") {
  auto a = base();
  a.domains = {"a-b.example"};
  auto b = base();
  b.domains = {"a.b.example"};
  const std::string ta = render(a), tb = render(b);
  CHECK(has(ta, "upstream acmectl_a__b_example_app {"));
  CHECK(has(tb, "upstream acmectl_a_b_example_app {"));
  auto w = base();
  w.domains = {"*.example.com"};
  CHECK(has(render(w), "upstream acmectl__wildcard_example_com_app {"));
  w.client_max_body_size = "0";  // nginx: no limit
  CHECK(has(render(w), "client_max_body_size 0;"));
}
