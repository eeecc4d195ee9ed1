#include "views/traffic_view.h"

#include <algorithm>

#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QDateTimeAxis>
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

QString human(double v) {
  if (v >= 1e9) return QString::number(v / 1e9, 'f', 2) + QStringLiteral(" G");
  if (v >= 1e6) return QString::number(v / 1e6, 'f', 2) + QStringLiteral(" M");
  if (v >= 1e3) return QString::number(v / 1e3, 'f', 1) + QStringLiteral(" k");
  return QString::number(v, 'f', 0) + QStringLiteral(" ");
}

QString prefixOf(double divisor) {
  if (divisor >= 1e9) return QStringLiteral("G");
  if (divisor >= 1e6) return QStringLiteral("M");
  if (divisor >= 1e3) return QStringLiteral("k");
  return {};
}

}  // namespace

QString TrafficView::Chart::unit() const { return prefixOf(divisor) + base; }

void TrafficView::makeChart(Chart& c, const QString& title, const QString& base) {
  c.chart = new QChart;
  c.chart->setTitle(title);
  c.chart->legend()->setAlignment(Qt::AlignRight);
  c.chart->setAnimationOptions(QChart::NoAnimation);  // animations cost frames at 1 Hz with many series
  c.x = new QDateTimeAxis;
  c.x->setFormat(QStringLiteral("HH:mm:ss"));
  c.x->setTitleText(QObject::tr("local time"));
  const auto now = QDateTime::currentDateTime();
  c.x->setRange(now.addSecs(-kWindowSeconds), now);
  c.base = base;
  c.y = new QValueAxis;
  c.y->setRange(0, 1);
  c.y->setLabelFormat(QStringLiteral("%g"));  // small rates (0.5 drops/s) need their decimals
  c.y->setTitleText(c.unit());
  c.chart->addAxis(c.x, Qt::AlignBottom);
  c.chart->addAxis(c.y, Qt::AlignLeft);
}

