// The table models and the zone matrix over campus.yaml, through the real PolicyDocument
// (worker-thread validation): contents, and edits that rewrite the YAML and revalidate.
#include <QFile>
#include <QHeaderView>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableView>
#include <QtTest>

#include "policy/matrix_model.h"
#include "policy/policy_document.h"
#include "policy/table_model.h"
#include "views/matrix_view.h"
#include "views/tables_view.h"

using namespace bulwark::console;

namespace {

QString campus() {
  QFile f(QStringLiteral(BULWARK_EXAMPLES_DIR "/campus.yaml"));
  if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read campus.yaml");
  return QString::fromUtf8(f.readAll());
}

// Loads text and waits for its analysis.
AnalysisPtr load(PolicyDocument& doc, const QString& text) {
  QSignalSpy spy(&doc, &PolicyDocument::analysed);
  doc.setSources({{QString(), QStringLiteral("campus.yaml"), text, false, {}}});
  if (!spy.wait(20000)) return nullptr;
  return doc.analysis();
}

AnalysisPtr waitAnalysis(PolicyDocument& doc) {
  QSignalSpy spy(&doc, &PolicyDocument::analysed);
  if (!spy.wait(20000)) return nullptr;
  return doc.analysis();
}

int rowOf(const QAbstractItemModel& m, const QString& name) {
  for (int r = 0; r < m.rowCount(); ++r) {
    if (m.index(r, 0).data().toString() == name) return r;
  }
  return -1;
}

}  // namespace

class PolicyModelsTest : public QObject {
  Q_OBJECT
 private slots:
  void tables() {
    PolicyDocument doc;
    auto a = load(doc, campus());
    QVERIFY(a);
    QCOMPARE(a->diagnostics.errorCount(), std::size_t{0});
    PolicyTableModel segs(PolicyTableModel::Kind::Segments, &doc), hosts(PolicyTableModel::Kind::Hosts, &doc),
        svcs(PolicyTableModel::Kind::Services, &doc), rules(PolicyTableModel::Kind::Rules, &doc);
    for (auto* m : {&segs, &hosts, &svcs, &rules}) m->setAnalysis(a);
    QCOMPARE(segs.rowCount(), 5);
    QCOMPARE(hosts.rowCount(), 10);
    QCOMPARE(svcs.rowCount(), 11);
    QCOMPARE(rules.rowCount(), 8);
    int app = rowOf(segs, "app");
    QCOMPARE(segs.index(app, 1).data().toString(), QString("20"));
    QCOMPARE(segs.index(app, 2).data().toString(), QString("eth1.20"));
    QCOMPARE(segs.index(app, 3).data().toString(), QString("10.20.0.0/24 (gw 10.20.0.1)"));
    QVERIFY(!(segs.flags(segs.index(app, 3)) & Qt::ItemIsEditable));  // a map: edit in the text
    int lb1 = rowOf(hosts, "lb1");
    QCOMPARE(hosts.index(lb1, 2).data().toString(), QString("203.0.113.11, 2001:db8:10::11"));
    QVERIFY(hosts.index(lb1, 2).data(PolicyTableModel::LocationRole).toString().startsWith("campus.yaml:"));
    int nfs = rowOf(svcs, "nfs");
    QCOMPARE(svcs.index(nfs, 1).data().toString(), QString("tcp/2049, udp/2049, tcp/111, udp/111"));
    int webDb = rowOf(rules, "web-to-db");
    QCOMPARE(rules.index(webDb, 1).data().toString(), QString("web1, web2"));
    QCOMPARE(rules.index(webDb, 4).data().toString(), QString("allow"));

    // Edit a rule's services in the table: the YAML changes in place, validation reruns.
    QVERIFY(rules.flags(rules.index(webDb, 3)) & Qt::ItemIsEditable);
    QVERIFY(rules.setData(rules.index(webDb, 3), "mysql, ssh", Qt::EditRole));
    QVERIFY(doc.file(0).text.contains("services: [mysql, ssh]"));
    QVERIFY(doc.file(0).modified);
    a = waitAnalysis(doc);
    QVERIFY(a);
    rules.setAnalysis(a);
    QCOMPARE(rules.index(rowOf(rules, "web-to-db"), 3).data().toString(), QString("mysql, ssh"));

    // An edit the validator refuses shows up as a diagnostic at that place.
    hosts.setAnalysis(a);
    QVERIFY(!hosts.index(rowOf(hosts, "web1"), 1).data(Qt::BackgroundRole).isValid());
    QVERIFY(hosts.setData(hosts.index(rowOf(hosts, "web1"), 1), "nowhere", Qt::EditRole));
    a = waitAnalysis(doc);
    QVERIFY(a);
    // ... and its cell is marked, the error first in the tooltip; the row's other cells are not.
    hosts.setAnalysis(a);
    const int web1 = rowOf(hosts, "web1");
    QVERIFY(hosts.index(web1, 1).data(Qt::BackgroundRole).isValid());
    QVERIFY2(hosts.index(web1, 1).data(Qt::ToolTipRole).toString().startsWith(QStringLiteral("error: ")) &&
                 hosts.index(web1, 1).data(Qt::ToolTipRole).toString().contains(QStringLiteral("nowhere")),
             qPrintable(hosts.index(web1, 1).data(Qt::ToolTipRole).toString()));
    QVERIFY(!hosts.index(web1, 0).data(Qt::BackgroundRole).isValid());
    QVERIFY(!hosts.index(web1, 2).data(Qt::BackgroundRole).isValid());
    QVERIFY(!hosts.index(rowOf(hosts, "web2"), 1).data(Qt::BackgroundRole).isValid());
    QVERIFY(a->diagnostics.errorCount() >= 1);
    bool named = false;
    for (const auto& d : a->diagnostics.items()) named = named || d.message.find("nowhere") != std::string::npos;
    QVERIFY(named);

    // An unknown service typed into a rule's cell: that cell is marked, not the rule's others.
    rules.setAnalysis(a);
    QVERIFY(rules.setData(rules.index(rowOf(rules, "web-to-db"), 3), "mysql, sshh", Qt::EditRole));
    a = waitAnalysis(doc);
    QVERIFY(a);
    rules.setAnalysis(a);
    const int webToDb = rowOf(rules, "web-to-db");
    QVERIFY(rules.index(webToDb, 3).data(Qt::BackgroundRole).isValid());
    QVERIFY2(rules.index(webToDb, 3).data(Qt::ToolTipRole).toString().contains(QStringLiteral("sshh")),
             qPrintable(rules.index(webToDb, 3).data(Qt::ToolTipRole).toString()));
    for (int col : {0, 1, 2, 4}) QVERIFY(!rules.index(webToDb, col).data(Qt::BackgroundRole).isValid());
  }

