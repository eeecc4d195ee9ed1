#pragma once
// Live traffic per zone pair (bit/s and drops/s charts) and per segment (in+out bit/s) (Qt
// Charts) from polling `counters` once a second (CounterRates explains the aggregation), a
// table of the current rates, and the connection count against its limit when the daemon
// reports one. The charts' time axis is the wall clock (the last kWindowSeconds); their value
// axis counts in bit/s (packets/s for drops) with the k/M/G prefix the largest value needs,
// named in the axis title. A poll is skipped while the previous one is still out, so a slow
// daemon never queues requests; replies are handled in the event loop like any other.
#include <QElapsedTimer>
#include <QWidget>

#include <map>

#include "traffic/counter_rates.h"

class QChart;
class QChartView;
class QDateTimeAxis;
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
  // The value axis title of the zone pairs' chart ("Mbit/s") and of the segments' (tests).
  [[nodiscard]] QString pairAxisUnit() const;
  [[nodiscard]] QString segmentAxisUnit() const;
  // The time axis of the zone pairs' chart (wall clock, tests).
  [[nodiscard]] QDateTimeAxis* timeAxis() const { return bytes_.x; }
  [[nodiscard]] QTableWidget* table() const { return table_; }

  static constexpr int kWindowSeconds = 120;
  static constexpr int kMaxSeries = 10;  // the busiest pairs; the table lists all

 signals:
  void updated();

 private:
  // One chart: its axes, its lines by name, and the unit its values are plotted in (the
  // base unit divided by `divisor`: 1, 1e3, 1e6, 1e9).
  struct Chart {
    QChart* chart = nullptr;
    QDateTimeAxis* x = nullptr;
    QValueAxis* y = nullptr;
    std::map<QString, QLineSeries*> series;
    QString base;  // "bit/s", "packets/s"
    double divisor = 1;
    [[nodiscard]] QString unit() const;
  };
  void poll();
  void onCounters(const QJsonObject& reply);
  static void makeChart(Chart& c, const QString& title, const QString& base);
  static QLineSeries* series(Chart& c, const QString& name);
  // Adds (t, v in the base unit) to the line, drops points older than the window, and moves
  // the chart to a larger unit (every line rescaled) when v needs it.
  static void append(Chart& c, QLineSeries* s, double msecs, double v);

  Session* session_;
  PolicyDocument* doc_;
  CounterRates rates_;
  QElapsedTimer clock_;
  QTimer* timer_;
  Chart bytes_, drops_, segments_;
  std::map<QString, double> peak_, latest_, segmentPeak_;
  QTableWidget* table_;
  QLabel* conntrack_;
  QLabel* state_;
  bool inFlight_ = false;
  int polls_ = 0;
};

}  // namespace bulwark::console
