#pragma once
// A tiny model of what the kernel does with each Op, over ObservedState: enough to prove that
// diff is idempotent (apply → diff again → nothing) and that every op's undo restores the
// state before it. Pure; no sockets.
#include <algorithm>
#include <string>

#include "bulwark/vlan/links.h"

namespace bulwark::vlan::test {

inline ObservedLink* findLink(ObservedState& st, const std::string& name) {
  auto it = std::find_if(st.links.begin(), st.links.end(), [&](const ObservedLink& l) { return l.name == name; });
  return it == st.links.end() ? nullptr : &*it;
}

inline LinkConf& confFor(ObservedState& st, int index) {
  for (auto& [i, c] : st.conf) {
    if (i == index) {
      return c;
    }
  }
  st.conf.emplace_back(index, LinkConf{0, 0, -1});
  return st.conf.back().second;
}

// Applies one op; returns false where the kernel would refuse.
inline bool simulate(ObservedState& st, const Op& op) {
  ObservedLink* l = findLink(st, op.link);
  switch (op.kind) {
    case OpKind::CreateVlan: {
      ObservedLink* parent = findLink(st, op.parent);
      if (l != nullptr || parent == nullptr || op.mtu > parent->mtu) {
        return false;
      }
      int next = 1;
      for (const auto& x : st.links) {
        next = std::max(next, x.index + 1);
      }
      ObservedLink n;
      n.index = next;
      n.name = op.link;
      n.kind = "vlan";
      n.parentIndex = parent->index;
      n.vlanId = op.vlanId;
      n.vlanProtocol = 0x8100;
      n.mtu = op.mtu;
      n.alias = op.alias;
      const bool v6 = std::any_of(st.conf.begin(), st.conf.end(), [](auto& c) { return c.second.ipv6Forwarding >= 0; });
      st.links.push_back(n);
      st.conf.emplace_back(next, LinkConf{0, 0, v6 ? 0 : -1});
      return true;
    }
    case OpKind::DeleteLink: {
      if (l == nullptr) {
        return false;
      }
      const int idx = l->index;
      st.links.erase(st.links.begin() + (l - st.links.data()));
      st.conf.erase(std::remove_if(st.conf.begin(), st.conf.end(), [&](auto& c) { return c.first == idx; }),
                    st.conf.end());
      return true;
    }
    default:
      break;
  }
  if (l == nullptr) {
    return false;
  }
  switch (op.kind) {
    case OpKind::SetMtu:
      l->mtu = op.mtu;
      return true;
    case OpKind::SetAlias:
      l->alias = op.alias;
      return true;
    case OpKind::SetUp:
      l->up = op.up;
      return true;
    case OpKind::AddAddress:
      if (std::find(l->addresses.begin(), l->addresses.end(), op.address) != l->addresses.end()) {
        return false;  // EEXIST
      }
      l->addresses.push_back(op.address);
      return true;
    case OpKind::RemoveAddress: {
      auto it = std::find(l->addresses.begin(), l->addresses.end(), op.address);
      if (it == l->addresses.end()) {
        return false;  // EADDRNOTAVAIL
      }
      l->addresses.erase(it);
      return true;
    }
    case OpKind::SetSysctl: {
      LinkConf& c = confFor(st, l->index);
      const int v = std::stoi(op.value);
      if (op.sysctl.rfind("net/ipv6/", 0) == 0) {
        c.ipv6Forwarding = v;
      } else if (op.sysctl.ends_with("rp_filter")) {
        c.rpFilter = v;
      } else {
        c.ipv4Forwarding = v;
      }
      return true;
    }
    default:
      return false;
  }
}

// Link-by-link comparison that ignores indexes (recreated links get new ones) and order.
inline std::string canon(const ObservedState& st) {
  std::vector<std::string> out;
  for (const auto& l : st.links) {
    std::string s = l.name + " kind=" + l.kind + " vid=" + (l.vlanId ? std::to_string(*l.vlanId) : "-") +
                    " mtu=" + std::to_string(l.mtu) + " alias=" + l.alias + (l.up ? " up" : " down");
    auto addrs = l.addresses;
    std::sort(addrs.begin(), addrs.end());
    for (const auto& a : addrs) {
      s += " " + a.str();
    }
    out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  std::string all;
  for (const auto& s : out) {
    all += s + "\n";
  }
  return all;
}

}  // namespace bulwark::vlan::test
