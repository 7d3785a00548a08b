#include "acme/result.hpp"

#include "acme/escape.hpp"
#include "acme/problem.hpp"

namespace acme {

const char* to_string(Errc code) noexcept {
  switch (code) {
    case Errc::kInvalidInput: return "invalid input";
    case Errc::kNetwork: return "network";
    case Errc::kTls: return "tls";
    case Errc::kTimeout: return "timeout";
    case Errc::kHttp: return "http";
    case Errc::kProtocol: return "protocol";
    case Errc::kAcmeProblem: return "acme problem";
    case Errc::kValidation: return "validation";
    case Errc::kCrypto: return "crypto";
    case Errc::kIo: return "io";
    case Errc::kInternal: return "internal";
    case Errc::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string out = message;
  if (problem) {
    const std::string d = problem->describe();
    if (out.find(d) == std::string::npos) out += (out.empty() ? "" : ": ") + d;
  }
  if (retry_after) out += " (retry after " + std::to_string(retry_after->count()) + "s)";
  // One line, always: server-provided text may contain newlines. Every other control
  // character (an ANSI escape in a CA's detail, a name, a hook's output) is shown as \xNN.
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return escape_control(out);
}

Error&& Error::context(const std::string& what) && {
  message = message.empty() ? what : what + ": " + message;
  return std::move(*this);
}

Error make_error(Errc code, std::string message) {
  Error e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

bool is_retryable(const Error& error) noexcept {
  switch (error.code) {
    case Errc::kNetwork:
    case Errc::kTimeout:
    case Errc::kIo:
    case Errc::kCancelled: return true;
    case Errc::kHttp:
      return error.http_status >= 500 || error.http_status == 429 || error.http_status == 0;
    case Errc::kAcmeProblem: {
      if (!error.problem) return error.http_status >= 500;
      const std::string t = error.problem->acme_type();
      // RFC 8555 §6.7: these describe a state of the server, not of the request.
      return t == "rateLimited" || t == "serverInternal" || t == "badNonce" || t == "connection" ||
             t == "dns" || error.http_status >= 500;
    }
    case Errc::kProtocol:  // a CA answering garbage is usually transient (proxy, outage)
      return true;
    case Errc::kValidation:  // the next attempt may succeed once DNS/web server is fixed
      return true;
    case Errc::kTls:
    case Errc::kInvalidInput:
    case Errc::kCrypto:
    case Errc::kInternal: return false;
  }
  return false;
}

}  // namespace acme
