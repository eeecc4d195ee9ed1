#pragma once
// What the health-check engine probes: one check of the policy against one host or DNAT
// backend (a "target"), and its state. Pure data, no threads.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bulwark/policies/model.h"
#include "bulwark/policies/net.h"

namespace bulwark::health {

using policies::CheckType;
using policies::IpAddress;

struct Target {
  std::string check;     // the policy's check name
  std::string host;      // host name, or the backend address as written
  IpAddress address;     // what is probed (IPv4 preferred for hosts with both)
  CheckType type = CheckType::Tcp;
  std::uint16_t port = 0;
  std::string path = "/";               // http(s)
  std::string serverName;               // http(s) Host header, https/tls SNI ("": the address)
  std::vector<std::uint16_t> expect;    // http(s) statuses counted as up (empty: 200)
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{500};
  std::uint32_t rise = 2;
  std::uint32_t fall = 2;

  // Identity of a target across reconfigurations: state is kept while this stays the same.
  [[nodiscard]] std::string key() const;
  friend bool operator==(const Target&, const Target&) = default;
};

// Every target the policy asks for (hosts[].checks and each backend of a DNAT entry with a
// check), each once, in policy order. The policy must have passed validation.
[[nodiscard]] std::vector<Target> targetsFromPolicy(const policies::Policy& policy);

enum class State : std::uint8_t { Unknown, Up, Down };
[[nodiscard]] std::string_view stateName(State s);

// rise/fall counting: `rise` successes in a row make a target up, `fall` failures in a row
// down; a target starts unknown. record() returns true when the state changed.
struct Counter {
  State state = State::Unknown;
  std::uint32_t okRun = 0;    // consecutive successes
  std::uint32_t failRun = 0;  // consecutive failures
  bool record(bool ok, std::uint32_t rise, std::uint32_t fall);
};

// One target as the snapshot shows it.
struct Status {
  Target target;
  State state = State::Unknown;
  std::uint32_t okRun = 0;
  std::uint32_t failRun = 0;
  double latencyMs = -1;   // last probe's duration (-1: none yet)
  std::string lastError;   // last failure's reason ("" while succeeding)
  std::chrono::system_clock::time_point lastProbe{};   // epoch: never probed
  std::chrono::system_clock::time_point lastChange{};  // epoch: never changed
  std::uint64_t probes = 0;
  std::uint64_t failures = 0;
  std::uint64_t transitions = 0;
};

struct Transition {
  Target target;
  State from = State::Unknown;
  State to = State::Unknown;
  std::string error;  // the failure that made it go down ("" when it came up)
  double latencyMs = -1;
  std::chrono::system_clock::time_point when{};
};

}  // namespace bulwark::health
