#include "traffic/counter_rates.h"

#include <QJsonObject>
#include <QRegularExpression>
#include <set>

namespace bulwark::console {

QString CounterRates::pairName(const QString& from, const QString& to) { return from + QStringLiteral(" → ") + to; }

std::vector<SegmentRate> CounterRates::perSegment(const std::vector<PairRate>& pairs) {
  std::map<QString, SegmentRate> bySegment;
  const QString arrow = QStringLiteral(" → ");
  for (const auto& p : pairs) {
    const auto at = p.pair.indexOf(arrow);
    if (at < 0) continue;
    auto& from = bySegment[p.pair.left(at)];
    auto& to = bySegment[p.pair.mid(at + arrow.size())];
    from.outBytesPerSecond += p.bytesPerSecond;
    from.dropsPerSecond += p.dropsPerSecond;
    to.inBytesPerSecond += p.bytesPerSecond;
    from.shared = from.shared || p.shared;
    to.shared = to.shared || p.shared;
  }
  std::vector<SegmentRate> out;
  out.reserve(bySegment.size());
  for (auto& [name, r] : bySegment) {
    r.segment = name;
    out.push_back(r);
  }
  return out;
}

void CounterRates::setPolicy(const AnalysisPtr& analysis) {
  rulePairs_.clear();
  sharedPair_.clear();
  last_.clear();
  lastMsecs_ = -1;
  if (!analysis) return;
  std::map<QString, std::set<QString>> pairs;
  for (const auto& [key, entries] : analysis->matrix.cells) {
    auto name = pairName(QString::fromStdString(key.first), QString::fromStdString(key.second));
    for (const auto& e : entries) pairs[QString::fromStdString(e.rule)].insert(name);
  }
  for (auto& [rule, set] : pairs) {
    rulePairs_[rule] = std::vector<QString>(set.begin(), set.end());
    for (const auto& p : set) sharedPair_[p] = sharedPair_[p] || set.size() > 1;
  }
}

QString CounterRates::ruleOfComment(const QString& comment) {
  // "<file>:<line> <name>": the compiler's Rule::comment() for a policy rule's chain.
  static const QRegularExpression re(QStringLiteral("^[^ :]+:\\d+ (\\S+)$"));
  auto m = re.match(comment);
  return m.hasMatch() ? m.captured(1) : QString();
}

std::optional<std::pair<QString, QString>> CounterRates::dropPairOfComment(const QString& comment) {
  static const QRegularExpression re(QStringLiteral("^bulwark: drop ([^>]+)>(.+)$"));
  auto m = re.match(comment);
  if (!m.hasMatch()) return std::nullopt;
  return std::pair{m.captured(1), m.captured(2)};
}

std::map<QString, CounterRates::Totals> CounterRates::fromPairs(const QJsonArray& pairs) const {
  std::map<QString, Totals> now;
  for (const auto& v : pairs) {
    auto o = v.toObject();
    auto& t = now[pairName(o.value(QStringLiteral("from")).toString(), o.value(QStringLiteral("to")).toString())];
    t.bytes += o.value(QStringLiteral("bytes")).toDouble();
    t.drops += o.value(QStringLiteral("drop_packets")).toDouble();
    t.shared = t.shared || o.value(QStringLiteral("shared_rules")).toInt() > 0;
  }
  return now;
}

std::map<QString, CounterRates::Totals> CounterRates::fromRules(const QJsonArray& rows) const {
  std::map<QString, Totals> now;
  for (const auto& v : rows) {
    auto o = v.toObject();
    auto comment = o.value(QStringLiteral("rule")).toString();
    if (auto drop = dropPairOfComment(comment)) {
      now[pairName(drop->first, drop->second)].drops += o.value(QStringLiteral("packets")).toDouble();
      continue;
    }
    auto rule = ruleOfComment(comment);
    auto it = rulePairs_.find(rule);
    if (it == rulePairs_.end()) continue;
    for (const auto& p : it->second) now[p].bytes += o.value(QStringLiteral("bytes")).toDouble();
  }
  for (auto& [pair, t] : now) {
    auto s = sharedPair_.find(pair);
    t.shared = s != sharedPair_.end() && s->second;
  }
  return now;
}

std::vector<PairRate> CounterRates::update(const QJsonObject& reply, qint64 msecs) {
  auto now = reply.contains(QStringLiteral("zone_pairs")) ? fromPairs(reply.value(QStringLiteral("zone_pairs")).toArray())
                                                          : fromRules(reply.value(QStringLiteral("counters")).toArray());
  std::vector<PairRate> out;
  const bool baseline = lastMsecs_ < 0 || msecs <= lastMsecs_;
  bool reset = false;
  if (!baseline) {
    const double secs = static_cast<double>(msecs - lastMsecs_) / 1000.0;
    for (const auto& [pair, t] : now) {
      auto prev = last_.find(pair);
      Totals p = prev == last_.end() ? Totals{} : prev->second;
      if (t.bytes < p.bytes || t.drops < p.drops) reset = true;  // the table was replaced
      out.push_back({pair, std::max(0.0, (t.bytes - p.bytes) / secs), std::max(0.0, (t.drops - p.drops) / secs), t.shared});
    }
  }
  last_ = std::move(now);
  lastMsecs_ = msecs;
  if (reset) {
    // Counters restarted: a negative delta says nothing about the rate this second.
    for (auto& r : out) r.bytesPerSecond = r.dropsPerSecond = 0;
  }
  return out;
}

}  // namespace bulwark::console
