#pragma once
// The connections a revocation never cuts (revocation.h), apart from the judge so the control
// API's argument parsing (and its fuzz target) need not link the evaluator and conntrack.
#include <cstdint>
#include <optional>
#include <string_view>

#include "bulwark/policies/model.h"

namespace bulwark::engine {

// A TCP connection never cut: the session the change came through, so an administrator who
// narrows his own access keeps the session he did it from (and can roll back on it).
struct KeptFlow {
  policies::IpAddress src;
  std::uint16_t sport = 0;
  policies::IpAddress dst;
  std::uint16_t dport = 0;
};
// "$SSH_CONNECTION": "client_ip client_port server_ip server_port"; nullopt when malformed.
[[nodiscard]] std::optional<KeptFlow> keptFlowFromText(std::string_view text);

}  // namespace bulwark::engine
