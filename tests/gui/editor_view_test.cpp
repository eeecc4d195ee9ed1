// The YAML editor: a typo typed into the text is underlined where the validator points
// (file:line:col) and listed below, and disappears when fixed; validation runs on the
// document's worker thread, debounced.
#include <QFile>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QTextBlock>
#include <QtTest>

#include "policy/policy_document.h"
#include "views/editor_view.h"

using namespace bulwark::console;

class EditorViewTest : public QObject {
  Q_OBJECT
 private slots:
  void diagnosticsInlineAsYouType() {
    QFile f(QStringLiteral(BULWARK_EXAMPLES_DIR "/campus.yaml"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    PolicyDocument doc;
    doc.setDebounce(50);
    EditorView view(&doc);
    view.resize(900, 600);
    view.show();
    QSignalSpy analysed(&doc, &PolicyDocument::analysed);
    doc.setSources({{QString(), QStringLiteral("campus.yaml"), QString::fromUtf8(f.readAll()), false, {}}});
    QVERIFY(analysed.wait(20000));
    QVERIFY(view.editor()->extraSelections().isEmpty());
    QCOMPARE(view.diagnosticsList()->count(), 0);

    // Type a reference to a host that does not exist into rule web-to-db.
    auto* edit = view.editor();
    const auto text = edit->toPlainText();
    const QString anchor = QStringLiteral("    from: [web1, web2]\n    to: [mysql1, mysql2]");
    auto at = text.indexOf(anchor);
    QVERIFY(at >= 0);
    auto c = edit->textCursor();
    c.setPosition(static_cast<int>(at + QStringLiteral("    from: [web1, web2").size()));
    edit->setTextCursor(c);
    analysed.clear();
    QTest::keyClicks(edit, QStringLiteral(", web9"));
    QVERIFY(analysed.wait(20000));
    QTRY_VERIFY_WITH_TIMEOUT(!doc.validating(), 20000);
    const int line = static_cast<int>(text.left(at).count(QLatin1Char('\n'))) + 1;
    QVERIFY(view.diagnosticsList()->count() >= 1);
    const auto first = view.diagnosticsList()->item(0)->text();
    QVERIFY2(first.startsWith(QStringLiteral("campus.yaml:%1:").arg(line)) && first.contains(QStringLiteral("web9")), qPrintable(first));
    const auto marks = edit->extraSelections();
    QCOMPARE(marks.size(), view.diagnosticsList()->count());
    QCOMPARE(marks.first().cursor.block().blockNumber() + 1, line);
    QCOMPARE(marks.first().cursor.selectedText(), QStringLiteral("web9"));
    QCOMPARE(marks.first().format.underlineStyle(), QTextCharFormat::WaveUnderline);

    // Fix it: the mark goes away.
    for (int i = 0; i < 6; ++i) QTest::keyClick(edit, Qt::Key_Backspace);
    QTRY_VERIFY_WITH_TIMEOUT(view.diagnosticsList()->count() == 0 && edit->extraSelections().isEmpty(), 20000);
    QCOMPARE(doc.file(0).text, text);
  }

  // A change that breaks an invariant is an error as you type, as `bulwarkctl validate` says:
  // at the invariant's line, naming the rule that breaks it.
  void brokenInvariantAsYouType() {
    QFile f(QStringLiteral(BULWARK_EXAMPLES_DIR "/campus.yaml"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const auto text = QString::fromUtf8(f.readAll());
    PolicyDocument doc;
    doc.setDebounce(50);
    EditorView view(&doc);
    QSignalSpy analysed(&doc, &PolicyDocument::analysed);
    doc.setSources({{QString(), QStringLiteral("campus.yaml"), text, false, {}}});
    QVERIFY(analysed.wait(20000));
    QCOMPARE(view.diagnosticsList()->count(), 0);

    // app-to-nas from the internet too: the internet would reach storage.
    auto* edit = view.editor();
    const QString anchor = QStringLiteral("    from: [web1, web2, wowza]\n    to: nas1");
    const auto at = text.indexOf(anchor);
    QVERIFY(at >= 0);
    auto c = edit->textCursor();
    c.setPosition(static_cast<int>(at + QStringLiteral("    from: [web1, web2, wowza").size()));
    edit->setTextCursor(c);
    analysed.clear();
    QTest::keyClicks(edit, QStringLiteral(", internet"));
    QTRY_VERIFY_WITH_TIMEOUT(!doc.validating() && view.diagnosticsList()->count() >= 1, 20000);
    const auto first = view.diagnosticsList()->item(0)->text();
    const int ruleLine = static_cast<int>(text.left(at).count(QLatin1Char('\n')));  // "- name: app-to-nas"
    QVERIFY2(first.contains(QStringLiteral("is broken")) && first.contains(QStringLiteral("app-to-nas at campus.yaml:%1").arg(ruleLine)),
             qPrintable(first));
    for (int i = 0; i < 10; ++i) QTest::keyClick(edit, Qt::Key_Backspace);
    QTRY_VERIFY_WITH_TIMEOUT(view.diagnosticsList()->count() == 0, 20000);
  }
};

QTEST_MAIN(EditorViewTest)
#include "editor_view_test.moc"
