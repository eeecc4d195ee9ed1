// The conntrack pressure event's thresholds: one event over 80 %, one below 70 %, nothing in
// between however often it is read, nothing for an unreadable table; the metrics follow.
#include <gtest/gtest.h>

#include "conntrack_pressure.h"

namespace bulwark::daemon {
namespace {

TEST(ConntrackPressure, OneEventAt80PercentClearedBelow70) {
  ConntrackPressure p;
  EXPECT_FALSE(p.update({0, 1000}));
  EXPECT_FALSE(p.update({799, 1000}));  // 79.9 %: not yet
  auto up = p.update({800, 1000});
  ASSERT_TRUE(up);
  EXPECT_EQ(up->event, "conntrack-pressure");
  EXPECT_FALSE(up->ok);
  EXPECT_EQ(up->summary, "conntrack 800 of 1000 entries (80.0 %): over 80 %, new connections are dropped when it is full");
  EXPECT_EQ(up->detail["entries"], 800);
  EXPECT_EQ(up->detail["max"], 1000);
  EXPECT_TRUE(p.high());
  // hovering between the thresholds: no more events
  for (long n : {1000L, 790L, 810L, 700L, 850L}) EXPECT_FALSE(p.update({n, 1000})) << n;
  auto down = p.update({699, 1000});
  ASSERT_TRUE(down);
  EXPECT_EQ(down->event, "conntrack-pressure-cleared");
  EXPECT_TRUE(down->ok);
  EXPECT_FALSE(p.high());
  EXPECT_FALSE(p.update({750, 1000}));  // below 80 %: still clear
  EXPECT_TRUE(p.update({900, 1000}));
  EXPECT_EQ(p.crossings(), 2u);
}

TEST(ConntrackPressure, UnreadableTableIsNoEventAndMetricsFollow) {
  ConntrackPressure p;
  EXPECT_FALSE(p.update({-1, -1}));
  EXPECT_FALSE(p.update({900, 0}));
  EXPECT_FALSE(p.update({-1, 1000}));
  EXPECT_NE(p.metrics().find("\nbulwark_conntrack_pressure 0\n"), std::string::npos);
  ASSERT_TRUE(p.update({210000, 262144}));
  const std::string m = p.metrics();
  EXPECT_NE(m.find("\nbulwark_conntrack_pressure 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("\nbulwark_conntrack_pressure_events_total 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("# TYPE bulwark_conntrack_pressure_events_total counter\n"), std::string::npos) << m;
}

}  // namespace
}  // namespace bulwark::daemon
