// gateway.web: the web view's listener — loading, and the validator's checks (the address as
// for control, the groups come from control, no port clash with control).
#include <gtest/gtest.h>

#include "test_support.h"

namespace bulwark::policies {
namespace {

using test::diags;
using test::Lines;

constexpr const char* kSegments = R"(segments:
  - { name: app, vlan: 20, ipv4: { subnet: 10.20.0.0/24, gateway: 10.20.0.1 } }
  - { name: mgmt, vlan: 99, ipv4: { subnet: 10.99.0.0/24, gateway: 10.99.0.1 } }
)";

std::string policyWith(const std::string& gatewayKeys) {
  return "gateway:\n  uplink: eth0\n  trunk: eth1\n" + gatewayKeys + kSegments;
}
const std::string kControl = "  control: { listen: 10.99.0.1, change: netops, view: auditors }\n";

TEST(Web, LoadsAddressAndPort) {
  auto r = test::loadValid(policyWith(kControl + "  web: { listen: 10.99.0.1, port: 9444 }\n"));
  ASSERT_TRUE(r.policy.gateway && r.policy.gateway->web);
  EXPECT_EQ(r.policy.gateway->web->listen.str(), "10.99.0.1");
  EXPECT_EQ(r.policy.gateway->web->port, 9444);
  auto d = test::loadValid(policyWith(kControl + "  web: { listen: 10.99.0.1 }\n"));
  EXPECT_EQ(d.policy.gateway->web->port, 8443);
}

TEST(Web, EveryAddressAndForeignAddressesAreRejected) {
  EXPECT_EQ(diags(policyWith(kControl + "  web: { listen: 0.0.0.0 }\n")),
            (Lines{"t.yaml:5:18: error: the web view must not listen on every address (0.0.0.0)\n"
                   "  hint: use the gateway's address on the management segment: one of 10.20.0.1 (app), "
                   "10.99.0.1 (mgmt)"}));
  EXPECT_EQ(diags(policyWith(kControl + "  web: { listen: 10.99.0.9 }\n")),
            (Lines{"t.yaml:5:18: error: web listen address 10.99.0.9 is not the gateway's own address on any "
                   "segment\n  hint: use the gateway's address on the management segment: one of 10.20.0.1 (app), "
                   "10.99.0.1 (mgmt)"}));
}

TEST(Web, NeedsControlsGroupsAndItsOwnPort) {
  EXPECT_EQ(diags(policyWith("  web: { listen: 10.99.0.1 }\n")),
            (Lines{"t.yaml:4:3: error: 'web' has no certificate groups: it admits the groups of 'control'\n"
                   "  hint: add 'control: { listen: ..., change: [<group>], view: [<group>] }' (view suffices)"}));
  EXPECT_EQ(diags(policyWith(kControl + "  web: { listen: 10.99.0.1, port: 9443 }\n")),
            (Lines{"t.yaml:5:35: error: web port 9443 is the control API's port on 10.99.0.1\n"
                   "  hint: use another port (the default is 8443)"}));
}

TEST(Web, LoaderErrors) {
  EXPECT_EQ(test::loadDiags(policyWith(kControl + "  web: { listen: 10.99.0.1/24, port: 0, lisen: x }\n")),
            (Lines{"t.yaml:5:18: error: invalid IP address '10.99.0.1/24'\n  hint: write the address without a prefix "
                   "length",
                   "t.yaml:5:38: error: 'port' 0 is out of range (1-65535)",
                   "t.yaml:5:41: error: unknown key 'lisen' in web\n  hint: did you mean 'listen'?"}));
}

}  // namespace
}  // namespace bulwark::policies
