// Per zone pair rates from the daemon's per-rule counters (traffic/counter_rates.h).
#include <QJsonArray>
#include <QJsonObject>
#include <QtTest>

#include "policy/analysis.h"
#include "traffic/counter_rates.h"

using namespace bulwark::console;

namespace {
const char* kPolicy = R"(
gateway: { uplink: up0 }
segments:
  - { name: lan, interface: lan0, ipv4: { subnet: 10.1.0.0/24, gateway: 10.1.0.1 } }
  - { name: srv, interface: srv0, ipv4: { subnet: 10.2.0.0/24, gateway: 10.2.0.1 } }
  - { name: dmz, interface: dmz0, ipv4: { subnet: 10.3.0.0/24, gateway: 10.3.0.1 } }
rules:
  - { name: lan-web, from: lan, to: srv, services: [tcp/80], action: allow }
  - { name: lan-all, from: lan, to: [srv, dmz], services: [tcp/22], action: allow }
)";

QJsonObject row(const QString& rule, double packets, double bytes) {
  return {{"rule", rule}, {"packets", packets}, {"bytes", bytes}};
}

const PairRate* find(const std::vector<PairRate>& v, const QString& pair) {
  for (const auto& r : v) {
    if (r.pair == pair) return &r;
  }
  return nullptr;
}
}  // namespace

class CounterRatesTest : public QObject {
  Q_OBJECT
 private slots:
  void comments() {
    QCOMPARE(CounterRates::ruleOfComment("campus.yaml:81 public-web"), QString("public-web"));
    QCOMPARE(CounterRates::ruleOfComment("bulwark: default-drop"), QString());
    auto d = CounterRates::dropPairOfComment("bulwark: drop dmz>app");
    QVERIFY(d);
    QCOMPARE(d->first, QString("dmz"));
    QCOMPARE(d->second, QString("app"));
  }

  void rates() {
    auto a = analysePolicy({{"p.yaml", kPolicy}}, 1);
    QVERIFY2(a->diagnostics.errorCount() == 0, a->diagnostics.items().empty() ? "" : a->diagnostics.items()[0].str().c_str());
    CounterRates r;
    r.setPolicy(a);
    auto rows = [](const QJsonArray& list) { return QJsonObject{{"ok", true}, {"counters", list}}; };
    auto first = r.update(rows({row("p.yaml:6 lan-web", 1, 100), row("p.yaml:7 lan-all", 1, 50), row("bulwark: drop srv>lan", 2, 0)}), 1000);
    QVERIFY(first.empty());  // baseline
    auto second = r.update(rows({row("p.yaml:6 lan-web", 11, 2100), row("p.yaml:7 lan-all", 3, 1050),
                                 row("bulwark: drop srv>lan", 6, 0)}), 3000);
    const auto* ls = find(second, "lan → srv");
    QVERIFY(ls);
    QCOMPARE(ls->bytesPerSecond, (2000.0 + 1000.0) / 2.0);  // lan-web + lan-all (shared)
    QVERIFY(ls->shared);
    const auto* ld = find(second, "lan → dmz");
    QVERIFY(ld);
    QCOMPARE(ld->bytesPerSecond, 500.0);
    const auto* drop = find(second, "srv → lan");
    QVERIFY(drop);
    QCOMPARE(drop->dropsPerSecond, 2.0);
    // The table was replaced (counters restart): no negative rates.
    auto third = r.update(rows({row("p.yaml:6 lan-web", 1, 10)}), 4000);
    for (const auto& x : third) {
      QCOMPARE(x.bytesPerSecond, 0.0);
      QCOMPARE(x.dropsPerSecond, 0.0);
    }
  }

  // A daemon with per-pair totals (protocol.h "zone_pairs"): taken as they are.
  void daemonPairTotals() {
    CounterRates r;
    auto pairs = [](double bytes, double drops) {
      return QJsonObject{{"ok", true},
                         {"zone_pairs", QJsonArray{QJsonObject{{"from", "dmz"}, {"to", "app"}, {"packets", 1}, {"bytes", bytes},
                                                               {"drop_packets", drops}, {"drop_bytes", 0}, {"shared_rules", 0}},
                                                   QJsonObject{{"from", "mgmt"}, {"to", "app"}, {"packets", 0}, {"bytes", 0},
                                                               {"drop_packets", 0}, {"drop_bytes", 0}, {"shared_rules", 1}}}}};
    };
    QVERIFY(r.update(pairs(1000, 1), 0).empty());
    auto v = r.update(pairs(6000, 11), 500);
    const auto* p = find(v, "dmz → app");
    QVERIFY(p);
    QCOMPARE(p->bytesPerSecond, 10000.0);
    QCOMPARE(p->dropsPerSecond, 20.0);
    QVERIFY(!p->shared);
    QVERIFY(find(v, "mgmt → app")->shared);
  }

  // Per segment from pair rates: out = pairs it sends into, in = pairs it receives from,
  // traffic within a segment in both; drops belong to the sender.
  void perSegment() {
    const std::vector<PairRate> pairs{{"dmz → app", 1000, 2, false},
                                      {"app → db", 300, 0, false},
                                      {"mgmt → app", 50, 1, true},
                                      {"db → db", 40, 0, false}};
    auto seg = CounterRates::perSegment(pairs);
    auto at = [&](const QString& name) -> const SegmentRate* {
      for (const auto& s : seg)
        if (s.segment == name) return &s;
      return nullptr;
    };
    QCOMPARE(seg.size(), std::size_t{4});
    QVERIFY(at("app"));
    QCOMPARE(at("app")->inBytesPerSecond, 1050.0);
    QCOMPARE(at("app")->outBytesPerSecond, 300.0);
    QCOMPARE(at("app")->dropsPerSecond, 0.0);
    QVERIFY(at("app")->shared);  // mgmt → app shares rules
    QCOMPARE(at("dmz")->outBytesPerSecond, 1000.0);
    QCOMPARE(at("dmz")->inBytesPerSecond, 0.0);
    QCOMPARE(at("dmz")->dropsPerSecond, 2.0);
    QVERIFY(!at("dmz")->shared);
    QCOMPARE(at("db")->inBytesPerSecond, 340.0);
    QCOMPARE(at("db")->outBytesPerSecond, 40.0);
    QCOMPARE(at("mgmt")->dropsPerSecond, 1.0);
  }
};

QTEST_GUILESS_MAIN(CounterRatesTest)
#include "counter_rates_test.moc"
