#pragma once
// Live traffic per zone pair (bytes/s and drops/s charts) and per segment (in+out bytes/s) (Qt Charts) from polling `counters`
// once a second (CounterRates explains the aggregation), a table of the current rates, and
// the connection count against its limit when the daemon reports one. A poll is skipped
// while the previous one is still out, so a slow daemon never queues requests; replies are
// handled in the event loop like any other.
#include <QElapsedTimer>
#include <QWidget>

#include <map>

#include "traffic/counter_rates.h"

class QChart;
class QChartView;
class QLabel;
class QLineSeries;
class QTableWidget;
class QTimer;
class QValueAxis;

namespace bulwark::console {

class PolicyDocument;
class Session;

class TrafficView : public QWidget {
  Q_OBJECT
 public:
  TrafficView(Session* session, PolicyDocument* doc, QWidget* parent = nullptr);

  void setPollInterval(int ms);
  // Largest bytes/s point ever plotted for a pair (tests: "the series moved").
  [[nodiscard]] double peakBytesPerSecond(const QString& pair) const;
  // The bytes/s of the last poll for a pair (tests: "the chart shows the load now").
  [[nodiscard]] double latestBytesPerSecond(const QString& pair) const;
  [[nodiscard]] QStringList plottedPairs() const;
  // Largest in+out bytes/s point plotted for a segment (tests).
  [[nodiscard]] double peakSegmentBytesPerSecond(const QString& segment) const;
  [[nodiscard]] int polls() const { return polls_; }

  static constexpr int kWindowSeconds = 120;
  static constexpr int kMaxSeries = 10;  // the busiest pairs; the table lists all

 signals:
  void updated();

 private:
  void poll();
  void onCounters(const QJsonObject& reply);
  QLineSeries* series(std::map<QString, QLineSeries*>& map, QChart* chart, QValueAxis* y, const QString& pair);
  void append(QLineSeries* s, QValueAxis* y, double t, double v);

  Session* session_;
  PolicyDocument* doc_;
  CounterRates rates_;
  QElapsedTimer clock_;
  QTimer* timer_;
  QChart *bytesChart_, *dropsChart_, *segmentChart_;
  QValueAxis *bytesX_, *bytesY_, *dropsX_, *dropsY_, *segmentX_, *segmentY_;
  std::map<QString, QLineSeries*> bytesSeries_, dropsSeries_, segmentSeries_;
  std::map<QString, double> peak_, latest_, segmentPeak_;
  QTableWidget* table_;
  QLabel* conntrack_;
  QLabel* state_;
  bool inFlight_ = false;
  int polls_ = 0;
};

}  // namespace bulwark::console
