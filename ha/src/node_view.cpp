#include "bulwark/ha/node_view.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "bulwark/policies/ha.h"

namespace bulwark::ha {

namespace {

// keepalived instance names: letters, digits, '_' (interface names may hold '.' or '-').
std::string instanceName(const std::string& interface) {
  std::string s = "bulwark_";
  for (char c : interface) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return s;
}

void addOnce(std::vector<policies::IpAddress>& v, const policies::IpAddress& a) {
  if (std::find(v.begin(), v.end(), a) == v.end()) v.push_back(a);
}

}  // namespace

std::string advertSeconds(int centis) {
  std::string s = std::to_string(centis / 100);
  if (centis % 100 != 0) {
    s += "." + std::to_string(centis % 100 / 10);
    if (centis % 10 != 0) s += std::to_string(centis % 10);
  }
  return s;
}

Result<NodeView> nodeView(const policies::Policy& p, std::string_view node) {
  if (!p.ha) return Error{"the policy has no 'ha' section"};
  const auto* self = p.ha->findNode(node);
  if (self == nullptr) {
    std::string names;
    for (const auto& n : p.ha->nodes) names += (names.empty() ? "" : ", ") + n.name;
    return Error{"this node '" + std::string(node) + "' is not one of the policy's ha.nodes (" + names +
                 "): set it in /etc/bulwark/node or with --node"};
  }
  const auto* peer = policies::haPeer(*p.ha, *self);
  if (peer == nullptr) return Error{"node '" + self->name + "' has no peer in ha.nodes"};
  auto syncSelf = policies::haSyncAddress(p, *self);
  auto syncPeer = policies::haSyncAddress(p, *peer);
  if (!syncSelf || !syncPeer) return Error{"a node has no IPv4 address on the sync link"};

  NodeView v;
  v.node = self->name;
  v.peer = peer->name;
  v.priority = &p.ha->nodes.front() == self ? 150 : 100;
  v.syncInterface = policies::haSyncInterface(p);
  v.syncSelf = *syncSelf;
  v.syncPeer = *syncPeer;
  v.advertCentis = p.ha->advertCentis;
  v.failback = p.ha->failback;
  v.preemptDelay = p.ha->preemptDelay;
  auto floating = policies::floatingAddresses(p);
  int vrid = p.ha->vrrpId;
  for (const auto& ifname : policies::floatingInterfaces(p)) {
    VrrpInstance inst{instanceName(ifname), ifname, vrid++, {}};
    for (bool v4 : {true, false}) {
      for (const auto& f : floating) {
        if (f.interface == ifname && f.address.ip.isV4() == v4) inst.addresses.push_back(f.address);
      }
    }
    v.instances.push_back(std::move(inst));
  }
  for (const auto& f : floating) {
    addOnce(v.floating, f.address.ip);
    bool vip = std::any_of(p.dnat.begin(), p.dnat.end(), [&](const policies::Dnat& d) { return d.vip == f.address.ip; });
    if (!vip) addOnce(v.ownAndFloating, f.address.ip);
  }
  for (const auto& a : policies::nodeAddresses(p, *self)) v.own.push_back({a.interface, a.address});
  for (const auto* n : {self, peer}) {
    for (const auto& a : policies::nodeAddresses(p, *n)) addOnce(v.ownAndFloating, a.address.ip);
  }
  addOnce(v.ownAndFloating, *syncSelf);
  addOnce(v.ownAndFloating, *syncPeer);
  return v;
}

Result<std::string> localNodeName(const std::string& override, const std::string& nodeFile) {
  if (!override.empty()) return override;
  std::ifstream in(nodeFile);
  if (in) {
    std::string line;
    std::getline(in, line);
    auto first = line.find_first_not_of(" \t");
    auto last = line.find_last_not_of(" \t\r");
    if (first != std::string::npos) return line.substr(first, last - first + 1);
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return sysError("gethostname", errno);
  if (host[0] == '\0') return Error{"no node name: " + nodeFile + " is missing and the hostname is empty"};
  std::string h(host);
  return h.substr(0, h.find('.'));  // the short name
}

}  // namespace bulwark::ha
