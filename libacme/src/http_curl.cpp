// libcurl HttpClient: one easy handle for the life of the client so every request to the
// CA reuses one TLS connection (keep-alive). TLS verification is always on.
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <mutex>

#include "acme/http.hpp"

namespace acme {
namespace {

// Debian's hashed certificate directory (c_rehash layout), kept by ca-certificates.
constexpr const char* kSystemCaDir = "/etc/ssl/certs";

struct CurlDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* s) const noexcept { curl_slist_free_all(s); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

struct Transfer {
  HttpResponse response;
  std::size_t limit = 0;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->response.body.size() + len > t->limit) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (after 100 Continue)
    return len;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  if (t->response.headers.size() < 200) t->response.headers.emplace_back(name, value);
  return len;
}

// Adds the extra CA bundle to the system trust store instead of replacing it.
CURLcode on_ssl_ctx(CURL*, void* ssl_ctx, void* user) {
  const auto* path = static_cast<const std::string*>(user);
  X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
  if (store == nullptr || X509_STORE_load_file(store, path->c_str()) != 1) {
    ERR_clear_error();
    return CURLE_SSL_CACERT_BADFILE;
  }
  return CURLE_OK;
}

Errc classify(CURLcode code) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR: return Errc::kTls;
    case CURLE_OPERATION_TIMEDOUT: return Errc::kTimeout;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return Errc::kInvalidInput;
    default: return Errc::kNetwork;
  }
}

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient(CurlPtr handle, HttpOptions options)
      : handle_(std::move(handle)), options_(std::move(options)) {}

  Result<HttpResponse> send(const HttpRequest& req) override {
    CURL* c = handle_.get();
    // Reset keeps live connections, the TLS session cache and the DNS cache.
    curl_easy_reset(c);
    Transfer t;
    t.limit = options_.max_response_bytes;
    char errbuf[CURL_ERROR_SIZE] = {0};
    SlistPtr headers;
    for (const auto& [k, v] : req.headers) {
      const std::string line = k + ": " + v;
      curl_slist* next = curl_slist_append(headers.get(), line.c_str());
      if (next == nullptr) return make_error(Errc::kInternal, "curl_slist_append failed");
      (void)headers.release();
      headers.reset(next);
    }
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");  // RFC 8555 §6.1: HTTPS only
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.system_ca_dir.empty()) {
      // Trust the system roots through OpenSSL's hashed directory: it loads only the root
      // a chain needs, where the bundle file costs ~50 ms of CPU to parse on every start.
      curl_easy_setopt(c, CURLOPT_CAINFO, nullptr);
      curl_easy_setopt(c, CURLOPT_CAPATH, options_.system_ca_dir.c_str());
    }
    if (!options_.ca_bundle.empty()) {
      curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
      curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &options_.ca_bundle);
    }
    curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    if (req.method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (req.method == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    } else {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    const CURLcode rc = curl_easy_perform(c);
    if (t.too_large) {
      return make_error(Errc::kProtocol, req.method + " " + req.url + ": response larger than " +
                                             std::to_string(options_.max_response_bytes) +
                                             " bytes");
    }
    if (rc != CURLE_OK) {
      std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
      while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
      if (rc == CURLE_SSL_CACERT_BADFILE && !options_.ca_bundle.empty()) {
        detail = "cannot load CA bundle " + options_.ca_bundle;
      }
      Errc code = classify(rc);
      if (code == Errc::kTls) detail = "TLS: " + detail;
      return make_error(code, req.method + " " + req.url + ": " + detail);
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    t.response.status = static_cast<int>(status);
    return std::move(t.response);
  }

 private:
  CurlPtr handle_;
  HttpOptions options_;
};

}  // namespace

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Result<std::unique_ptr<HttpClient>> make_curl_http_client(const HttpOptions& options) {
  global_init();
  if (!options.ca_bundle.empty()) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(options.ca_bundle.c_str(), "rb"),
                                            &std::fclose);
    if (!f) {
      return make_error(Errc::kInvalidInput, "CA bundle " + options.ca_bundle + ": cannot open");
    }
  }
  HttpOptions opts = options;
  if (opts.system_ca_dir.empty()) {
    struct stat st {};
    if (::stat(kSystemCaDir, &st) == 0 && S_ISDIR(st.st_mode)) opts.system_ca_dir = kSystemCaDir;
  }
  CurlPtr handle(curl_easy_init());
  if (!handle) return make_error(Errc::kInternal, "curl_easy_init failed");
  return std::unique_ptr<HttpClient>(new CurlHttpClient(std::move(handle), std::move(opts)));
}

}  // namespace acme
