#include "gen/nginx.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "gen/values.hpp"

namespace agent::gen {

namespace {

struct Server {
  HostPort addr;
  int weight = 0;      // 0: nginx's default (1)
  int max_fails = -1;  // -1: nginx's default (1)
  std::string fail_timeout;
};

struct Upstream {
  std::string name;
  std::string path;  // empty for the default upstream
  std::vector<Server> servers;
};

struct Listen {
  std::string addr;  // empty: every address
  int port = 0;
  std::string str() const {
    return addr.empty() ? std::to_string(port) : addr + ":" + std::to_string(port);
  }
};

acme::Result<int> small_int(std::string_view text, std::string_view what, int lo, int hi) {
  int v = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc{} || p != end || v < lo || v > hi) {
    return invalid_input(std::string(what) + " '" + std::string(text) +
                         "': must be a number from " + std::to_string(lo) + " to " +
                         std::to_string(hi));
  }
  return v;
}

// HOST:PORT[,weight=N][,max_fails=N][,fail_timeout=T]
acme::Result<Server> parse_server(std::string_view spec, std::string_view what) {
  Server s;
  const size_t comma = spec.find(',');
  ACME_ASSIGN(s.addr, parse_host_port(spec.substr(0, comma), what));
  std::string_view rest =
      comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
  std::set<std::string, std::less<>> seen;
  while (comma != std::string_view::npos) {
    const size_t next = rest.find(',');
    const std::string_view param = rest.substr(0, next);
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) {
      return invalid_input(std::string(what) + " '" + std::string(spec) + "': parameter '" +
                           std::string(param) + "' is not KEY=VALUE");
    }
    const std::string_view key = param.substr(0, eq);
    const std::string_view value = param.substr(eq + 1);
    const std::string label = std::string(what) + " " + std::string(key);
    if (!seen.emplace(key).second) {
      return invalid_input(std::string(what) + " '" + std::string(spec) + "': " + std::string(key) +
                           " given twice");
    }
    if (key == "weight") {
      ACME_ASSIGN(s.weight, small_int(value, label, 1, 1000));
    } else if (key == "max_fails") {
      ACME_ASSIGN(s.max_fails, small_int(value, label, 0, 1000));
    } else if (key == "fail_timeout") {
      ACME_CHECK(check_nginx_time(value, label));
      s.fail_timeout = std::string(value);
    } else {
      return invalid_input(std::string(what) + " '" + std::string(spec) + "': unknown parameter '" +
                           std::string(key) + "' (known: weight, max_fails, fail_timeout)");
    }
    if (next == std::string_view::npos) break;
    rest = rest.substr(next + 1);
  }
  return s;
}

acme::Result<Listen> parse_listen(const std::string& text, std::string_view what) {
  Listen l;
  if (text.find(':') == std::string::npos) {
    ACME_ASSIGN(l.port, parse_port(text, what));
    return l;
  }
  ACME_ASSIGN(HostPort hp, parse_host_port(text, what));
  l.addr = hp.host.find(':') != std::string::npos ? "[" + hp.host + "]" : hp.host;
  l.port = hp.port;
  return l;
}

