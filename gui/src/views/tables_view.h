#pragma once
// Segments, hosts, services and rules as editable tables (PolicyTableModel), with a filter.
#include <QWidget>

#include <array>

#include "policy/analysis.h"

class QTableView;
class QTabWidget;

namespace bulwark::console {

class PolicyDocument;
class PolicyTableModel;

class TablesView : public QWidget {
  Q_OBJECT
 public:
  TablesView(PolicyDocument* doc, QWidget* parent = nullptr);
  [[nodiscard]] PolicyTableModel* model(int kind) const { return models_.at(static_cast<std::size_t>(kind)); }
  [[nodiscard]] QTabWidget* tabs() const { return tabs_; }

 signals:
  void locationActivated(const QString& file, int line, int col);
  void message(const QString& text);

 private:
  std::array<PolicyTableModel*, 4> models_{};
  QTabWidget* tabs_;
};

}  // namespace bulwark::console
