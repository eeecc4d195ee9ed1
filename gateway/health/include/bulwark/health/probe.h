#pragma once
// One probe of one target, blocking, bounded by the target's timeout: a TCP connect; an HTTP
// or HTTPS GET (cpp-httplib, with OpenSSL) whose status must be expected; a TLS handshake
// (OpenSSL). Certificates are not verified: a backend serves the public name's certificate,
// and what the check asks is "does it answer", not "is it who it says".
#include <functional>
#include <string>

#include "bulwark/health/target.h"

namespace bulwark::health {

struct ProbeResult {
  bool ok = false;
  double latencyMs = 0;
  std::string error;  // why it failed: "connection refused", "timed out after 300 ms", "status 503"
};

using Prober = std::function<ProbeResult(const Target&)>;

[[nodiscard]] ProbeResult probe(const Target& t);

// The pieces, for tests.
[[nodiscard]] ProbeResult probeTcp(const Target& t);
[[nodiscard]] ProbeResult probeHttp(const Target& t);  // http and https
[[nodiscard]] ProbeResult probeTls(const Target& t);

}  // namespace bulwark::health
