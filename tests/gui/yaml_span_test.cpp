// Where table and matrix edits land in the YAML text (policy/yaml_span.h).
#include <QtTest>

#include "policy/yaml_span.h"

using namespace bulwark::console;

namespace {
QString at(const QString& text, int line, int col) {
  auto s = valueSpan(text, line, col);
  return s ? text.mid(s->start, s->end - s->start) : QStringLiteral("<none>");
}
}  // namespace

class YamlSpanTest : public QObject {
  Q_OBJECT
 private slots:
  void spans() {
    const QString t =
        "hosts:\n"
        "  - { name: web1, segment: app, addresses: [10.20.0.11] }\n"
        "rules:\n"
        "  - name: lb-to-web  # the comment stays\n"
        "    services: [web-backend, \"a,b\"]\n"
        "    to:\n"
        "      - web1\n"
        "    description: \"quoted, with comma\"\n";
    QCOMPARE(at(t, 2, 13), QString("web1"));
    QCOMPARE(at(t, 2, 28), QString("app"));
    QCOMPARE(at(t, 2, 44), QString("[10.20.0.11]"));
    QCOMPARE(at(t, 4, 11), QString("lb-to-web"));
    QCOMPARE(at(t, 5, 15), QString("[web-backend, \"a,b\"]"));
    QCOMPARE(at(t, 7, 7), QString("<none>"));  // a block list item: edit in the text
    QCOMPARE(at(t, 8, 18), QString("\"quoted, with comma\""));
    QCOMPARE(at(t, 99, 1), QString("<none>"));
  }

  void scalars() {
    QCOMPARE(yamlScalar("web1"), QString("web1"));
    QCOMPARE(yamlScalar("tcp/443"), QString("tcp/443"));
    QCOMPARE(yamlScalar("yes"), QString("\"yes\""));
    QCOMPARE(yamlScalar("a: b"), QString("\"a: b\""));
    QCOMPARE(yamlScalar("say \"hi\""), QString("\"say \\\"hi\\\"\""));
    QCOMPARE(yamlFlowList({"ssh", "tcp/8443"}), QString("[ssh, tcp/8443]"));
  }

  void sectionEnds() {
    const QString t = "rules:\n  - name: a\n    to: x\n\n# next\nnat:\n  snat: []\n";
    auto e = sectionEnd(t, "rules:");
    QVERIFY(e);
    QCOMPARE(t.left(*e), QString("rules:\n  - name: a\n    to: x\n"));
    QCOMPARE(sectionEnd(t, "nat:").value_or(-1), t.size());
    QVERIFY(!sectionEnd(t, "zones:"));
  }
};

QTEST_GUILESS_MAIN(YamlSpanTest)
#include "yaml_span_test.moc"