  void matrix() {
    PolicyDocument doc;
    auto a = load(doc, campus());
    QVERIFY(a);
    MatrixModel m(&doc);
    m.setAnalysis(a);
    QStringList zones;
    for (int i = 0; i < m.rowCount(); ++i) zones << m.zone(i);
    QVERIFY(zones.contains("dmz") && zones.contains("app") && zones.contains("internet") && zones.contains("mgmt"));
    auto cell = [&](const QString& f, const QString& t) {
      return m.index(static_cast<int>(zones.indexOf(f)), static_cast<int>(zones.indexOf(t)));
    };
    QCOMPARE(cell("mgmt", "db").data().toString(), QString("ssh, agents"));
    QCOMPARE(cell("mgmt", "db").data(MatrixModel::RulesRole).toStringList(), QStringList{"mgmt-ops"});
    QVERIFY(cell("dmz", "app").data().toString().contains("web-backend"));
    QVERIFY(cell("db", "dmz").data().toString().isEmpty());

    // One rule behind the cell: editing it edits that rule's services.
    QVERIFY(m.setData(cell("app", "storage"), "nfs, ssh", Qt::EditRole));
    QVERIFY(doc.file(0).text.contains("services: [nfs, ssh]"));
    a = waitAnalysis(doc);
    QVERIFY(a);
    QCOMPARE(a->diagnostics.errorCount(), std::size_t{0});
    m.setAnalysis(a);
    QCOMPARE(cell("app", "storage").data().toString(), QString("nfs*, ssh*"));  // * some hosts only

    // An empty cell: a new allow rule from the row zone to the column zone.
    QVERIFY(m.setData(cell("db", "storage"), "nfs", Qt::EditRole));
    QVERIFY(doc.file(0).text.contains("name: db-to-storage"));
    a = waitAnalysis(doc);
    QVERIFY(a);
    QCOMPARE(a->diagnostics.errorCount(), std::size_t{0});
    m.setAnalysis(a);
    QCOMPARE(cell("db", "storage").data().toString(), QString("nfs"));
    QCOMPARE(cell("db", "storage").data(MatrixModel::RulesRole).toStringList(), QStringList{"db-to-storage"});
  }

  // At 1366x768: the tables' columns as wide as their values (nothing elided on campus.yaml),
  // the whole value in the tooltip; the matrix's rows all one height, filling the pane.
  void viewsAtLaptopSize() {
    PolicyDocument doc;
    TablesView tables(&doc);
    MatrixView matrix(&doc);
    tables.resize(1366, 700);
    matrix.resize(1366, 700);
    tables.show();
    matrix.show();
    QVERIFY(QTest::qWaitForWindowExposed(&tables));
    QVERIFY(load(doc, campus()));
    QTest::qWait(50);

    tables.tabs()->setCurrentIndex(1);  // Hosts
    auto* view = qobject_cast<QTableView*>(tables.tabs()->currentWidget());
    QVERIFY(view);
    QVERIFY(tables.model(1)->rowCount() > 0);
    const int addrCol = 2;
    for (int r = 0; r < view->model()->rowCount(); ++r) {
      const auto idx = view->model()->index(r, addrCol);
      const QString value = idx.data().toString();
      const int need = view->fontMetrics().horizontalAdvance(value);
      QVERIFY2(view->columnWidth(addrCol) >= need,
               qPrintable(QStringLiteral("%1: %2 px for %3 px").arg(value).arg(view->columnWidth(addrCol)).arg(need)));
      QVERIFY(idx.data(Qt::ToolTipRole).toString().startsWith(value + QLatin1Char('\n')));
    }

    auto* t = matrix.table();
    QVERIFY(t->model()->rowCount() > 3);
    int total = 0;
    for (int r = 0; r < t->model()->rowCount(); ++r) {
      QCOMPARE(t->rowHeight(r), t->rowHeight(0));
      total += t->rowHeight(r);
    }
    QVERIFY2(total >= t->viewport()->height() - t->model()->rowCount(),
             qPrintable(QStringLiteral("rows %1 px of %2 px").arg(total).arg(t->viewport()->height())));
  }
};

QTEST_MAIN(PolicyModelsTest)
#include "policy_models_test.moc"
