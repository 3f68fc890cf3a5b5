#include "descent/core/plot.hpp"

#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "descent/core/error.hpp"

namespace descent {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Single quotes for the shell.
std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

bool render_plot(const PlotSpec& spec) {
  DESCENT_CHECK(!spec.series.empty(), InputError, "render_plot: nothing to plot for {}", spec.png_path);
  const std::string script_path = spec.png_path.substr(0, spec.png_path.rfind('.')) + ".gp";
  {
    std::ofstream gp(script_path);
    DESCENT_CHECK(gp.good(), InputError, "render_plot: cannot write {}", script_path);
    gp << "set terminal pngcairo size 900,560 enhanced font 'sans,11'\n";
    gp << "set output " << quoted(spec.png_path) << "\n";
    gp << "set datafile separator ','\nset key autotitle columnhead\nset grid\n";
    gp << "set title " << quoted(spec.title) << "\nset xlabel " << quoted(spec.x_label) << "\nset ylabel "
       << quoted(spec.y_label) << "\n";
    if (spec.log_y) gp << "set logscale y\n";
    gp << spec.extra << "\nplot ";
    for (size_t i = 0; i < spec.series.size(); ++i) {
      const PlotSeries& s = spec.series[i];
      gp << (i ? ", \\\n     " : "") << quoted(spec.csv_path) << " using " << quoted(s.x_column) << ":"
         << quoted(s.y_column) << " with " << (s.points ? "points pt 7 ps 0.6" : "lines lw 2") << " title "
         << quoted(s.title.empty() ? s.y_column : s.title);
    }
    gp << "\n";
  }
  if (!gnuplot_available()) return false;
  const std::string cmd = fmt::format("gnuplot {} >/dev/null 2>&1", shell_quoted(script_path));
  return std::system(cmd.c_str()) == 0;
}

}  // namespace descent
