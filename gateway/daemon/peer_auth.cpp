#include "peer_auth.h"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

namespace bulwark::daemon {

std::string Peer::who() const {
  if (tls) return "CN=" + certCn + ", OU=" + certGroup + " (certificate " + certSerial + ", " + address + ")";
  return user + " (uid " + std::to_string(uid) + ")";
}

std::string Peer::limitKey() const {
  if (!tls) return "uid " + std::to_string(uid);
  // "10.99.0.5:51234" / "[2001:db8::5]:51234" -> the address part.
  auto colon = address.rfind(':');
  return "addr " + (colon == std::string::npos ? address : address.substr(0, colon));
}

namespace {

bool lookupGroup(const std::string& spec, gid_t& out) {
  if (spec.empty()) return false;
  unsigned long v = 0;
  auto [p, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), v);
  if (ec == std::errc() && p == spec.data() + spec.size()) {
    out = static_cast<gid_t>(v);
    return true;
  }
  group gr{};
  group* res = nullptr;
  std::vector<char> buf(16384);
  if (getgrnam_r(spec.c_str(), &gr, buf.data(), buf.size(), &res) != 0 || res == nullptr) return false;
  out = gr.gr_gid;
  return true;
}

std::string userName(uid_t uid) {
  passwd pw{};
  passwd* res = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res != nullptr) return pw.pw_name;
  return "uid:" + std::to_string(uid);
}

}  // namespace

AccessGroups resolveAccessGroups(const std::string& changeGroup, const std::string& viewGroup) {
  AccessGroups g;
  g.changeName = changeGroup;
  g.viewName = viewGroup;
  g.haveChange = lookupGroup(changeGroup, g.change);
  g.haveView = lookupGroup(viewGroup, g.view);
  return g;
}

gateway::Role roleFor(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const AccessGroups& g) {
  auto member = [&](gid_t want) {
    return gid == want || std::find(groups.begin(), groups.end(), want) != groups.end();
  };
  if (uid == 0) return gateway::Role::Change;
  if (g.haveChange && member(g.change)) return gateway::Role::Change;
  if (g.haveView && member(g.view)) return gateway::Role::View;
  return gateway::Role::None;
}

gateway::Result<Peer> identifyPeer(int fd, const AccessGroups& groups) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return gateway::sysError("SO_PEERCRED", errno);
  }
  Peer p;
  p.pid = cred.pid;
  p.uid = cred.uid;
  p.gid = cred.gid;
  // The peer's supplementary groups as they were at connect() time (Linux >= 4.13).
  std::vector<gid_t> gids(64);
  for (int attempt = 0; attempt < 4; ++attempt) {
    socklen_t glen = static_cast<socklen_t>(gids.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids.data(), &glen) == 0) {
      gids.resize(glen / sizeof(gid_t));
      break;
    }
    if (errno != ERANGE) {
      gids.clear();
      break;
    }
    gids.resize(glen / sizeof(gid_t) + 1);
  }
  p.groups = std::move(gids);
  p.user = userName(p.uid);
  p.role = roleFor(p.uid, p.gid, p.groups, groups);
  return p;
}

}  // namespace bulwark::daemon
