#pragma once
// `acmectl gen nginx`: a TLS reverse proxy site for names whose certificates acmectl keeps
// renewed. Port 80 answers ACME HTTP-01 (proxied to the agent's responder, or from a
// webroot) and redirects everything else to HTTPS; the HTTPS server proxies to upstreams
// with modern TLS and HSTS. A pure function of the options; tests run `nginx -t` on it.

#include <string>
#include <vector>

#include "acme/result.hpp"

namespace agent::gen {

struct NginxOptions {
  std::vector<std::string> domains;            // -d, server_name; the first names the cert dir
  std::vector<std::string> upstreams;          // HOST:PORT[,weight=N,max_fails=N,fail_timeout=T]
  std::string balance = "round_robin";         // round_robin | least_conn | ip_hash
  int keepalive = 32;                          // idle upstream connections per worker (0: none)
  std::vector<std::string> routes;             // PATH=HOST:PORT[,params] (repeat PATH for more)
  std::string acme_proxy;                      // the agent's HTTP-01 responder (default below)
  std::string webroot;                         // or: serve challenges from DIR
  std::string cert_dir;                        // holds fullchain.pem + privkey.pem
  std::string state_dir = "/var/lib/acmectl";  // default cert dir: STATE/live/<first name>
  std::string listen_http = "80";              // PORT or ADDR:PORT
  std::string listen_https = "443";
  bool ipv6 = true;  // also listen on [::]:PORT (port-only listens)
  bool hsts = true;
  long long hsts_max_age = 31536000;  // one year
  bool hsts_include_subdomains = false;
  bool hsts_preload = false;
  std::string static_path;  // URL prefix of static assets ("/static/")
  std::string static_root;  // directory they are served from
  std::string static_expires = "30d";
  std::vector<std::string> cors_origins;  // exact origins ("https://app.example.com") or "*"
  bool cors_credentials = false;
  std::string client_max_body_size = "10m";
  // `http2 on;` (nginx >= 1.25.1) instead of `listen … ssl http2`. `gen nginx` sets it from
  // --nginx-version, else from `nginx -v` when nginx is installed.
  bool http2_directive = false;
};

// "1.25.1" or "nginx version: nginx/1.25.1 (Debian)": whether that nginx takes
// `http2 on;`. kInvalidInput when no version can be read.
acme::Result<bool> nginx_has_http2_directive(const std::string& version);

inline constexpr const char* kDefaultAcmeProxy = "127.0.0.1:8402";

// The site config, or kInvalidInput naming the bad option.
acme::Result<std::string> nginx_site(const NginxOptions& options);

}  // namespace agent::gen
