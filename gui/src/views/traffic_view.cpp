#include "views/traffic_view.h"

#include <QChart>
#include <QChartView>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QLineSeries>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QValueAxis>
#include <QVBoxLayout>

#include "control/session.h"
#include "policy/policy_document.h"

namespace bulwark::console {

namespace {

QChart* makeChart(const QString& title, QValueAxis*& x, QValueAxis*& y) {
  auto* c = new QChart;
  c->setTitle(title);
  c->legend()->setAlignment(Qt::AlignRight);
  c->setAnimationOptions(QChart::NoAnimation);  // animations cost frames at 1 Hz with many series
  x = new QValueAxis;
  x->setTitleText(QObject::tr("seconds"));
  x->setRange(0, TrafficView::kWindowSeconds);
  x->setLabelFormat(QStringLiteral("%d"));
  y = new QValueAxis;
  y->setRange(0, 1);
  y->setLabelFormat(QStringLiteral("%g"));  // small rates (0.5 drops/s) need their decimals
  c->addAxis(x, Qt::AlignBottom);
  c->addAxis(y, Qt::AlignLeft);
  return c;
}

QString human(double v) {
  if (v >= 1e6) return QString::number(v / 1e6, 'f', 2) + QStringLiteral(" M");
  if (v >= 1e3) return QString::number(v / 1e3, 'f', 1) + QStringLiteral(" k");
  return QString::number(v, 'f', 0) + QStringLiteral(" ");
}

}  // namespace

TrafficView::TrafficView(Session* session, PolicyDocument* doc, QWidget* parent)
    : QWidget(parent), session_(session), doc_(doc) {
  bytesChart_ = makeChart(tr("bytes/s per zone pair"), bytesX_, bytesY_);
  dropsChart_ = makeChart(tr("drops/s per zone pair (packets)"), dropsX_, dropsY_);
  segmentChart_ = makeChart(tr("bytes/s per segment (in + out)"), segmentX_, segmentY_);
  auto* bytesView = new QChartView(bytesChart_);
  bytesView->setObjectName(QStringLiteral("bytesChart"));
  auto* dropsView = new QChartView(dropsChart_);
  bytesView->setRenderHint(QPainter::Antialiasing);
  dropsView->setRenderHint(QPainter::Antialiasing);
  auto* segmentView = new QChartView(segmentChart_);
  segmentView->setObjectName(QStringLiteral("segmentChart"));
  segmentView->setRenderHint(QPainter::Antialiasing);
  // Below ~200 px Qt Charts elides the x axis labels and title to "…".
  for (auto* v : {bytesView, dropsView, segmentView}) v->setMinimumHeight(210);
  table_ = new QTableWidget(0, 3);
  table_->setHorizontalHeaderLabels({tr("zone pair"), tr("bytes/s"), tr("drops/s")});
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  conntrack_ = new QLabel(tr("connections: not reported by this daemon"));
  state_ = new QLabel;
  state_->setWordWrap(true);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(bytesView);
  split->addWidget(dropsView);
  split->addWidget(segmentView);
  split->addWidget(table_);
  auto* lay = new QVBoxLayout(this);
  lay->addWidget(conntrack_);
  lay->addWidget(split, 1);
  lay->addWidget(state_);
  state_->setText(tr("Bytes/s: every byte forwarded in each zone pair, replies counted under the pair that opened "
                     "the connection; ≈ marks pairs whose first packets go through rules shared with other pairs "
                     "(those counted per rule only). Older daemons: first packets only, summed here from per-rule "
                     "counters. Per segment: the sum of the pairs it sends into and receives from."));
  timer_ = new QTimer(this);
  timer_->setInterval(1000);
  connect(timer_, &QTimer::timeout, this, &TrafficView::poll);
  timer_->start();
  clock_.start();
  connect(doc_, &PolicyDocument::analysed, this, [this](const AnalysisPtr& a) { rates_.setPolicy(a); });
}

void TrafficView::setPollInterval(int ms) { timer_->setInterval(ms); }

void TrafficView::poll() {
  if (inFlight_ || session_->state() != Session::State::Connected) return;
  inFlight_ = true;
  session_->request(QStringLiteral("counters"), {}, this, [this](const QJsonObject& r) {
    inFlight_ = false;
    onCounters(r);
  });
}

QLineSeries* TrafficView::series(std::map<QString, QLineSeries*>& map, QChart* chart, QValueAxis* y, const QString& pair) {
  auto it = map.find(pair);
  if (it != map.end()) return it->second;
  if (map.size() >= static_cast<std::size_t>(kMaxSeries)) return nullptr;
  auto* s = new QLineSeries;
  s->setName(pair);
  chart->addSeries(s);
  s->attachAxis(chart->axes(Qt::Horizontal).first());
  s->attachAxis(y);
  map.emplace(pair, s);
  return s;
}

void TrafficView::append(QLineSeries* s, QValueAxis* y, double t, double v) {
  if (!s) return;
  s->append(t, v);
  // Keep the window: drop points older than it (a series never grows without bound).
  int old = 0;
  while (old < s->count() && s->at(old).x() < t - kWindowSeconds) ++old;
  if (old > 0) s->removePoints(0, old);
  if (v > y->max()) {
    y->setMax(v * 1.2);
    y->applyNiceNumbers();  // distinct, round tick labels
  }
}

void TrafficView::onCounters(const QJsonObject& r) {
  ++polls_;
  if (!r.value(QStringLiteral("ok")).toBool()) {
    conntrack_->setText(tr("counters: %1").arg(replyError(r)));
    return;
  }
  const double t = static_cast<double>(clock_.elapsed()) / 1000.0;
  auto rates = rates_.update(r, clock_.elapsed());
  if (t > kWindowSeconds) {
    bytesX_->setRange(t - kWindowSeconds, t);
    dropsX_->setRange(t - kWindowSeconds, t);
    segmentX_->setRange(t - kWindowSeconds, t);
  }
  table_->setRowCount(static_cast<int>(rates.size()));
  int row = 0;
  for (const auto& p : rates) {
    peak_[p.pair] = std::max(peak_[p.pair], p.bytesPerSecond);
    latest_[p.pair] = p.bytesPerSecond;
    // A pair gets a line once it carried traffic (or drops); quiet pairs stay in the table.
    if (p.bytesPerSecond > 0 || bytesSeries_.count(p.pair)) append(series(bytesSeries_, bytesChart_, bytesY_, p.pair), bytesY_, t, p.bytesPerSecond);
    if (p.dropsPerSecond > 0 || dropsSeries_.count(p.pair)) append(series(dropsSeries_, dropsChart_, dropsY_, p.pair), dropsY_, t, p.dropsPerSecond);
    auto set = [&](int c, const QString& s) {
      auto* it = table_->item(row, c);
      if (!it) table_->setItem(row, c, it = new QTableWidgetItem);
      it->setText(s);
    };
    set(0, p.shared ? p.pair + QStringLiteral(" ≈") : p.pair);
    set(1, human(p.bytesPerSecond) + QStringLiteral("B/s"));
    set(2, human(p.dropsPerSecond) + QStringLiteral("pkt/s"));
    ++row;
  }
  for (const auto& seg : CounterRates::perSegment(rates)) {
    const double total = seg.inBytesPerSecond + seg.outBytesPerSecond;
    segmentPeak_[seg.segment] = std::max(segmentPeak_[seg.segment], total);
    const QString name = seg.shared ? seg.segment + QStringLiteral(" ≈") : seg.segment;
    if (total > 0 || segmentSeries_.count(name)) append(series(segmentSeries_, segmentChart_, segmentY_, name), segmentY_, t, total);
  }
  // conntrack {count, max} of the daemon's namespace; null when the module is not loaded,
  // absent from older daemons.
  auto ct = r.value(QStringLiteral("conntrack")).toObject();
  if (ct.isEmpty()) {
    conntrack_->setText(tr("connections: not reported by this daemon"));
  } else if (ct.value(QStringLiteral("count")).isNull()) {
    conntrack_->setText(tr("connections: conntrack not loaded in the gateway's namespace"));
  } else {
    const auto count = ct.value(QStringLiteral("count")).toInteger(), max = ct.value(QStringLiteral("max")).toInteger();
    conntrack_->setText(tr("connections: %1 of %2 (%3 %)")
                            .arg(count)
                            .arg(max)
                            .arg(max > 0 ? 100.0 * static_cast<double>(count) / static_cast<double>(max) : 0.0, 0, 'f', 1));
  }
  if (r.contains(QStringLiteral("table")) && !r.value(QStringLiteral("table")).toBool()) {
    conntrack_->setText(conntrack_->text() + tr(" · Bulwark's table is not in the kernel"));
  }
  emit updated();
}

double TrafficView::peakBytesPerSecond(const QString& pair) const {
  auto it = peak_.find(pair);
  return it == peak_.end() ? 0 : it->second;
}

double TrafficView::latestBytesPerSecond(const QString& pair) const {
  auto it = latest_.find(pair);
  return it == latest_.end() ? 0 : it->second;
}

double TrafficView::peakSegmentBytesPerSecond(const QString& segment) const {
  auto it = segmentPeak_.find(segment);
  return it == segmentPeak_.end() ? 0 : it->second;
}

QStringList TrafficView::plottedPairs() const {
  QStringList out;
  for (const auto& [p, s] : bytesSeries_) out << p;
  return out;
}

}  // namespace bulwark::console
