#pragma once
// Challenge solvers. A solver makes a key authorization reachable for the CA.
//
// Contract:
//  - present() MUST return once the response is in place (or failed); it MUST NOT wait
//    for propagation: the issuer calls wait_ready() once after presenting all challenges.
//  - cleanup() MUST remove exactly what present() added and MUST be safe to call after a
//    failed or partial present(). It never throws.
//  - Solvers MAY be called for several identifiers before any cleanup.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "acme/result.hpp"

namespace acme {

struct ChallengeContext {
  Identifier identifier;
  std::string challenge_type;  // "http-01" / "dns-01"
  std::string token;           // checked base64url before any solver sees it
  std::string key_authorization;
};

class Solver {
 public:
  virtual ~Solver() = default;
  virtual std::string challenge_type() const = 0;
  virtual Result<void> present(const ChallengeContext& ctx) = 0;
  // Called once after every present(); e.g. DNS propagation. Default: nothing to wait for.
  virtual Result<void> wait_ready() { return ok(); }
  virtual void cleanup(const ChallengeContext& ctx) noexcept = 0;
};

// Limits of the built-in HTTP-01 responder. The defaults suit a listener that stays open
// on :80 for days: a validator sends its request at once, so anything slower is dropped.
struct Http01ResponderOptions {
  // Total time from accept to the last byte of the response: not an idle timer, so a
  // client dripping one byte at a time is cut when it runs out.
  std::chrono::milliseconds request_deadline{5000};
  // Open connections at once. When full, a new connection replaces the oldest one still
  // waiting for its request (an idle flood cannot lock the validator out).
  std::size_t max_connections = 256;
  // Request head (request line + headers) in bytes; larger ones get 431 and are closed.
  std::size_t max_request_bytes = 8192;
  // Asked for a token the responder does not hold (e.g. the agent's fleet store, where
  // another host presented it); nullopt: 404. Runs on the event-loop thread, so it MUST
  // return quickly (a bounded local query). The token is already checked to be base64url.
  std::function<std::optional<std::string>(const std::string& token)> lookup;
};

// Serves http://ADDR:PORT/.well-known/acme-challenge/TOKEN from memory. One event-loop
// thread (poll) serves every connection concurrently, within the limits above. Usable
// standalone (acmectl issue) and shared by the agent for many orders.
//
// Contract: start() binds at once, so a busy port is reported before any order is created.
// Every socket is close-on-exec. add()/remove() are thread-safe and take effect for the
// next request. The destructor closes every connection and returns within a second.
class Http01Responder {
 public:
  // listen: "ADDR:PORT", ":PORT" (all IPv4 interfaces) or "[::1]:PORT" (acme::parse_listen_address;
  // port 0 binds a free port, see port()).
  static Result<std::unique_ptr<Http01Responder>> start(const std::string& listen);
  static Result<std::unique_ptr<Http01Responder>> start(const std::string& listen,
                                                        const Http01ResponderOptions& options);
  ~Http01Responder();
  Http01Responder(const Http01Responder&) = delete;
  Http01Responder& operator=(const Http01Responder&) = delete;

  void add(const std::string& token, const std::string& key_authorization);
  void remove(const std::string& token);
  int port() const noexcept;
  // Requests answered (any status).
  std::size_t requests_served() const noexcept;
  // Connections closed before a request was answered: deadline, size limit or eviction.
  std::size_t connections_dropped() const noexcept;
  // Connections open right now.
  std::size_t connections_open() const noexcept;

 private:
  struct Impl;
  explicit Http01Responder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// http-01 through a running Http01Responder (not owned).
class Http01StandaloneSolver final : public Solver {
 public:
  explicit Http01StandaloneSolver(Http01Responder& responder) : responder_(responder) {}
  std::string challenge_type() const override { return "http-01"; }
  Result<void> present(const ChallengeContext& ctx) override;
  void cleanup(const ChallengeContext& ctx) noexcept override;

 private:
  Http01Responder& responder_;
};

// http-01 by writing WEBROOT/.well-known/acme-challenge/TOKEN (mode 0644), removed on
// cleanup; directories it created are removed again when empty.
class Http01WebrootSolver final : public Solver {
 public:
  explicit Http01WebrootSolver(std::string webroot) : webroot_(std::move(webroot)) {}
  std::string challenge_type() const override { return "http-01"; }
  Result<void> present(const ChallengeContext& ctx) override;
  void cleanup(const ChallengeContext& ctx) noexcept override;

 private:
  std::string webroot_;
  std::mutex mu_;
  bool created_well_known_ = false;
  bool created_challenge_dir_ = false;
};

}  // namespace acme
