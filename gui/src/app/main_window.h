#pragma once
// The console window: the state bar on top, one tab per view (Policy text, Tables, Matrix,
// Plan & apply, History, Traffic, Tunnels), a toolbar to open a policy and connect.
#include <QMainWindow>

#include "control/transport.h"

class QTabWidget;

namespace bulwark::console {

class EditorView;
class HistoryView;
class MatrixView;
class PlanView;
class PolicyDocument;
class Session;
class StateBar;
class TablesView;
class TrafficView;
class TunnelsView;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);

  bool openPolicy(const QString& path, QString* error);
  void connectTo(const Endpoint& endpoint);

  [[nodiscard]] PolicyDocument* document() const { return doc_; }
  [[nodiscard]] Session* session() const { return session_; }
  [[nodiscard]] QTabWidget* tabs() const { return tabs_; }
  [[nodiscard]] EditorView* editorView() const { return editor_; }
  [[nodiscard]] TablesView* tablesView() const { return tables_; }
  [[nodiscard]] MatrixView* matrixView() const { return matrix_; }
  [[nodiscard]] PlanView* planView() const { return plan_; }
  [[nodiscard]] HistoryView* historyView() const { return history_; }
  [[nodiscard]] TrafficView* trafficView() const { return traffic_; }
  [[nodiscard]] TunnelsView* tunnelsView() const { return tunnels_; }
  [[nodiscard]] StateBar* stateBar() const { return stateBar_; }

 private slots:
  void deliverMessage(const QString& text);

 private:
  void showMessage(const QString& text);

  PolicyDocument* doc_;
  Session* session_;
  QTabWidget* tabs_;
  StateBar* stateBar_;
  EditorView* editor_;
  TablesView* tables_;
  MatrixView* matrix_;
  PlanView* plan_;
  HistoryView* history_;
  TrafficView* traffic_;
  TunnelsView* tunnels_;
};

}  // namespace bulwark::console
