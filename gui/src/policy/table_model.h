#pragma once
// Segments, hosts, services and rules of the validated policy as tables. Editing a cell
// rewrites that field's value in the YAML where the loader found it (PolicyDocument::
// replaceValue), so the text stays the admin's own and revalidation follows as for typing.
// A cell whose value the validator refuses (an unknown service, a host on no segment) is
// marked red, the error first in its tooltip.
#include <QAbstractTableModel>

#include "policy/analysis.h"

namespace bulwark::console {

class PolicyDocument;

class PolicyTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum class Kind { Segments, Hosts, Services, Rules };
  static constexpr int LocationRole = Qt::UserRole + 1;  // "file:line:col" of the cell's field

  PolicyTableModel(Kind kind, PolicyDocument* doc, QObject* parent = nullptr);

  void setAnalysis(AnalysisPtr analysis);
  [[nodiscard]] Kind kind() const { return kind_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation o, int role) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role) override;

 signals:
  void editFailed(const QString& why);

 private:
  struct Column {
    QString title;
    QString field;  // YAML key; "" = not editable here
    bool list = false;
  };
  [[nodiscard]] const policies::Located* element(int row) const;
  [[nodiscard]] QString text(int row, int col) const;
  [[nodiscard]] const policies::Diagnostic* cellError(int row, int col) const;

  Kind kind_;
  PolicyDocument* doc_;
  AnalysisPtr analysis_;
  std::vector<Column> columns_;
};

}  // namespace bulwark::console
