// keepalived.conf and conntrackd.conf of the reference pair (policies/examples/campus-ha)
// against golden files, plus the node view they come from. Regenerate a golden after a
// deliberate change with BULWARK_UPDATE_GOLDEN=1 and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bulwark/ha/node_view.h"
#include "bulwark/ha/render.h"
#include "bulwark/policies/loader.h"

namespace bulwark::ha {
namespace {

policies::Policy campusHa() {
  auto r = policies::loadAndValidate(std::filesystem::path(BULWARK_EXAMPLES_DIR) / "campus-ha");
  EXPECT_FALSE(r.diagnostics.hasErrors());
  return std::move(r.policy);
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void expectGolden(const std::string& name, const std::string& text) {
  auto path = std::filesystem::path(BULWARK_HA_GOLDEN_DIR) / name;
  if (std::getenv("BULWARK_UPDATE_GOLDEN")) {
    std::ofstream(path) << text;
  }
  EXPECT_EQ(text, readFile(path)) << "golden " << path;
}

const RuntimePaths kPaths{"/run/bulwark/ha"};

TEST(HaRender, NodeViewOfTheReferencePair) {
  auto p = campusHa();
  auto a = nodeView(p, "edge1-a");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->peer, "edge1-b");
  EXPECT_EQ(a->priority, 150);
  EXPECT_EQ(a->syncInterface, "eth2");
  EXPECT_EQ(a->syncSelf.str(), "10.255.0.1");
  EXPECT_EQ(a->syncPeer.str(), "10.255.0.2");
  ASSERT_EQ(a->instances.size(), 6u);  // uplink + 5 segments
  EXPECT_EQ(a->instances[0].name, "bulwark_eth0");
  EXPECT_EQ(a->instances[0].vrid, 51);
  EXPECT_EQ(a->instances[1].name, "bulwark_eth1_10");
  EXPECT_EQ(a->instances[5].vrid, 56);
  auto b = nodeView(p, "edge1-b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->priority, 100);
  EXPECT_EQ(b->syncSelf.str(), "10.255.0.2");
  auto none = nodeView(p, "edge9");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message,
            "this node 'edge9' is not one of the policy's ha.nodes (edge1-a, edge1-b): set it in /etc/bulwark/node or "
            "with --node");
}

TEST(HaRender, KeepalivedGolden) {
  auto p = campusHa();
  expectGolden("keepalived-edge1-a.conf", renderKeepalived(*nodeView(p, "edge1-a"), kPaths));
  expectGolden("keepalived-edge1-b.conf", renderKeepalived(*nodeView(p, "edge1-b"), kPaths));
}

TEST(HaRender, ConntrackdGolden) {
  auto p = campusHa();
  expectGolden("conntrackd-edge1-a.conf", renderConntrackd(*nodeView(p, "edge1-a"), kPaths));
}

TEST(HaRender, FailbackModes) {
  auto p = campusHa();
  p.ha->failback = policies::HaFailback::Preempt;
  p.ha->preemptDelay = 10;
  auto text = renderKeepalived(*nodeView(p, "edge1-a"), kPaths);
  EXPECT_NE(text.find("  preempt_delay 10\n"), std::string::npos);
  EXPECT_EQ(text.find("nopreempt"), std::string::npos);
  p.ha->preemptDelay.reset();
  text = renderKeepalived(*nodeView(p, "edge1-a"), kPaths);
  EXPECT_EQ(text.find("preempt"), std::string::npos);  // keepalived preempts by default
}

TEST(HaRender, AdvertSeconds) {
  EXPECT_EQ(advertSeconds(10), "0.1");
  EXPECT_EQ(advertSeconds(100), "1");
  EXPECT_EQ(advertSeconds(25), "0.25");
  EXPECT_EQ(advertSeconds(105), "1.05");
  EXPECT_EQ(advertSeconds(4095), "40.95");
}

TEST(HaRender, CommandLines) {
  EXPECT_EQ(conntrackdArgv("/usr/sbin/conntrackd", kPaths),
            (std::vector<std::string>{"/usr/sbin/conntrackd", "-C", "/run/bulwark/ha/conntrackd.conf"}));
  auto k = keepalivedArgv("/usr/sbin/keepalived", kPaths);
  EXPECT_EQ(k.front(), "/usr/sbin/keepalived");
  EXPECT_NE(std::find(k.begin(), k.end(), "--use-file=/run/bulwark/ha/keepalived.conf"), k.end());
  EXPECT_NE(std::find(k.begin(), k.end(), "--dont-fork"), k.end());
}

TEST(HaRender, LocalNodeName) {
  EXPECT_EQ(*localNodeName("edge1-b", "/nonexistent"), "edge1-b");
  auto dir = std::filesystem::temp_directory_path() / ("bulwark-ha-node-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "node") << "  edge1-a \n";
  EXPECT_EQ(*localNodeName("", (dir / "node").string()), "edge1-a");
  std::filesystem::remove_all(dir);
  auto host = localNodeName("", "/nonexistent");
  ASSERT_TRUE(host);
  EXPECT_FALSE(host->empty());
  EXPECT_EQ(host->find('.'), std::string::npos);
}

}  // namespace
}  // namespace bulwark::ha
