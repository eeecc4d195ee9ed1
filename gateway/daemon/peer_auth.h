#pragma once
// Who is on the other end of a Unix socket (SO_PEERCRED + SO_PEERGROUPS), and what they may
// do: root or a member of the change group may change, a member of the view group may read,
// anyone else is refused.
#include <sys/types.h>

#include <string>
#include <vector>

#include "bulwark/gateway/protocol.h"
#include "bulwark/gateway/result.h"

namespace bulwark::daemon {

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups of the peer process
  std::string user;           // from the password database, or the uid as text
  gateway::Role role = gateway::Role::None;
  // A remote peer (tls_listener.*): identified by its client certificate, not by uid. uid is
  // then (uid_t)-1, which no process has, so nothing keyed on uid can mistake it for root.
  bool tls = false;
  std::string certCn, certGroup, certSerial;
  std::string address;       // "10.99.0.5:51234"
  std::string localAddress;  // the listener's end of the connection: "10.99.0.1:9443"
  // "alice (uid 1000)"; for a certificate "CN=alice, OU=netops (certificate 1A2B..., 10.99.0.5:51234)"
  [[nodiscard]] std::string who() const;
  // What connection slots, buffer memory and worker jobs are counted by: "uid 1000", or for a
  // certificate the source address "addr 10.99.0.5" (one host cannot take every slot).
  [[nodiscard]] std::string limitKey() const;
};

struct AccessGroups {
  // nullopt-like: a group that does not exist grants nothing.
  bool haveChange = false;
  gid_t change = 0;
  bool haveView = false;
  gid_t view = 0;
  // As configured (--change-group/--view-group, a name or a gid): for refusal texts.
  std::string changeName = gateway::kGroupChange;
  std::string viewName = gateway::kGroupView;
};

// A group name or a numeric gid; a name not in the group database grants nothing.
[[nodiscard]] AccessGroups resolveAccessGroups(const std::string& changeGroup, const std::string& viewGroup);

// Pure: the role for these credentials.
[[nodiscard]] gateway::Role roleFor(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const AccessGroups& g);

[[nodiscard]] gateway::Result<Peer> identifyPeer(int fd, const AccessGroups& groups);

}  // namespace bulwark::daemon
