// Numeric CSV reader.
#include <charconv>
#include <vector>

#include "descent/core/file_io.hpp"
#include "descent/data/readers.hpp"

namespace descent::data {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

bool parse_number(std::string_view field, double& value) {
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);  // from_chars rejects '+'
  if (field.empty()) return false;
  const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  return ec == std::errc() && ptr == field.data() + field.size();
}

// Splits one line on the delimiter (no quoted delimiters: the fields are numbers).
void split_fields(std::string_view line, char delimiter, std::vector<std::string_view>& fields) {
  fields.clear();
  size_t start = 0;
  while (true) {
    const size_t end = line.find(delimiter, start);
    fields.push_back(trim(line.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

bool blank(std::string_view line) { return trim(line).empty() && line.find('"') == std::string_view::npos; }

}  // namespace

CsvTable parse_csv(std::string_view text, const std::string& name, const CsvOptions& options) {
  DESCENT_CHECK(is_floating(options.dtype), InputError,
                "CSV file '{}': CsvOptions::dtype must be float32 or float64, got {}", name,
                dtype_name(options.dtype));
  CsvTable table;
  std::vector<double> values;
  std::vector<std::string_view> fields;
  size_t columns = 0;
  int64_t rows = 0, line_number = 0, width_line = 0;
  bool header_decided = options.header == CsvHeader::absent;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t eol = text.find('\n', pos);
    const std::string_view line = text.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    ++line_number;
    if (blank(line)) continue;
    split_fields(line, options.delimiter, fields);
    if (!header_decided) {
      header_decided = true;
      // A header names every column and at least one name is not a number; a line with
      // an empty field is a data row with a missing value, reported below.
      bool all_named = true, any_text = false;
      double v;
      for (auto f : fields) {
        all_named = all_named && !f.empty();
        any_text = any_text || !parse_number(f, v);
      }
      if (options.header == CsvHeader::present || (all_named && any_text)) {
        for (auto f : fields) table.column_names.emplace_back(f);
        columns = fields.size();
        width_line = line_number;
        continue;
      }
    }
    if (columns == 0) {
      columns = fields.size();
      width_line = line_number;
    }
    if (fields.size() != columns)
      fail<InputError>("CSV file '{}', line {}: {} fields, but line {} has {}; every row needs the "
                       "same number of '{}'-separated fields",
                       name, line_number, fields.size(), width_line, columns, options.delimiter);
    if (rows == 0) table.first_data_line = line_number;
    for (size_t c = 0; c < fields.size(); ++c) {
      double v;
      if (!parse_number(fields[c], v))
        fail<InputError>("CSV file '{}', line {}, column {}: '{}' is not a number; fix the field "
                         "or{}",
                         name, line_number, c + 1, std::string(fields[c].substr(0, 40)),
                         rows == 0 && table.column_names.empty()
                             ? " pass CsvHeader::present if this line is a header"
                             : " remove the line");
      values.push_back(v);
    }
    ++rows;
  }
  if (rows == 0)
    fail<InputError>("CSV file '{}' has no data rows; it is empty or holds only a header", name);
  table.values = Tensor::from_vector(values, {rows, static_cast<int64_t>(columns)}, options.dtype);
  return table;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  return parse_csv(read_file_bytes(path, "CSV file"), path, options);
}

}  // namespace descent::data
