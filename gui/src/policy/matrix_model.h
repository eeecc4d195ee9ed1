#pragma once
// The zone-by-zone matrix (policies::buildZoneMatrix): rows are source zones, columns
// destination zones, each cell lists the services allowed from one to the other (denies
// marked). Editing a cell edits the rule behind it: with one rule there, its `services`;
// with none, a new allow rule from the row zone to the column zone is appended to `rules:`.
// A cell made by several rules names them; the view asks which one to edit.
#include <QAbstractTableModel>

#include "policy/analysis.h"

namespace bulwark::console {

class PolicyDocument;

class MatrixModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  static constexpr int RulesRole = Qt::UserRole + 1;  // QStringList: rules that make the cell

  explicit MatrixModel(PolicyDocument* doc, QObject* parent = nullptr);
  void setAnalysis(AnalysisPtr analysis);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation o, int role) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  // value: services, comma separated.
  bool setData(const QModelIndex& index, const QVariant& value, int role) override;

  [[nodiscard]] QString zone(int i) const;
  // The services a rule lists, as written.
  [[nodiscard]] QStringList ruleServices(const QString& rule) const;
  bool setRuleServices(const QString& rule, const QStringList& services, QString* error);
  bool addRule(const QString& from, const QString& to, const QStringList& services, QString* error);

 signals:
  void editFailed(const QString& why);

 private:
  [[nodiscard]] const std::vector<policies::MatrixEntry>* cell(const QModelIndex& index) const;
  [[nodiscard]] const policies::Rule* rule(const QString& name) const;

  PolicyDocument* doc_;
  AnalysisPtr analysis_;
};

}  // namespace bulwark::console
