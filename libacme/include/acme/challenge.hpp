#pragma once
// Challenge solvers. A solver makes a key authorization reachable for the CA.
//
// Contract:
//  - present() MUST return once the response is in place (or failed); it MUST NOT wait
//    for propagation: the issuer calls wait_ready() once after presenting all challenges.
//  - cleanup() MUST remove exactly what present() added and MUST be safe to call after a
//    failed or partial present(). It never throws.
//  - Solvers MAY be called for several identifiers before any cleanup.

#include <memory>
#include <mutex>
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

// Serves http://ADDR:PORT/.well-known/acme-challenge/TOKEN from memory in a background
// thread. Usable standalone (acmectl issue) and shared by the agent for many orders.
class Http01Responder {
 public:
  // Binds at once so a busy port is reported before any order is created.
  // listen: "ADDR:PORT", ":PORT" (all IPv4 interfaces) or "[::1]:PORT".
  static Result<std::unique_ptr<Http01Responder>> start(const std::string& listen);
  ~Http01Responder();
  Http01Responder(const Http01Responder&) = delete;
  Http01Responder& operator=(const Http01Responder&) = delete;

  void add(const std::string& token, const std::string& key_authorization);
  void remove(const std::string& token);
  int port() const noexcept;
  std::size_t requests_served() const noexcept;

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