TrafficView::TrafficView(Session* session, PolicyDocument* doc, QWidget* parent)
    : QWidget(parent), session_(session), doc_(doc) {
  makeChart(bytes_, tr("traffic per zone pair"), tr("bit/s"));
  makeChart(drops_, tr("drops per zone pair"), tr("packets/s"));
  makeChart(segments_, tr("traffic per segment (in + out)"), tr("bit/s"));
  auto* bytesView = new QChartView(bytes_.chart);
  bytesView->setObjectName(QStringLiteral("bytesChart"));
  auto* dropsView = new QChartView(drops_.chart);
  bytesView->setRenderHint(QPainter::Antialiasing);
  dropsView->setRenderHint(QPainter::Antialiasing);
  auto* segmentView = new QChartView(segments_.chart);
  segmentView->setObjectName(QStringLiteral("segmentChart"));
  segmentView->setRenderHint(QPainter::Antialiasing);
  // Below ~200 px Qt Charts elides the x axis labels and title to "…".
  for (auto* v : {bytesView, dropsView, segmentView}) v->setMinimumHeight(210);
  table_ = new QTableWidget(0, 3);
  table_->setHorizontalHeaderLabels({tr("zone pair"), tr("traffic"), tr("drops")});
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  conntrack_ = new QLabel(tr("connections: not reported by this daemon"));
  state_ = new QLabel;
  state_->setWordWrap(true);
  auto* charts = new QSplitter(Qt::Vertical);
  charts->addWidget(bytesView);
  charts->addWidget(dropsView);
  charts->addWidget(segmentView);
  // The table beside the charts, not under them: at 1366x768 there it lists every pair of a
  // campus-sized policy (under three charts it had room for one and a half rows).
  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(charts);
  split->addWidget(table_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  auto* lay = new QVBoxLayout(this);
  lay->addWidget(conntrack_);
  lay->addWidget(split, 1);
  lay->addWidget(state_);
  state_->setText(tr("Traffic: every byte forwarded in each zone pair, in bits per second, replies counted under "
                     "the pair that opened the connection; ≈ marks pairs whose first packets go through rules "
                     "shared with other pairs (those counted per rule only). Older daemons: first packets only, "
                     "summed here from per-rule counters. Per segment: the sum of the pairs it sends into and "
                     "receives from."));
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

QLineSeries* TrafficView::series(Chart& c, const QString& name) {
  auto it = c.series.find(name);
  if (it != c.series.end()) return it->second;
  if (c.series.size() >= static_cast<std::size_t>(kMaxSeries)) return nullptr;
  auto* s = new QLineSeries;
  s->setName(name);
  c.chart->addSeries(s);
  s->attachAxis(c.x);
  s->attachAxis(c.y);
  c.series.emplace(name, s);
  return s;
}

void TrafficView::append(Chart& c, QLineSeries* s, double msecs, double v) {
  if (!s) return;
  // A value of 1,000 or more in the current unit: the next prefix, every line rescaled, so
  // the axis never reads 50000 (the table has the exact figure).
  if (v / c.divisor >= 1000 && c.divisor < 1e9) {
    double by = 1;
    while (v / (c.divisor * by) >= 1000 && c.divisor * by < 1e9) by *= 1000;
    c.divisor *= by;
    for (auto& [name, line] : c.series) {
      auto points = line->points();
      for (auto& p : points) p.setY(p.y() / by);
      line->replace(points);
    }
    c.y->setMax(c.y->max() / by);
    c.y->setTitleText(c.unit());
  }
  const double scaled = v / c.divisor;
  s->append(msecs, scaled);
  // Keep the window: drop points older than it (a series never grows without bound).
  int old = 0;
  while (old < s->count() && s->at(old).x() < msecs - kWindowSeconds * 1000.0) ++old;
  if (old > 0) s->removePoints(0, old);
  if (scaled > c.y->max()) {
    c.y->setMax(scaled * 1.2);
    c.y->applyNiceNumbers();  // distinct, round tick labels
  }
}

QString TrafficView::pairAxisUnit() const { return bytes_.y->titleText(); }
QString TrafficView::segmentAxisUnit() const { return segments_.y->titleText(); }

void TrafficView::onCounters(const QJsonObject& r) {
  ++polls_;
  if (!r.value(QStringLiteral("ok")).toBool()) {
    conntrack_->setText(tr("counters: %1").arg(replyError(r)));
    return;
  }
  auto rates = rates_.update(r, clock_.elapsed());
  // The wall clock for the axes (the rates themselves come from the monotonic clock).
  const auto now = QDateTime::currentDateTime();
  const double t = static_cast<double>(now.toMSecsSinceEpoch());
  for (auto* c : {&bytes_, &drops_, &segments_}) c->x->setRange(now.addSecs(-kWindowSeconds), now);
  // Busiest first: in the table, and for the charts' kMaxSeries lines.
  std::stable_sort(rates.begin(), rates.end(),
                   [](const PairRate& a, const PairRate& b) { return a.bytesPerSecond > b.bytesPerSecond; });
  table_->setRowCount(static_cast<int>(rates.size()));
  int row = 0;
  for (const auto& p : rates) {
    peak_[p.pair] = std::max(peak_[p.pair], p.bytesPerSecond);
    latest_[p.pair] = p.bytesPerSecond;
    // A pair gets a line once it carried traffic (or drops); quiet pairs stay in the table.
    if (p.bytesPerSecond > 0 || bytes_.series.count(p.pair)) append(bytes_, series(bytes_, p.pair), t, 8 * p.bytesPerSecond);
    if (p.dropsPerSecond > 0 || drops_.series.count(p.pair)) append(drops_, series(drops_, p.pair), t, p.dropsPerSecond);
    auto set = [&](int c, const QString& s) {
      auto* it = table_->item(row, c);
      if (!it) table_->setItem(row, c, it = new QTableWidgetItem);
      it->setText(s);
    };
    set(0, p.shared ? p.pair + QStringLiteral(" ≈") : p.pair);
    set(1, human(8 * p.bytesPerSecond) + tr("bit/s"));
    set(2, human(p.dropsPerSecond) + tr("packets/s"));
    ++row;
  }
  for (const auto& seg : CounterRates::perSegment(rates)) {
    const double total = seg.inBytesPerSecond + seg.outBytesPerSecond;
    segmentPeak_[seg.segment] = std::max(segmentPeak_[seg.segment], total);
    const QString name = seg.shared ? seg.segment + QStringLiteral(" ≈") : seg.segment;
    if (total > 0 || segments_.series.count(name)) append(segments_, series(segments_, name), t, 8 * total);
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
  for (const auto& [p, s] : bytes_.series) out << p;
  return out;
}

}  // namespace bulwark::console
