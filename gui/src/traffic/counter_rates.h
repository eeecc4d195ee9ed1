#pragma once
// Per zone pair rates from bulwarkd's `counters` reply (format in
// gateway/include/bulwark/gateway/protocol.h).
//
// A daemon that reports "zone_pairs" gives per-pair totals itself: every byte forwarded in the
// pair (the first packets its own rules and default drop decide, then the established traffic
// and the replies, counted under the pair that opened the connection) and the pair's drops;
// rules the pair shares with other pairs are counted per rule only, so such a pair is marked
// `shared` (its bytes/s leave those first packets out). An older daemon reports only per-rule rows ("counters": [{"rule": "<file>:<line>
// <name>" | "bulwark: drop <from>><to>", "packets", "bytes"}]); then the per-pair bytes are
// summed here from the rules the zone matrix puts in each pair, a rule spanning several pairs
// counted in each of them (also marked `shared`), and drops come from the pair drop rows.
#include <QJsonArray>
#include <QString>

#include <map>
#include <utility>
#include <vector>

#include "policy/analysis.h"

namespace bulwark::console {

struct PairRate {
  QString pair;  // "from → to"
  double bytesPerSecond = 0;
  double dropsPerSecond = 0;
  bool shared = false;  // includes rules that span other pairs too
};

// Per segment (zone), derived on the console from the pair rates: `out` sums the pairs the
// segment sends into, `in` the pairs it receives from (traffic within one segment counts in
// both), drops are the drops of the pairs it sends into. `shared` when any of those pairs is.
struct SegmentRate {
  QString segment;
  double inBytesPerSecond = 0;
  double outBytesPerSecond = 0;
  double dropsPerSecond = 0;
  bool shared = false;
};

class CounterRates {
 public:
  void setPolicy(const AnalysisPtr& analysis);

  // One `counters` reply at `msecs` (a monotonic clock). The first call (and the first after
  // setPolicy) only sets the baseline; later calls return a rate for every pair that has
  // counters. After a counter reset (an apply replaced the table) rates are 0 for one poll.
  std::vector<PairRate> update(const QJsonObject& reply, qint64 msecs);

  // The rule name in a counter comment ("campus.yaml:81 public-web" → "public-web"), or the
  // pair of a drop counter ("bulwark: drop dmz>app" → {"dmz","app"}).
  [[nodiscard]] static QString ruleOfComment(const QString& comment);
  [[nodiscard]] static std::optional<std::pair<QString, QString>> dropPairOfComment(const QString& comment);
  [[nodiscard]] static QString pairName(const QString& from, const QString& to);
  [[nodiscard]] static std::vector<SegmentRate> perSegment(const std::vector<PairRate>& pairs);

 private:
  struct Totals {
    double bytes = 0, drops = 0;
    bool shared = false;
  };
  [[nodiscard]] std::map<QString, Totals> fromPairs(const QJsonArray& pairs) const;
  [[nodiscard]] std::map<QString, Totals> fromRules(const QJsonArray& rows) const;
  std::map<QString, std::vector<QString>> rulePairs_;  // rule → pair names
  std::map<QString, bool> sharedPair_;
  std::map<QString, Totals> last_;
  qint64 lastMsecs_ = -1;
};

}  // namespace bulwark::console
