#include "app/main_window.h"

#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QInputDialog>
#include <QJsonArray>
#include <QLabel>
#include <QMessageBox>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>
#include <QVBoxLayout>

#include "control/gateway_health.h"
#include "control/session.h"
#include "policy/policy_document.h"
#include "views/editor_view.h"
#include "views/history_view.h"
#include "views/matrix_view.h"
#include "views/plan_view.h"
#include "views/review_view.h"
#include "views/state_bar.h"
#include "views/tables_view.h"
#include "views/traffic_view.h"
#include "views/tunnels_view.h"

namespace bulwark::console {

namespace {

QString unsavedNames(const PolicyDocument* doc) {
  QStringList out;
  for (int i = 0; i < doc->fileCount(); ++i) {
    if (doc->file(i).modified) out << doc->file(i).name;
  }
  return out.join(QStringLiteral(", "));
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Bulwark console"));
  doc_ = new PolicyDocument(this);
  session_ = new Session(this);
  stateBar_ = new StateBar(session_);
  editor_ = new EditorView(doc_);
  tables_ = new TablesView(doc_);
  matrix_ = new MatrixView(doc_);
  review_ = new ReviewView(doc_);
  plan_ = new PlanView(session_, doc_);
  history_ = new HistoryView(session_);
  traffic_ = new TrafficView(session_, doc_);
  tunnels_ = new TunnelsView(session_);
  tabs_ = new QTabWidget;
  tabs_->addTab(editor_, tr("Policy"));
  tabs_->addTab(tables_, tr("Tables"));
  tabs_->addTab(matrix_, tr("Matrix"));
  tabs_->addTab(review_, tr("Review"));
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

  unsavedPrompt_ = [this](const QString& action) {
    auto b = QMessageBox::question(
        this, action, tr("The editor holds unsaved edits (%1). Save them to the working copy first?").arg(unsavedNames(doc_)),
        QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Cancel);
    return b == QMessageBox::Save ? Unsaved::Save : b == QMessageBox::Discard ? Unsaved::Discard : Unsaved::Cancel;
  };
  chooseFolder_ = [this] { return QFileDialog::getExistingDirectory(this, tr("Policy directory of the working copy")); };

  auto* tb = addToolBar(tr("Main"));
  tb->setMovable(false);
  tb->addAction(tr("Open policy…"), this, &MainWindow::openPolicyInteractively);
  tb->addAction(tr("Reload from disk"), this, &MainWindow::reloadPolicy);
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
  folder_ = new QLabel;
  folder_->setObjectName(QStringLiteral("folderLabel"));
  folder_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  statusBar()->addPermanentWidget(folder_);
  connect(doc_, &PolicyDocument::modifiedChanged, this, &MainWindow::updateTitle);
  connect(doc_, &PolicyDocument::textReplaced, this, &MainWindow::updateTitle);
  connect(doc_, &PolicyDocument::analysed, this, &MainWindow::checkGatewayMatch);
  connect(session_, &Session::eventReceived, this, &MainWindow::onGatewayEvent);
  connect(session_, &Session::statusChanged, this, &MainWindow::fetchRunningRevision);
  connect(session_, &Session::stateChanged, this, [this] {
    if (session_->state() == Session::State::Connected) return;
    runningAsked_ = 0;
    doc_->setApplied({});
  });
  updateTitle();
  resize(1280, 800);
}

bool MainWindow::openPolicy(const QString& path, QString* error) {
  if (!doc_->open(path, error)) return false;
  updateTitle();
  return true;
}

bool MainWindow::mayDiscardEdits(const QString& action) {
  if (!doc_->modified()) return true;
  switch (unsavedPrompt_(action)) {
    case Unsaved::Discard: return true;
    case Unsaved::Cancel: return false;
    case Unsaved::Save: {
      QString err;
      if (doc_->save(&err)) return true;
      showMessage(tr("not saved, so kept: %1").arg(err));
      return false;
    }
  }
  return false;
}

void MainWindow::openPolicyInteractively() {
  if (!mayDiscardEdits(tr("Open policy…"))) return;
  auto dir = chooseFolder_();
  if (dir.isEmpty()) return;
  QString err;
  if (!openPolicy(dir, &err)) showMessage(err);
}

void MainWindow::reloadPolicy() {
  if (doc_->openedPath().isEmpty() || !mayDiscardEdits(tr("Reload from disk"))) return;
  QString err;
  if (!doc_->reload(&err)) showMessage(err);
  updateTitle();
}

MainWindow::~MainWindow() {
  delete session_;
  session_ = nullptr;
}

void MainWindow::connectTo(const Endpoint& endpoint) { session_->connectTo(endpoint); }

void MainWindow::fetchRunningRevision(const QJsonObject& status) {
  const int rev = status.value(QStringLiteral("revision")).toInt();
  if (rev <= 0 || rev == runningAsked_) return;
  runningAsked_ = rev;
  session_->request(QStringLiteral("revision"), {{"revision", rev}}, this, [this, rev](const QJsonObject& r) {
    if (rev != runningAsked_) return;  // a newer revision was asked for meanwhile
    AppliedTexts applied;
    if (!r.value(QStringLiteral("ok")).toBool()) {
      // Asked once per revision (an older bulwarkd without `revision` would refuse every time).
      applied.problem = tr("revision %1: %2").arg(rev).arg(replyError(r));
    } else {
      applied.revision = rev;
      for (const auto& v : r.value(QStringLiteral("sources")).toArray()) {
        const auto o = v.toObject();
        applied.files.push_back(
            {o.value(QStringLiteral("name")).toString(), o.value(QStringLiteral("text")).toString()});
      }
    }
    doc_->setApplied(std::move(applied));
  });
}

void MainWindow::showMessage(const QString& text) { statusBar()->showMessage(text, 15000); }

void MainWindow::deliverMessage(const QString& text) { showMessage(text); }

void MainWindow::closeEvent(QCloseEvent* e) {
  if (mayDiscardEdits(tr("Close"))) {
    e->accept();
  } else {
    e->ignore();
  }
}

QString MainWindow::folderText() const { return folder_->text(); }

void MainWindow::updateTitle() {
  QStringList names;
  for (int i = 0; i < doc_->fileCount(); ++i) {
    const auto& f = doc_->file(i);
    names << (f.modified ? f.name + QLatin1Char('*') : f.name);
  }
  QString what = names.size() <= 3 ? names.join(QStringLiteral(", "))
                                   : tr("%1 files").arg(names.size()) + (doc_->modified() ? QStringLiteral("*") : QString());
  const auto root = doc_->rootPath();
  QStringList parts;
  if (!what.isEmpty()) parts << what;
  if (!root.isEmpty()) parts << QDir::toNativeSeparators(root);
  parts << tr("Bulwark console");
  setWindowTitle(parts.join(QStringLiteral(" — ")));
  folder_->setText(root.isEmpty() ? (doc_->fileCount() > 0 ? tr("policy in memory (not saved anywhere)") : tr("no policy open"))
                                  : tr("working copy: %1").arg(QDir::toNativeSeparators(root)));
  tabs_->setTabText(tabs_->indexOf(editor_), doc_->modified() ? tr("Policy*") : tr("Policy"));
}

// A rollback (by anyone, or the confirm timer) leaves the gateway on an earlier revision while
// the editor keeps the edit that was rolled back: say so until the editor matches again or a
// later apply moves the gateway on. Only events count: a status reply may predate the event.
void MainWindow::onGatewayEvent(const QJsonObject& ev) {
  const auto name = ev.value(QStringLiteral("event")).toString();
  if (name != QStringLiteral("revoke")) showMessage(eventWords(ev));
  if (name == QStringLiteral("rollback")) {
    rolledBackHash_ = ev.value(QStringLiteral("policy_hash")).toString();
    rolledBackRevision_ = ev.value(QStringLiteral("revision")).toInt();
  } else if ((name == QStringLiteral("apply") || name == QStringLiteral("reload")) && ev.value(QStringLiteral("ok")).toBool()) {
    rolledBackHash_.clear();
  } else {
    return;
  }
  checkGatewayMatch();
}

void MainWindow::checkGatewayMatch() {
  if (rolledBackHash_.isEmpty() || doc_->fileCount() == 0 || doc_->policyHash() == rolledBackHash_) {
    rolledBackHash_.clear();
    editor_->setGatewayNotice({});
    return;
  }
  editor_->setGatewayNotice(tr("The gateway rolled back: it runs revision %1, and the editor holds something else "
                               "(the rolled-back edit or later ones). Plan shows the difference.")
                                .arg(rolledBackRevision_));
}

}  // namespace bulwark::console
