// gateway.control: remote control access (TLS) — loading and the validator's checks of the
// listen address and the certificate groups. Complete diagnostic lists, as
// `bulwarkctl validate` prints them.
#include <gtest/gtest.h>

#include "test_support.h"

namespace bulwark::policies {
namespace {

using test::diags;
using test::Lines;

constexpr const char* kSegments = R"(segments:
  - { name: app, vlan: 20, ipv4: { subnet: 10.20.0.0/24, gateway: 10.20.0.1 } }
  - name: mgmt
    vlan: 99
    ipv4: { subnet: 10.99.0.0/24, gateway: 10.99.0.1 }
    ipv6: { subnet: 2001:db8:99::/64, gateway: 2001:db8:99::1 }
)";

std::string policyWith(const std::string& control) {
  return "gateway:\n  uplink: eth0\n  trunk: eth1\n  control:\n" + control + kSegments;
}

TEST(Control, LoadsAddressPortAndGroups) {
  auto r = test::loadValid(policyWith("    listen: 10.99.0.1\n    port: 8443\n    change: netops\n"
                                      "    view: [auditors, dba]\n"));
  ASSERT_TRUE(r.policy.gateway && r.policy.gateway->control);
  const auto& c = *r.policy.gateway->control;
  EXPECT_EQ(c.listen.str(), "10.99.0.1");
  EXPECT_EQ(c.port, 8443);
  ASSERT_EQ(c.change.size(), 1u);
  EXPECT_EQ(c.change[0].name, "netops");
  ASSERT_EQ(c.view.size(), 2u);
  EXPECT_EQ(c.view[1].name, "dba");
  EXPECT_EQ(c.view[1].where.str(), "t.yaml:8:22");
}

TEST(Control, DefaultPortAndIpv6Address) {
  auto r = test::loadValid(policyWith("    listen: 2001:db8:99::1\n    change: [netops]\n"));
  ASSERT_TRUE(r.policy.gateway && r.policy.gateway->control);
  EXPECT_EQ(r.policy.gateway->control->port, 9443);
  EXPECT_EQ(r.policy.gateway->control->listen.str(), "2001:db8:99::1");
}

TEST(Control, AnAddressThatIsNotTheGatewaysOwnIsRejected) {
  EXPECT_EQ(diags(policyWith("    listen: 10.99.0.7\n    change: netops\n")),
            (Lines{"t.yaml:5:13: error: control listen address 10.99.0.7 is not the gateway's own address on any "
                   "segment\n  hint: use the gateway's address on the management segment: one of 10.20.0.1 (app), "
                   "10.99.0.1 (mgmt), 2001:db8:99::1 (mgmt)"}));
}

TEST(Control, EveryAddressIsRejected) {
  EXPECT_EQ(diags(policyWith("    listen: 0.0.0.0\n    change: netops\n")),
            (Lines{"t.yaml:5:13: error: the control API must not listen on every address (0.0.0.0)\n"
                   "  hint: use the gateway's address on the management segment: one of 10.20.0.1 (app), "
                   "10.99.0.1 (mgmt), 2001:db8:99::1 (mgmt)"}));
}

TEST(Control, NoRoleAndDuplicateGroups) {
  EXPECT_EQ(diags(policyWith("    listen: 10.99.0.1\n")),
            (Lines{"t.yaml:4:3: error: 'control' grants no role: no certificate group may change or view\n"
                   "  hint: add 'change: [<group>]' and/or 'view: [<group>]' (the --group of `bulwarkctl pki issue`)"}));
  EXPECT_EQ(diags(policyWith("    listen: 10.99.0.1\n    change: [netops]\n    view: [netops]\n")),
            (Lines{"t.yaml:7:12: error: certificate group 'netops' is listed twice (in 'change' and in 'view')\n"
                   "  hint: a group has one role; 'change' includes reading"}));
}

TEST(Control, LoaderErrors) {
  EXPECT_EQ(test::loadDiags(policyWith("    listen: 10.99.0.1/24\n    port: 70000\n    change: [9ops]\n    vieww: x\n")),
            (Lines{"t.yaml:5:13: error: invalid IP address '10.99.0.1/24'\n  hint: write the address without a prefix length",
                   "t.yaml:6:11: error: 'port' 70000 is out of range (1-65535)",
                   "t.yaml:7:14: error: invalid certificate group name '9ops'\n"
                   "  hint: names start with a letter and hold up to 32 letters, digits, '-' or '_'",
                   "t.yaml:8:5: error: unknown key 'vieww' in control\n  hint: did you mean 'view'?"}));
}

}  // namespace
}  // namespace bulwark::policies
