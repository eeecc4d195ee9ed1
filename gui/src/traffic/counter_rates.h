#pragma once
// Per zone pair rates from bulwarkd's `counters` reply.
//
// What the daemon reports (gateway/daemon/handlers.cpp): one row per nft rule comment,
// {"rule": "<file>:<line> <rule name>", "packets", "bytes"} for each policy rule's own chain,
// and "bulwark: drop <from>><to>" for each zone pair's final drop. It has no per-pair byte
// totals, so they are aggregated here on the client: a rule's bytes go to the zone pairs the
// policy's zone matrix puts it in. A rule that spans several pairs is counted in each of
// them (its traffic cannot be split from these counters); such pairs are marked `shared`.
// Drops come straight from the per-pair drop counters (packets/s).
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

class CounterRates {
 public:
  void setPolicy(const AnalysisPtr& analysis);

  // One `counters` reply's rows at `msecs` (a monotonic clock). The first call (and the first
  // after setPolicy or a counter reset, e.g. after an apply replaced the table) only sets the
  // baseline; later calls return a rate for every pair that has counters.
  std::vector<PairRate> update(const QJsonArray& rows, qint64 msecs);

  // The rule name in a counter comment ("campus.yaml:81 public-web" → "public-web"), or the
  // pair of a drop counter ("bulwark: drop dmz>app" → {"dmz","app"}).
  [[nodiscard]] static QString ruleOfComment(const QString& comment);
  [[nodiscard]] static std::optional<std::pair<QString, QString>> dropPairOfComment(const QString& comment);
  [[nodiscard]] static QString pairName(const QString& from, const QString& to);

 private:
  struct Totals {
    double bytes = 0, drops = 0;
  };
  std::map<QString, std::vector<QString>> rulePairs_;  // rule → pair names
  std::map<QString, bool> sharedPair_;
  std::map<QString, Totals> last_;
  qint64 lastMsecs_ = -1;
};

}  // namespace bulwark::console
