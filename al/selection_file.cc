// SPDX-License-Identifier: BSD-3-Clause
#include "al/selection_file.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>
#include <stdexcept>

#include "core/error.h"
#include "data/file_util.h"

namespace rigpose {
namespace {

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream stream(text);
  while (std::getline(stream, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  if (text.empty()) parts.emplace_back();
  return parts;
}

std::string Trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::ostringstream out;
  out.precision(9);
  out << value;
  return out.str();
}

bool ParseNumber(const std::string& text, double* value) {
  const std::string t = Trim(text);
  if (t.empty()) return false;
  if (t == "nan" || t == "NaN") {
    *value = std::nan("");
    return true;
  }
  char* end = nullptr;
  errno = 0;
  *value = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && errno == 0;
}

bool ParseInt(const std::string& text, int* value) {
  const std::string t = Trim(text);
  if (t.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(t.c_str(), &end, 10);
  if (end != t.c_str() + t.size() || errno != 0 || parsed < -2147483647L || parsed > 2147483647L) {
    return false;
  }
  *value = static_cast<int>(parsed);
  return true;
}

bool BadName(const std::string& name) {
  return name.empty() || name.find_first_of(",;\n\r") != std::string::npos;
}

}  // namespace

int Selection::NumViews() const {
  int total = 0;
  for (const SelectionRow& row : rows) total += static_cast<int>(row.views.size());
  return total;
}

void WriteSelectionCsv(const std::string& path, const Selection& selection) {
  std::ostringstream out;
  out << "# rigpose-selection v1\n#";
  for (const auto& [key, value] : selection.metadata) {
    if (key.empty() || key.find_first_of(" \t\n=") != std::string::npos ||
        value.find_first_of(" \t\n=") != std::string::npos) {
      throw std::invalid_argument("selection metadata '" + key + "=" + value +
                                  "': keys and values must not contain whitespace or '='");
    }
    out << ' ' << key << '=' << value;
  }
  out << "\nrank,frame,views,score";
  for (const std::string& name : selection.component_names) {
    if (BadName(name)) throw std::invalid_argument("selection component name '" + name + "'");
    out << ',' << name;
  }
  out << '\n';
  for (const SelectionRow& row : selection.rows) {
    if (row.views.empty()) {
      throw std::invalid_argument("selection row of frame " + std::to_string(row.frame) +
                                  " has no views");
    }
    if (row.components.size() != selection.component_names.size()) {
      throw std::invalid_argument("selection row of frame " + std::to_string(row.frame) + " has " +
                                  std::to_string(row.components.size()) +
                                  " components, the header " +
                                  std::to_string(selection.component_names.size()));
    }
    out << row.rank << ',' << row.frame << ',';
    for (size_t v = 0; v < row.views.size(); ++v) {
      if (BadName(row.views[v])) {
        throw std::invalid_argument("camera name '" + row.views[v] +
                                    "' cannot be written to a selection file");
      }
      out << (v ? ";" : "") << row.views[v];
    }
    out << ',' << FormatNumber(row.score);
    for (double value : row.components) out << ',' << FormatNumber(value);
    out << '\n';
  }
  WriteFileAtomic(path, out.str());
}

Selection ReadSelectionCsv(const std::string& path) {
  const std::string text = ReadFileToString(path);
  Selection selection;
  std::istringstream stream(text);
  std::string line;
  int line_number = 0;
  bool have_header = false;
  std::set<int> frames;
  const auto fail = [&](const std::string& what) {
    throw InputError(path + ":" + std::to_string(line_number) + ": " + what);
  };
  while (std::getline(stream, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Trim(line).empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line.substr(1));
      std::string word;
      while (words >> word) {
        const auto eq = word.find('=');
        if (eq != std::string::npos && eq > 0) {
          selection.metadata[word.substr(0, eq)] = word.substr(eq + 1);
        }
      }
      continue;
    }
    const std::vector<std::string> cells = Split(line, ',');
    if (!have_header) {
      if (cells.size() < 4 || Trim(cells[0]) != "rank" || Trim(cells[1]) != "frame" ||
          Trim(cells[2]) != "views" || Trim(cells[3]) != "score") {
        fail("expected the header 'rank,frame,views,score[,components...]', got '" + line + "'");
      }
      for (size_t i = 4; i < cells.size(); ++i) {
        selection.component_names.push_back(Trim(cells[i]));
      }
      have_header = true;
      continue;
    }
    if (cells.size() != 4 + selection.component_names.size()) {
      fail(std::to_string(cells.size()) + " columns, the header has " +
           std::to_string(4 + selection.component_names.size()));
    }
    SelectionRow row;
    if (!ParseInt(cells[0], &row.rank)) fail("rank '" + cells[0] + "' is not an integer");
    if (!ParseInt(cells[1], &row.frame)) fail("frame '" + cells[1] + "' is not an integer");
    if (row.frame < 0) fail("frame " + cells[1] + " is negative");
    if (!frames.insert(row.frame).second) fail("frame " + cells[1] + " is selected twice");
    for (const std::string& view : Split(cells[2], ';')) {
      const std::string name = Trim(view);
      if (!name.empty()) row.views.push_back(name);
    }
    if (row.views.empty()) fail("frame " + cells[1] + " has no views");
    if (!ParseNumber(cells[3], &row.score)) fail("score '" + cells[3] + "' is not a number");
    for (size_t i = 4; i < cells.size(); ++i) {
      double value = 0;
      if (!ParseNumber(cells[i], &value)) {
        fail(selection.component_names[i - 4] + " '" + cells[i] + "' is not a number");
      }
      row.components.push_back(value);
    }
    selection.rows.push_back(std::move(row));
  }
  if (!have_header) {
    throw InputError(path + ": not a rigpose selection file (no 'rank,frame,views,score' header)");
  }
  return selection;
}

}  // namespace rigpose