// An origin as browsers send it: scheme://host[:port], nothing after.
acme::Result<void> check_origin(const std::string& origin) {
  const std::string what = "--cors-origin '" + origin + "'";
  const size_t sep = origin.find("://");
  if (sep == std::string::npos) return invalid_input(what + ": expected SCHEME://HOST[:PORT]");
  const std::string scheme = origin.substr(0, sep);
  if (scheme != "https" && scheme != "http")
    return invalid_input(what + ": scheme must be https or http");
  std::string hostport = origin.substr(sep + 3);
  if (hostport.empty() || hostport.find_first_of("/?#") != std::string::npos) {
    return invalid_input(what + ": an origin has no path, query or fragment");
  }
  std::string host = hostport;
  if (const size_t colon = hostport.rfind(':');
      colon != std::string::npos && hostport.back() != ']') {
    ACME_CHECK(parse_port(hostport.substr(colon + 1), "--cors-origin port"));
    host = hostport.substr(0, colon);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    ACME_CHECK(parse_host_port(host + ":1", "--cors-origin"));
    return acme::ok();
  }
  // A single-label host ("http://localhost:3000") is a fine origin, though no certificate
  // name: lower-case letters, digits and '-' only.
  if (!host.empty() && host.find('.') == std::string::npos) {
    const bool ldh = std::all_of(host.begin(), host.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
    if (ldh && host.front() != '-' && host.back() != '-') return acme::ok();
  }
  auto name = check_server_name(host, "--cors-origin host");
  if (!name) return std::move(name).error();
  if (*name != host)
    return invalid_input(what + ": write the host in lower case, without a wildcard");
  if (host.starts_with("*.")) return invalid_input(what + ": wildcards are not origins");
  return acme::ok();
}

// The site's part of upstream, map and variable names: one-to-one for DNS names ('.' is
// '_', '-' is "__"), so two generated sites never share a name.
std::string site_id(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '-') {
      out += "__";
    } else if (c == '.' || c == '_') {
      out += '_';
    } else {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::string server_line(const Server& s) {
  std::string line = "    server " + s.addr.str();
  if (s.weight > 0) line += " weight=" + std::to_string(s.weight);
  if (s.max_fails >= 0) line += " max_fails=" + std::to_string(s.max_fails);
  if (!s.fail_timeout.empty()) line += " fail_timeout=" + s.fail_timeout;
  return line + ";\n";
}

class Writer {
 public:
  explicit Writer(const NginxOptions& o) : o_(o) {}

  acme::Result<std::string> render() {
    ACME_CHECK(validate());
    std::string out;
    header(out);
    for (const auto& u : upstreams_) upstream_block(out, u);
    if (cors_map_) cors_map(out);
    http_server(out);
    https_server(out);
    return out;
  }

 private:
  acme::Result<void> validate() {
    if (o_.domains.empty()) return invalid_input("gen nginx: give at least one -d NAME");
    if (o_.upstreams.empty())
      return invalid_input("gen nginx: give at least one --upstream HOST:PORT");
    ACME_ASSIGN(names_, check_server_names(o_.domains, "-d"));
    site_ = site_id(cert_dir_name(names_.front()));

    Upstream def{"acmectl_" + site_ + "_app", "", {}};
    for (const auto& spec : o_.upstreams) {
      ACME_ASSIGN(Server s, parse_server(spec, "--upstream"));
      def.servers.push_back(std::move(s));
    }
    upstreams_.push_back(std::move(def));
    for (const auto& r : o_.routes) {
      const size_t eq = r.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == r.size()) {
        return invalid_input("--route '" + r +
                             "': expected PATH=HOST:PORT (e.g. /api/user=127.0.0.1:8081)");
      }
      std::string path = r.substr(0, eq);
      ACME_CHECK(check_url_path(path, "--route path"));
      while (path.size() > 1 && path.back() == '/') path.pop_back();
      if (path == "/")
        return invalid_input("--route '" + r + "': '/' is the --upstream; route a sub-path");
      if (path.starts_with("/.well-known/acme-challenge")) {
        return invalid_input("--route '" + r + "': the ACME challenge path belongs to acmectl");
      }
      ACME_ASSIGN(Server s, parse_server(std::string_view(r).substr(eq + 1), "--route " + path));
      auto it = std::find_if(upstreams_.begin(), upstreams_.end(),
                             [&](const Upstream& u) { return u.path == path; });
      if (it == upstreams_.end()) {
        std::string name = "acmectl_" + site_ + "_route_" + identifier_from(path);
        for (int n = 2; std::any_of(upstreams_.begin(), upstreams_.end(),
                                    [&](const Upstream& u) { return u.name == name; });
             ++n) {
          name = "acmectl_" + site_ + "_route_" + identifier_from(path) + "_" + std::to_string(n);
        }
        upstreams_.push_back(Upstream{name, path, {}});
        it = std::prev(upstreams_.end());
      }
      it->servers.push_back(std::move(s));
    }

    if (!o_.acme_proxy.empty() && !o_.webroot.empty()) {
      return invalid_input("gen nginx: use either --acme-proxy or --webroot, not both");
    }
    if (!o_.webroot.empty()) {
      ACME_CHECK(check_abs_path(o_.webroot, "--webroot"));
    } else {
      ACME_ASSIGN(acme_proxy_,
                  parse_host_port(o_.acme_proxy.empty() ? kDefaultAcmeProxy : o_.acme_proxy,
                                  "--acme-proxy"));
    }
    if (!o_.cert_dir.empty()) {
      ACME_CHECK(check_abs_path(o_.cert_dir, "--cert-dir"));
      cert_dir_ = o_.cert_dir;
    } else {
      ACME_CHECK(check_abs_path(o_.state_dir, "--state-dir"));
      cert_dir_ = o_.state_dir + "/live/" + cert_dir_name(names_.front());
    }
    while (cert_dir_.size() > 1 && cert_dir_.back() == '/') cert_dir_.pop_back();

    ACME_ASSIGN(http_, parse_listen(o_.listen_http, "--listen-http"));
    ACME_ASSIGN(https_, parse_listen(o_.listen_https, "--listen-https"));
    if (http_.port == https_.port && http_.addr == https_.addr) {
      return invalid_input("gen nginx: --listen-http and --listen-https are both " + http_.str());
    }

    if (o_.hsts) {
      if (o_.hsts_max_age < 0) return invalid_input("--hsts-max-age must not be negative");
      if (o_.hsts_preload && (!o_.hsts_include_subdomains || o_.hsts_max_age < 31536000)) {
        return invalid_input(
            "--hsts-preload needs --hsts-include-subdomains and --hsts-max-age of at least "
            "31536000 (the preload list's requirements)");
      }
    } else if (o_.hsts_preload || o_.hsts_include_subdomains) {
      return invalid_input(
          "gen nginx: --no-hsts contradicts --hsts-preload / --hsts-include-subdomains");
    }

    if (o_.static_path.empty() != o_.static_root.empty()) {
      return invalid_input("gen nginx: --static-path and --static-root go together");
    }
    if (!o_.static_path.empty()) {
      ACME_CHECK(check_url_path(o_.static_path, "--static-path"));
      ACME_CHECK(check_abs_path(o_.static_root, "--static-root"));
      ACME_CHECK(check_nginx_time(o_.static_expires, "--static-expires"));
      static_path_ = o_.static_path;
      if (static_path_.back() != '/') static_path_ += '/';
      static_root_ = o_.static_root;
      if (static_root_.back() != '/') static_root_ += '/';
      if (static_path_ == "/")
        return invalid_input("--static-path '/': static assets need a sub-path");
      for (const auto& u : upstreams_) {
        if (!u.path.empty() && u.path + "/" == static_path_) {
          return invalid_input("--static-path '" + o_.static_path + "' is also a --route");
        }
      }
    }

    const bool any =
        std::find(o_.cors_origins.begin(), o_.cors_origins.end(), "*") != o_.cors_origins.end();
    if (any && o_.cors_origins.size() > 1) {
      return invalid_input("--cors-origin '*' allows every origin: give it alone");
    }
    if (any && o_.cors_credentials) {
      return invalid_input(
          "--cors-origin '*' with --cors-credentials: browsers refuse credentials with a "
          "wildcard origin; list the origins instead");
    }
    if (o_.cors_credentials && o_.cors_origins.empty()) {
      return invalid_input("--cors-credentials needs at least one --cors-origin");
    }
    std::set<std::string> origins;
    for (const auto& origin : o_.cors_origins) {
      if (origin == "*") continue;
      ACME_CHECK(check_origin(origin));
      if (!origins.insert(origin).second)
        return invalid_input("--cors-origin '" + origin + "' given twice");
    }
    cors_any_ = any;
    cors_map_ = !o_.cors_origins.empty() && !any;

    if (o_.keepalive < 0) return invalid_input("--keepalive must not be negative");
    if (o_.client_max_body_size.empty() ||
        o_.client_max_body_size.find_first_not_of("0123456789") == 0 ||
        o_.client_max_body_size.find_first_not_of("0123456789kKmMgG") != std::string::npos ||
        o_.client_max_body_size.find_first_of("kKmMgG") < o_.client_max_body_size.size() - 1 ||
        std::min(o_.client_max_body_size.find_first_not_of("0123456789"),
                 o_.client_max_body_size.size()) > 9) {
      return invalid_input("--client-max-body-size '" + o_.client_max_body_size +
                           "': expected a size such as 10m, 512k, 1g or 0 (no limit)");
    }
    return acme::ok();
  }

  void header(std::string& out) const {
    out += "# nginx site for";
    for (const auto& n : names_) out += " " + n;
    out +=
        " (generated by `acmectl gen nginx`).\n"
        "# Include it in the http {} block, e.g. as /etc/nginx/conf.d/" +
        cert_dir_name(names_.front()) +
        ".conf, then `nginx -t`.\n"
        "# The certificate is kept renewed by acmectl in " +
        cert_dir_ +
        "/;\n"
        "# Reload nginx after renewals: [agent] post_hook = \"systemctl reload nginx\"\n"
        "# (or the deploy hook hooks/reload-nginx.sh).\n";
    if (o_.ipv6 && (http_.addr.empty() || https_.addr.empty())) {
      out += "# Listens on IPv6 too ([::]:PORT); on a host without IPv6 generate with --no-ipv6.\n";
    }
    out += "\n";
  }

  void upstream_block(std::string& out, const Upstream& u) const {
    out += "upstream " + u.name + " {\n";
    if (o_.balance == "least_conn") out += "    least_conn;\n";
    if (o_.balance == "ip_hash") out += "    ip_hash;\n";
    for (const auto& s : u.servers) out += server_line(s);
    if (o_.keepalive > 0) out += "    keepalive " + std::to_string(o_.keepalive) + ";\n";
    out += "}\n\n";
  }

  std::string cors_var() const { return "$acmectl_" + site_ + "_cors_origin"; }

  void cors_map(std::string& out) const {
    // Only listed origins are echoed back; any other gets an empty value, and nginx sends
    // no header for an empty add_header value.
    out += "map $http_origin " + cors_var() + " {\n    default \"\";\n";
    std::set<std::string> seen;
    for (const auto& origin : o_.cors_origins) {
      if (seen.insert(origin).second) out += "    " + double_quoted(origin) + " $http_origin;\n";
    }
    out += "}\n\n";
  }

  std::string listen_line(const Listen& l, bool ssl) const {
    // nginx 1.25.1 deprecated `listen … http2` for the `http2 on;` directive (older ones
    // do not know the directive).
    const std::string suffix =
        std::string(ssl ? (o_.http2_directive ? " ssl" : " ssl http2") : "") + ";\n";
    std::string lines = "    listen " + l.str() + suffix;
    // A port-only listen is every IPv4 address; the IPv6 ones need their own line (Let's
    // Encrypt validates over IPv6 when the name has an AAAA record).
    if (o_.ipv6 && l.addr.empty()) lines += "    listen [::]:" + std::to_string(l.port) + suffix;
    return lines;
  }

  void http_server(std::string& out) const {
    out += "server {\n";
    out += listen_line(http_, false);
    out += "    server_name";
    for (const auto& n : names_) out += " " + n;
    out += ";\n\n";
    out += "    # ACME HTTP-01 challenges for acmectl: plain HTTP, no redirect.\n";
    out += "    location ^~ /.well-known/acme-challenge/ {\n";
    if (o_.webroot.empty()) {
      out += "        proxy_pass http://" + acme_proxy_.str() + ";\n";
      out += "        proxy_set_header Host $host;\n";
      out += "        proxy_set_header X-Real-IP $remote_addr;\n";
      out += "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n";
      out += "        proxy_set_header X-Forwarded-Proto $scheme;\n";
    } else {
      std::string root = o_.webroot;
      while (root.size() > 1 && root.back() == '/') root.pop_back();
      out += "        root " + root + ";\n";
      out += "        default_type text/plain;\n";
      out += "        try_files $uri =404;\n";
    }
    out += "    }\n\n";
    out += "    location / {\n";
    const std::string port = https_.port == 443 ? "" : ":" + std::to_string(https_.port);
    out += "        return 301 https://$host" + port + "$request_uri;\n";
    out += "    }\n}\n\n";
  }

  // Headers every HTTPS response carries. add_header in a location replaces the server's
  // set entirely, so every location that adds its own repeats these.
  std::string security_headers(const char* indent) const {
    std::string h;
    if (o_.hsts) {
      std::string value = "max-age=" + std::to_string(o_.hsts_max_age);
      if (o_.hsts_include_subdomains) value += "; includeSubDomains";
      if (o_.hsts_preload) value += "; preload";
      h += std::string(indent) + "add_header Strict-Transport-Security \"" + value + "\" always;\n";
    }
    h += std::string(indent) + "add_header X-Content-Type-Options nosniff always;\n";
    h += std::string(indent) +
         "add_header Referrer-Policy strict-origin-when-cross-origin always;\n";
    return h;
  }

  std::string cors_headers(const char* indent) const {
    std::string h;
    const std::string in(indent);
    if (cors_any_) {
      h += in + "add_header Access-Control-Allow-Origin \"*\" always;\n";
    } else {
      h += in + "add_header Access-Control-Allow-Origin " + cors_var() + " always;\n";
      h += in + "add_header Vary Origin always;\n";
      if (o_.cors_credentials)
        h += in + "add_header Access-Control-Allow-Credentials true always;\n";
    }
    return h;
  }

  void proxy_location(std::string& out, const std::string& match, const Upstream& u) const {
    out += "    location " + match + " {\n";
    out += "        proxy_pass http://" + u.name + ";\n";
    out += "        proxy_http_version 1.1;\n";
    out += "        proxy_set_header Connection \"\";\n";
    out += "        proxy_set_header Host $host;\n";
    out += "        proxy_set_header X-Real-IP $remote_addr;\n";
    out += "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n";
    out += "        proxy_set_header X-Forwarded-Proto $scheme;\n";
    if (!o_.cors_origins.empty()) {
      // nginx answers CORS: the application's own headers would make a second
      // Access-Control-Allow-Origin, which browsers reject.
      for (const char* h : {"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                            "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                            "Access-Control-Max-Age", "Vary"}) {
        out += std::string("        proxy_hide_header ") + h + ";\n";
      }
      out += security_headers("        ");
      out += cors_headers("        ");
      // Preflight: answered here so the application never sees it. Inside `if`, add_header
      // again replaces the location's set: repeat it all.
      out += "        if ($request_method = OPTIONS) {\n";
      out += security_headers("            ");
      out += cors_headers("            ");
      out +=
          "            add_header Access-Control-Allow-Methods \"GET, POST, PUT, PATCH, DELETE, "
          "OPTIONS\" always;\n";
      out +=
          "            add_header Access-Control-Allow-Headers \"Authorization, Content-Type, "
          "X-Requested-With\" always;\n";
      out += "            add_header Access-Control-Max-Age 600 always;\n";
      out += "            return 204;\n";
      out += "        }\n";
    }
    out += "    }\n\n";
  }

  void https_server(std::string& out) const {
    out += "server {\n";
    out += listen_line(https_, true);
    if (o_.http2_directive) out += "    http2 on;\n";
    out += "    server_name";
    for (const auto& n : names_) out += " " + n;
    out += ";\n\n";
    out += "    ssl_certificate " + cert_dir_ + "/fullchain.pem;\n";
    out += "    ssl_certificate_key " + cert_dir_ + "/privkey.pem;\n";
    out +=
        "    # Mozilla \"intermediate\" TLS: TLS 1.2 with forward-secret AEAD ciphers, and 1.3.\n"
        "    ssl_protocols TLSv1.2 TLSv1.3;\n"
        "    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;\n"
        "    ssl_prefer_server_ciphers off;\n"
        "    ssl_session_cache shared:acmectl_tls:10m;\n"
        "    ssl_session_timeout 1d;\n"
        "    ssl_session_tickets off;\n\n";
    out += "    client_max_body_size " + o_.client_max_body_size + ";\n\n";
    out += security_headers("    ");
    out += "\n";
    proxy_location(out, "/", upstreams_.front());
    for (size_t i = 1; i < upstreams_.size(); ++i) {
      const auto& u = upstreams_[i];
      proxy_location(out, "= " + u.path, u);
      proxy_location(out, "^~ " + u.path + "/", u);
    }
    if (!static_path_.empty()) {
      out += "    location ^~ " + static_path_ + " {\n";
      out += "        alias " + static_root_ + ";\n";
      out += "        expires " + o_.static_expires + ";\n";
      out += security_headers("        ");
      out += "        add_header Cache-Control \"public, immutable\";\n";
      out += "        access_log off;\n";
      out += "    }\n\n";
    }
    out.pop_back();  // no blank line before the closing brace
    out += "}\n";
  }

  const NginxOptions& o_;
  std::vector<std::string> names_;
  std::string site_;
  std::vector<Upstream> upstreams_;
  HostPort acme_proxy_;
  std::string cert_dir_;
  Listen http_, https_;
  std::string static_path_, static_root_;
  bool cors_any_ = false;
  bool cors_map_ = false;
};

}  // namespace

acme::Result<bool> nginx_has_http2_directive(const std::string& version) {
  std::string v = version;
  if (const auto slash = v.find("nginx/"); slash != std::string::npos) v = v.substr(slash + 6);
  int part[3] = {0, 0, 0};
  std::size_t i = 0, k = 0;
  bool digits = false;
  for (; i < v.size() && k < 3; ++i) {
    const char c = v[i];
    if (c >= '0' && c <= '9') {
      part[k] = part[k] * 10 + (c - '0');
      digits = true;
      if (part[k] > 100000) break;
    } else if (c == '.' && digits) {
      ++k;
      digits = false;
    } else {
      break;
    }
  }
  if (k < 1 || (k == 1 && !digits) || (k == 2 && !digits && i < v.size())) {
    return acme::make_error(acme::Errc::kInvalidInput,
                            "--nginx-version '" + version + "': expected a version such as 1.25.1");
  }
  const int major = part[0], minor = part[1], patch = part[2];
  return major > 1 || (major == 1 && (minor > 25 || (minor == 25 && patch >= 1)));
}

acme::Result<std::string> nginx_site(const NginxOptions& options) {
  return Writer(options).render();
}

}  // namespace agent::gen
