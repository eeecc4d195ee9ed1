// list-sas → Tunnel rows; terminate a user's tunnels.
#include "bulwark/vpn/tunnels.h"

#include <algorithm>
#include <ctime>

namespace bulwark::vpn {

namespace {

const std::string kAdminPrefix = std::string(kOwnedPrefix) + "admin-";

}  // namespace

std::string userFromIdentity(std::string_view id) {
  std::size_t pos = 0;
  while (pos < id.size()) {
    while (pos < id.size() && (id[pos] == ' ' || id[pos] == ',')) {
      ++pos;
    }
    if (id.substr(pos, 3) == "CN=") {
      const auto end = id.find(',', pos);
      return std::string(id.substr(pos + 3, end == std::string_view::npos ? std::string_view::npos : end - pos - 3));
    }
    const auto next = id.find(',', pos);
    if (next == std::string_view::npos) {
      break;
    }
    pos = next + 1;
  }
  return std::string(id);
}

std::vector<Tunnel> tunnelsFromSas(const std::vector<vici::NamedSection>& sas, std::int64_t now) {
  std::vector<Tunnel> out;
  for (const auto& sa : sas) {
    if (sa.name.rfind(kAdminPrefix, 0) != 0) {
      continue;
    }
    const Section& b = sa.body;
    Tunnel t;
    t.connection = sa.name;
    t.group = sa.name.substr(kAdminPrefix.size());
    t.identity = b.get("remote-id");
    t.user = userFromIdentity(t.identity);
    const auto vips = b.items("remote-vips");
    t.virtualIp = vips.empty() ? "" : vips.front();
    t.outerAddress = b.get("remote-host");
    t.state = b.get("state");
    t.ikeId = b.get("uniqueid");
    if (b.has("established")) {
      t.upSince = now - static_cast<std::int64_t>(b.number("established"));
    }
    if (const Section* children = b.section("child-sas")) {
      for (const auto& e : children->entries()) {
        if (e.kind != Entry::Kind::Section) {
          continue;
        }
        t.bytesIn += e.section.number("bytes-in");
        t.bytesOut += e.section.number("bytes-out");
        t.packetsIn += e.section.number("packets-in");
        t.packetsOut += e.section.number("packets-out");
      }
    }
    out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end(), [](const Tunnel& a, const Tunnel& b) {
    return a.user != b.user ? a.user < b.user : a.ikeId < b.ikeId;
  });
  return out;
}

ViciResult<std::vector<Tunnel>> listTunnels(ViciClient& client) {
  auto sas = vici::listSas(client);
  if (!sas) {
    return sas.error();
  }
  return tunnelsFromSas(*sas, static_cast<std::int64_t>(std::time(nullptr)));
}

ViciResult<std::size_t> terminateUser(ViciClient& client, std::string_view user) {
  auto tunnels = listTunnels(client);
  if (!tunnels) {
    return tunnels.error();
  }
  std::size_t n = 0;
  for (const auto& t : *tunnels) {
    if (t.user != user || t.ikeId.empty()) {
      continue;
    }
    vici::TerminateRequest req;
    req.ikeId = t.ikeId;
    auto st = vici::terminate(client, req);
    if (!st) {
      return st.error();
    }
    ++n;
  }
  return n;
}

}  // namespace bulwark::vpn
