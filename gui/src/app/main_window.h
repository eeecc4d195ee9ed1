#pragma once
// The console window: the state bar on top, one tab per view (Policy text, Tables, Matrix,
// Plan & apply, History, Traffic, Tunnels), a toolbar to open or reload a policy and connect.
// The title names the policy's files ('*' on unsaved ones) and the status bar the folder open.
// Nothing discards unsaved edits without asking first (open, reload, close).
#include <QJsonObject>
#include <QMainWindow>

#include <functional>

#include "control/transport.h"

class QLabel;
class QTabWidget;

namespace bulwark::console {

class EditorView;
class HistoryView;
class MatrixView;
class PlanView;
class ReviewView;
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
  // The session goes first: it fails its pending requests as it goes, and their callbacks (this
  // window's among them) must run while this is still a MainWindow, not in ~QWidget's
  // deletion of its children.
  ~MainWindow() override;

  bool openPolicy(const QString& path, QString* error);
  void connectTo(const Endpoint& endpoint);

  // What to do with unsaved edits before `action` ("Open policy…", "Reload from disk",
  // "Close") replaces them. The default asks in a dialog; tests answer it themselves.
  enum class Unsaved { Save, Discard, Cancel };
  using UnsavedPrompt = std::function<Unsaved(const QString& action)>;
  void setUnsavedPrompt(UnsavedPrompt prompt) { unsavedPrompt_ = std::move(prompt); }
  // The folder "Open policy…" opens ("" = cancelled). Default: a directory dialog.
  void setFolderChooser(std::function<QString()> chooser) { chooseFolder_ = std::move(chooser); }
  // The toolbar's actions, as the user triggers them.
  void openPolicyInteractively();
  void reloadPolicy();
  // True when `action` may go ahead: no unsaved edits, or the user saved or discarded them.
  bool mayDiscardEdits(const QString& action);

  [[nodiscard]] PolicyDocument* document() const { return doc_; }
  [[nodiscard]] Session* session() const { return session_; }
  [[nodiscard]] QTabWidget* tabs() const { return tabs_; }
  [[nodiscard]] EditorView* editorView() const { return editor_; }
  [[nodiscard]] TablesView* tablesView() const { return tables_; }
  [[nodiscard]] MatrixView* matrixView() const { return matrix_; }
  [[nodiscard]] PlanView* planView() const { return plan_; }
  [[nodiscard]] ReviewView* reviewView() const { return review_; }
  [[nodiscard]] HistoryView* historyView() const { return history_; }
  [[nodiscard]] TrafficView* trafficView() const { return traffic_; }
  [[nodiscard]] TunnelsView* tunnelsView() const { return tunnels_; }
  [[nodiscard]] StateBar* stateBar() const { return stateBar_; }
  [[nodiscard]] QString folderText() const;

 private slots:
  void deliverMessage(const QString& text);

 protected:
  void closeEvent(QCloseEvent* e) override;

 private:
  void showMessage(const QString& text);
  void updateTitle();
  void onGatewayEvent(const QJsonObject& ev);
  void checkGatewayMatch();
  // Keeps the document's copy of the running revision's texts (`revision N`) current.
  void fetchRunningRevision(const QJsonObject& status);

  PolicyDocument* doc_;
  Session* session_;
  QTabWidget* tabs_;
  StateBar* stateBar_;
  EditorView* editor_;
  TablesView* tables_;
  MatrixView* matrix_;
  PlanView* plan_;
  ReviewView* review_;
  HistoryView* history_;
  TrafficView* traffic_;
  TunnelsView* tunnels_;
  QLabel* folder_;
  UnsavedPrompt unsavedPrompt_;
  std::function<QString()> chooseFolder_;
  // Set by a rollback event: what the gateway runs now, until the editor matches it again.
  QString rolledBackHash_;
  int rolledBackRevision_ = 0;
  int runningAsked_ = 0;  // the running revision last asked for (its texts)
};

}  // namespace bulwark::console
