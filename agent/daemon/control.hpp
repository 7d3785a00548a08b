#pragma once
// The agent's control socket, STATE/agent.sock (a unix stream socket, mode 0600): `acmectl
// renew` and `acmectl issue` beside a running agent hand their certificates to it, so there
// are never two orders for one certificate nor a second HTTP-01 responder.
//
// Protocol: one JSON line from the client, {"op":"run","names":[...],"force":bool,
// "ari":bool}; then one line per certificate from the agent, {"name","outcome","message",
// "installed"}, and a last {"done":true}.

#include <optional>
#include <string>
#include <vector>

#include "acme/result.hpp"

namespace agent {

struct ControlRequest {
  std::vector<std::string> names;
  bool force = false;
  bool ari = true;
};

struct ControlReply {
  std::string name;
  std::string outcome;  // to_string(Outcome)
  std::string message;
  bool installed = false;
};

std::string control_socket_path(const std::string& state_dir);

// Binds STATE/agent.sock (0600) and listens; returns the listening fd (close-on-exec,
// non-blocking). A socket file nobody answers on (a crashed agent's) is replaced; one an
// agent answers on is an error: two agents on one state dir never run.
acme::Result<int> control_listen(const std::string& state_dir);

// Client side: nullopt when no agent listens on STATE/agent.sock.
// True when an agent answers on the control socket of state_dir.
bool agent_listening(const std::string& state_dir);

acme::Result<std::optional<std::vector<ControlReply>>> control_run(const std::string& state_dir,
                                                                   const ControlRequest& request);

// Wire format, shared by both sides.
std::string encode_request(const ControlRequest& r);
acme::Result<ControlRequest> decode_request(const std::string& line);
std::string encode_reply(const ControlReply& r);

}  // namespace agent
