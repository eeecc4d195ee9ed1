#include "app/main_window.h"

#include <QFileDialog>
#include <QInputDialog>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>
#include <QVBoxLayout>

#include "control/session.h"
#include "policy/policy_document.h"
#include "views/editor_view.h"
#include "views/history_view.h"
#include "views/matrix_view.h"
#include "views/plan_view.h"
#include "views/state_bar.h"
#include "views/tables_view.h"
#include "views/traffic_view.h"
#include "views/tunnels_view.h"

namespace bulwark::console {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Bulwark console"));
  doc_ = new PolicyDocument(this);
  session_ = new Session(this);
  stateBar_ = new StateBar(session_);
  editor_ = new EditorView(doc_);
  tables_ = new TablesView(doc_);
  matrix_ = new MatrixView(doc_);
  plan_ = new PlanView(session_, doc_);
  history_ = new HistoryView(session_);
  traffic_ = new TrafficView(session_, doc_);
  tunnels_ = new TunnelsView(session_);
  tabs_ = new QTabWidget;
  tabs_->addTab(editor_, tr("Policy"));
  tabs_->addTab(tables_, tr("Tables"));
  tabs_->addTab(matrix_, tr("Matrix"));
  tabs_->addTab(plan_, tr("Plan && apply"));
  tabs_->addTab(history_, tr("History"));
  tabs_->addTab(traffic_, tr("Traffic"));
  tabs_->addTab(tunnels_, tr("Tunnels"));

  auto* central = new QWidget;
  auto* lay = new QVBoxLayout(central);
  lay->setContentsMargins(0, 0, 0, 0);
  lay->addWidget(stateBar_);
  lay->addWidget(tabs_, 1);
  setCentralWidget(central);

  auto* tb = addToolBar(tr("Main"));
  tb->setMovable(false);
  tb->addAction(tr("Open policy…"), this, [this] {
    auto dir = QFileDialog::getExistingDirectory(this, tr("Policy directory of the working copy"));
    if (dir.isEmpty()) return;
    QString err;
    if (!openPolicy(dir, &err)) showMessage(err);
  });
  tb->addAction(tr("Connect…"), this, [this] {
    bool ok = false;
    auto text = QInputDialog::getText(this, tr("Connect"), tr("Unix socket path (or unix:PATH):"), QLineEdit::Normal,
                                      session_->endpoint().socketPath, &ok);
    if (!ok) return;
    auto e = parseEndpoint(text);
    if (!e.error.isEmpty() || e.endpoint.kind != Endpoint::Kind::Local) {
      showMessage(e.error.isEmpty() ? tr("TLS endpoints need --connect with --p12 and --ca") : e.error);
      return;
    }
    connectTo(e.endpoint);
  });
  tb->addAction(tr("Validate now"), doc_, &PolicyDocument::validateNow);

  for (auto* src : std::initializer_list<QObject*>{tables_, matrix_, plan_, history_, tunnels_}) {
    connect(src, SIGNAL(message(QString)), this, SLOT(deliverMessage(QString)));
  }
  connect(tables_, &TablesView::locationActivated, this, [this](const QString& f, int l, int c) {
    tabs_->setCurrentWidget(editor_);
    editor_->showLocation(f, l, c);
  });
  resize(1280, 800);
}

bool MainWindow::openPolicy(const QString& path, QString* error) { return doc_->open(path, error); }

void MainWindow::connectTo(const Endpoint& endpoint) { session_->connectTo(endpoint); }

void MainWindow::showMessage(const QString& text) { statusBar()->showMessage(text, 15000); }

void MainWindow::deliverMessage(const QString& text) { showMessage(text); }

}  // namespace bulwark::console
