#pragma once
// Line plots of CSV columns rendered to PNG by gnuplot (DESIGN.md: plots by gnuplot). Runs
// and experiments write their data as CSV first; the plot is a view of it, so a missing
// gnuplot costs the picture, never the numbers.
#include <string>
#include <vector>

namespace descent {

// Every member has a default, so designated initializers may name only what they set.
struct PlotSeries {
  std::string x_column = {}, y_column = {};  // CSV header names
  std::string title = {};                    // legend entry ("" = the y column's name)
  bool points = false;                       // points instead of lines
};

struct PlotSpec {
  std::string csv_path = {}, png_path = {};
  std::string title = {}, x_label = {}, y_label = {};
  std::vector<PlotSeries> series = {};
  bool log_y = false;
  // Extra gnuplot commands placed before `plot` (e.g. a reference line with `set arrow`).
  std::string extra = {};
};

// True when gnuplot is on PATH.
bool gnuplot_available();
// Writes PNG next to a .gp script (kept, so the figure can be re-rendered by hand); returns
// false (and writes only the script) when gnuplot is missing or fails.
bool render_plot(const PlotSpec& spec);

}  // namespace descent
