#include "bulwark/health/target.h"

#include <algorithm>
#include <set>

#include "bulwark/policies/resolve.h"

namespace bulwark::health {

std::string Target::key() const {
  return check + "|" + host + "|" + address.str() + "|" + std::to_string(port) + "|" +
         std::string(policies::checkTypeName(type));
}

std::string_view stateName(State s) {
  switch (s) {
    case State::Unknown: return "unknown";
    case State::Up: return "up";
    case State::Down: return "down";
  }
  return "?";
}

bool Counter::record(bool ok, std::uint32_t rise, std::uint32_t fall) {
  if (ok) {
    ++okRun;
    failRun = 0;
    if (state != State::Up && okRun >= std::max<std::uint32_t>(rise, 1)) {
      state = State::Up;
      return true;
    }
  } else {
    ++failRun;
    okRun = 0;
    if (state != State::Down && failRun >= std::max<std::uint32_t>(fall, 1)) {
      state = State::Down;
      return true;
    }
  }
  return false;
}

namespace {

std::uint16_t portOf(const policies::HealthCheck& c, const policies::PolicyIndex& index) {
  if (c.service) {
    auto svc = index.service(*c.service);
    if (svc && !svc->any && svc->specs.size() == 1) return svc->specs[0].ports.first;
    return 0;
  }
  return c.type == CheckType::Http ? 80 : 443;
}

Target make(const policies::HealthCheck& c, std::uint16_t port, std::string host, IpAddress address) {
  Target t;
  t.check = c.name;
  t.host = std::move(host);
  t.address = address;
  t.type = c.type;
  t.port = port;
  t.path = c.path;
  t.serverName = c.host;
  t.expect = c.expect;
  t.interval = std::chrono::milliseconds(c.intervalMs);
  t.timeout = std::chrono::milliseconds(c.timeoutMs);
  t.rise = c.rise;
  t.fall = c.fall;
  return t;
}

}  // namespace

std::vector<Target> targetsFromPolicy(const policies::Policy& policy) {
  std::vector<Target> out;
  std::set<std::string> seen;
  policies::PolicyIndex index(policy);
  auto add = [&](Target t) {
    if (t.port == 0) return;  // the validator reports it
    if (seen.insert(t.key()).second) out.push_back(std::move(t));
  };
  for (const auto& h : policy.hosts) {
    if (h.addresses.empty()) continue;
    auto v4 = std::find_if(h.addresses.begin(), h.addresses.end(), [](const IpAddress& a) { return a.isV4(); });
    const IpAddress addr = v4 != h.addresses.end() ? *v4 : h.addresses.front();
    for (const auto& ref : h.checks) {
      if (const auto* c = policy.findCheck(ref.name)) add(make(*c, portOf(*c, index), h.name, addr));
    }
  }
  for (const auto& d : policy.dnat) {
    if (!d.check) continue;
    const auto* c = policy.findCheck(d.check->name);
    if (!c) continue;
    for (const auto& b : d.to) {
      if (b.literal) {
        add(make(*c, portOf(*c, index), b.text, *b.literal));
        continue;
      }
      const auto* h = policy.findHost(b.text);
      if (!h) continue;
      for (const auto& a : h->addresses) {
        if (a.family() != d.vip.family()) continue;
        add(make(*c, portOf(*c, index), h->name, a));
        break;
      }
    }
  }
  return out;
}

}  // namespace bulwark::health
