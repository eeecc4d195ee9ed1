// What bulwarkd --ha requires of its own capabilities before it starts keepalived and
// conntrackd (ha/privileges.h): they reach the children only through the ambient set unless
// bulwarkd is root. The whole daemon refusing to start is in ha_lab_test.py.
#include "bulwark/ha/privileges.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <unistd.h>

namespace bulwark::ha {
namespace {

constexpr std::uint64_t bit(int cap) { return std::uint64_t{1} << cap; }
constexpr std::uint64_t kBoth = bit(CAP_NET_ADMIN) | bit(CAP_NET_RAW);

TEST(HaPrivileges, AmbientNetAdminAndNetRawAreEnough) {
  EXPECT_TRUE(checkChildPrivileges({false, kBoth | bit(CAP_SYS_NICE), kBoth | bit(CAP_SYS_NICE)}, false));
  EXPECT_TRUE(checkChildPrivileges({false, kBoth, kBoth}, false));
}

TEST(HaPrivileges, RootHandsDownItsEffectiveSet) {
  EXPECT_TRUE(checkChildPrivileges({true, ~std::uint64_t{0}, 0}, true));
  EXPECT_FALSE(checkChildPrivileges({true, bit(CAP_NET_ADMIN), 0}, false));  // root with a trimmed bounding set
}

TEST(HaPrivileges, TheDeployedSingleGatewaySetIsRefusedNamingWhatIsMissing) {
  // bulwarkd.service alone: CAP_NET_ADMIN, ambient.
  auto st = checkChildPrivileges({false, bit(CAP_NET_ADMIN), bit(CAP_NET_ADMIN)}, false);
  ASSERT_FALSE(st);
  const auto& m = st.error().message;
  EXPECT_NE(m.find("CAP_NET_RAW (keepalived's VRRP socket"), std::string::npos) << m;
  EXPECT_EQ(m.find("CAP_NET_ADMIN ("), std::string::npos) << m;
  EXPECT_NE(m.find("bulwarkd-ha.conf"), std::string::npos) << m;
  EXPECT_NE(m.find("run-bulwarkd.sh --caps net_admin,net_raw"), std::string::npos) << m;
}

TEST(HaPrivileges, CharonAlsoNeedsToBindIkePorts) {
  auto st = checkChildPrivileges({false, kBoth, kBoth}, true);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("CAP_NET_BIND_SERVICE (--charon"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("--caps net_admin,net_raw,sys_nice,net_bind_service"), std::string::npos);
  const auto all = kBoth | bit(CAP_NET_BIND_SERVICE);
  EXPECT_TRUE(checkChildPrivileges({false, all, all}, true));
}

TEST(HaPrivileges, EffectiveButNotAmbientDoesNotReachTheChildren) {
  auto st = checkChildPrivileges({false, kBoth, 0}, false);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("CAP_NET_ADMIN ("), std::string::npos);
  EXPECT_NE(st.error().message.find("CAP_NET_RAW ("), std::string::npos);
  // Ambient without effective cannot happen in the kernel; still nothing is handed down.
  EXPECT_FALSE(checkChildPrivileges({false, 0, kBoth}, false));
}

TEST(HaPrivileges, ThisProcessIsReadFromTheKernel) {
  auto caps = currentCaps();
  ASSERT_TRUE(caps) << caps.error().message;
  EXPECT_EQ(caps->root, ::geteuid() == 0);
  EXPECT_EQ(caps->ambient & ~caps->effective, 0u);
}

}  // namespace
}  // namespace bulwark::ha
