// `descent fit gmm|mvn-missing|student-t|logistic-mm DATA`: bound-optimization fits (MM and
// EM, Murphy §6.5) of a CSV or NPY table, writing the fitted parameters (JSON and
// safetensors), the log-likelihood trace (CSV) and its plot into --out.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include <fmt/core.h>

#include "commands.hpp"
#include "contract.hpp"
#include "descent/bound/gmm.hpp"
#include "descent/bound/logistic.hpp"
#include "descent/bound/mvn_missing.hpp"
#include "descent/bound/student_t.hpp"
#include "descent/core/error.hpp"
#include "descent/core/file_io.hpp"
#include "descent/core/plot.hpp"
#include "descent/core/safetensors.hpp"
#include "descent/data/readers.hpp"

namespace descent::cli {
namespace {

struct FitArgs {
  std::string model, data_path, out_dir, covariance = "full";
  int components = 1, max_iterations = 1000;
  double reg_covar = 1e-6, tolerance = 1e-10, nu = 4.0;
  bool estimate_nu = false, overwrite = false;
  uint64_t seed = 0;
  Output output;
  CLI::Option *components_opt = nullptr, *covariance_opt = nullptr, *reg_opt = nullptr, *nu_opt = nullptr,
              *estimate_nu_opt = nullptr, *seed_opt = nullptr;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Eigen::MatrixXd read_table(const std::string& path) {
  DESCENT_CHECK(ends_with(path, ".csv") || ends_with(path, ".npy"), InputError,
                "DATA '{}': expected a .csv or .npy file", path);
  const Tensor t = ends_with(path, ".npy") ? data::read_npy(path).astype(DType::f64) : data::read_csv(path).values;
  DESCENT_CHECK(t.rank() == 2 && t.dim(0) > 0 && t.dim(1) > 0, InputError,
                "DATA '{}': expected a 2-D table (one row per point), got shape {}", path, t.shape());
  Eigen::MatrixXd m(t.dim(0), t.dim(1));
  const std::vector<double> v = t.to_vector();
  for (int64_t i = 0; i < t.dim(0); ++i)
    for (int64_t j = 0; j < t.dim(1); ++j) m(i, j) = v[i * t.dim(1) + j];
  return m;
}

Tensor matrix_tensor(const Eigen::MatrixXd& m) {
  std::vector<double> v;
  for (int64_t i = 0; i < m.rows(); ++i)
    for (int64_t j = 0; j < m.cols(); ++j) v.push_back(m(i, j));
  return Tensor::from_vector(v, {m.rows(), m.cols()}, DType::f64);
}
Tensor vector_tensor(const Eigen::VectorXd& v) {
  return Tensor::from_vector(std::vector<double>(v.data(), v.data() + v.size()), {v.size()}, DType::f64);
}
nlohmann::json matrix_json(const Eigen::MatrixXd& m) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t i = 0; i < m.rows(); ++i) {
    std::vector<double> r(m.cols());
    for (int64_t j = 0; j < m.cols(); ++j) r[j] = m(i, j);
    rows.push_back(r);
  }
  return rows;
}
nlohmann::json vector_json(const Eigen::VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); }

// The features with an intercept column, and the last column as the target.
std::pair<Eigen::MatrixXd, Eigen::VectorXd> split_target(const Eigen::MatrixXd& table, const std::string& path) {
  DESCENT_CHECK(table.cols() >= 2, InputError, "DATA '{}': need feature columns and a last target column, got {} column",
                path, table.cols());
  Eigen::MatrixXd X(table.rows(), table.cols());
  X.col(0).setOnes();
  X.rightCols(table.cols() - 1) = table.leftCols(table.cols() - 1);
  return {X, table.col(table.cols() - 1)};
}

void run_fit(const FitArgs& a) {
  const std::vector<std::string> models{"gmm", "mvn-missing", "student-t", "logistic-mm"};
  DESCENT_CHECK(std::find(models.begin(), models.end(), a.model) != models.end(), InputError,
                "MODEL '{}' is unknown; use gmm, mvn-missing, student-t or logistic-mm", a.model);
  const std::string to_model = "to MODEL " + a.model;
  refuse_unless(a.components_opt, a.model == "gmm", to_model + " (--components is for gmm)");
  refuse_unless(a.covariance_opt, a.model == "gmm", to_model + " (--covariance is for gmm)");
  refuse_unless(a.seed_opt, a.model == "gmm", to_model + " (--seed draws gmm's k-means++ start)");
  refuse_unless(a.reg_opt, a.model == "gmm" || a.model == "mvn-missing", to_model + " (--reg-covar is for gmm, mvn-missing)");
  refuse_unless(a.nu_opt, a.model == "student-t", to_model + " (--nu is for student-t)");
  refuse_unless(a.estimate_nu_opt, a.model == "student-t", to_model + " (--estimate-nu is for student-t)");
  check_output_folder(a.out_dir, "--out", a.overwrite);
  const Eigen::MatrixXd table = read_table(a.data_path);
  bound::EmOptions em;
  em.max_iterations = a.max_iterations;
  em.tolerance = a.tolerance;
  nlohmann::json params = {{"model", a.model}, {"data", a.data_path}, {"rows", table.rows()}};
  TensorMap tensors;
  std::vector<double> trace;
  bool converged = false;
  if (a.model == "gmm") {
    const std::vector<std::string> types{"full", "diag", "spherical"};
    DESCENT_CHECK(std::find(types.begin(), types.end(), a.covariance) != types.end(), InputError,
                  "--covariance '{}' is unknown; use full, diag or spherical", a.covariance);
    bound::GmmOptions o;
    o.components = a.components;
    o.type = a.covariance == "full" ? bound::CovarianceType::full
             : a.covariance == "diag" ? bound::CovarianceType::diagonal : bound::CovarianceType::spherical;
    o.reg_covar = a.reg_covar;
    o.seed = a.seed;
    o.em = em;
    const bound::GmmFit fit = bound::fit_gmm(table, o);
    nlohmann::json covs = nlohmann::json::array();
    Eigen::MatrixXd stacked(fit.model.covariances.size() * table.cols(), table.cols());
    for (size_t k = 0; k < fit.model.covariances.size(); ++k) {
      covs.push_back(matrix_json(fit.model.covariances[k]));
      stacked.middleRows(k * table.cols(), table.cols()) = fit.model.covariances[k];
    }
    params.update({{"components", a.components}, {"covariance", a.covariance}, {"reg_covar", a.reg_covar},
                   {"seed", a.seed}, {"weights", vector_json(fit.model.weights)}, {"means", matrix_json(fit.model.means)},
                   {"covariances", covs}});
    tensors = {{"weights", vector_tensor(fit.model.weights)},
               {"means", matrix_tensor(fit.model.means)},
               {"covariances", matrix_tensor(stacked).reshape({a.components, table.cols(), table.cols()})}};
    trace = fit.trace.log_likelihood;
    converged = fit.trace.converged;
  } else if (a.model == "mvn-missing") {
    bound::MvnMissingOptions o;
    o.em = em;
    o.reg_covar = a.reg_opt && a.reg_opt->count() ? a.reg_covar : 0.0;
    const bound::MvnMissingFit fit = bound::fit_mvn_missing(table, o);
    params.update({{"mean", vector_json(fit.mean)}, {"covariance", matrix_json(fit.covariance)}, {"reg_covar", o.reg_covar},
                   {"missing_entries", table.array().isNaN().count()}});
    tensors = {{"mean", vector_tensor(fit.mean)}, {"covariance", matrix_tensor(fit.covariance)}};
    trace = fit.trace.log_likelihood;
    converged = fit.trace.converged;
  } else if (a.model == "student-t") {
    const auto [X, y] = split_target(table, a.data_path);
    bound::StudentTOptions o;
    o.em = em;
    o.nu = a.nu;
    o.estimate_nu = a.estimate_nu;
    const bound::StudentTFit fit = bound::fit_student_t_regression(X, y, o);
    params.update({{"weights", vector_json(fit.weights)}, {"sigma2", fit.sigma2}, {"nu", fit.nu},
                   {"estimate_nu", a.estimate_nu}, {"weights_order", "intercept, then the feature columns"}});
    tensors = {{"weights", vector_tensor(fit.weights)}, {"lambda", vector_tensor(fit.lambda)},
               {"sigma2_nu", vector_tensor(Eigen::Vector2d(fit.sigma2, fit.nu))}};
    trace = fit.trace.log_likelihood;
    converged = fit.trace.converged;
  } else {  // logistic-mm
    const auto [X, target] = split_target(table, a.data_path);
    Eigen::VectorXi labels(target.size());
    for (int64_t n = 0; n < target.size(); ++n) {
      DESCENT_CHECK(target[n] >= 0 && target[n] == std::floor(target[n]), InputError,
                    "DATA '{}': row {}'s label {} is not a class index 0, 1, 2, ... (the last column)", a.data_path, n,
                    target[n]);
      labels[n] = static_cast<int>(target[n]);
    }
    const int classes = std::max(2, labels.maxCoeff() + 1);
    bound::LogisticOptions o;
    o.max_iterations = a.max_iterations;
    const bound::LogisticFit fit =
        classes == 2 ? bound::logistic_mm(X, target, o) : bound::multinomial_logistic_mm(X, labels, classes, o);
    params.update({{"classes", classes}, {"weights", matrix_json(fit.weights)},
                   {"weights_layout", "[1 + features, classes − 1]: intercept row first; the last class is the reference"}});
    tensors = {{"weights", matrix_tensor(fit.weights)}};
    trace = fit.log_likelihood;
    converged = fit.converged;
  }
  params["log_likelihood"] = trace.back();
  params["iterations"] = static_cast<int64_t>(trace.size()) - 1;
  params["converged"] = converged;
  // Outputs: all checked above; each written atomically.
  std::filesystem::create_directories(a.out_dir);
  write_file_atomically(a.out_dir + "/params.json", params.dump(1) + "\n");
  save_safetensors(a.out_dir + "/params.safetensors", tensors, {{"model", a.model}});
  std::string csv = "iteration,log_likelihood\n";
  for (size_t i = 0; i < trace.size(); ++i) csv += fmt::format("{},{:.17g}\n", i, trace[i]);
  write_file_atomically(a.out_dir + "/trace.csv", csv);
  const bool plotted = render_plot({.csv_path = a.out_dir + "/trace.csv", .png_path = a.out_dir + "/trace.png",
                                    .title = a.model + ": log-likelihood", .x_label = "iteration",
                                    .y_label = "log-likelihood", .series = {{"iteration", "log_likelihood", "log-likelihood", false}},
                                    .log_y = false, .extra = ""});
  const Output& out = a.output;
  if (!plotted) out.warn("gnuplot is missing or failed: {}/trace.gp written, trace.png not drawn", a.out_dir);
  if (!converged) out.warn("stopped at --max-iterations before the tolerance was met");
  out.say("model {}\nrows {}\nlog_likelihood {:.17g}\niterations {}\nconverged {}\nout {}\n", a.model, table.rows(),
          trace.back(), trace.size() - 1, converged, a.out_dir);
  out.result({{"model", a.model}, {"log_likelihood", trace.back()}, {"iterations", trace.size() - 1},
              {"converged", converged}, {"out", a.out_dir}});
}

}  // namespace

void register_fit(CLI::App& app) {
  auto a = std::make_shared<FitArgs>();
  auto* cmd = add_command(app, "fit",
                          "fit a model by MM/EM (Murphy §6.5): gmm, mvn-missing (NaN = missing), student-t "
                          "(last column = y), logistic-mm (last column = class 0..C-1)",
                          {"descent fit gmm points.npy --components 10 --out gmm_fit",
                           "descent fit student-t xy.csv --estimate-nu --out robust --json"});
  cmd->add_option("model", a->model, "gmm, mvn-missing, student-t or logistic-mm")->required();
  cmd->add_option("data", a->data_path, "DATA.csv or DATA.npy, one row per point")->required();
  add_path(cmd, "--out", a->out_dir, "output folder: params.json, params.safetensors, trace.csv, trace.png")
      ->required();
  a->components_opt = cmd->add_option("--components", a->components, "gmm: number of components (default 1)");
  a->covariance_opt = cmd->add_option("--covariance", a->covariance, "gmm: full, diag or spherical (default full)");
  a->reg_opt = cmd->add_option("--reg-covar", a->reg_covar,
                               "added to covariance diagonals (gmm default 1e-6 as scikit-learn; mvn-missing 0)");
  a->nu_opt = cmd->add_option("--nu", a->nu, "student-t: degrees of freedom (the start with --estimate-nu; default 4)");
  a->estimate_nu_opt = cmd->add_flag("--estimate-nu", a->estimate_nu, "student-t: ECME estimate of ν");
  cmd->add_option("--max-iterations", a->max_iterations, "EM/MM iteration limit (default 1000)");
  cmd->add_option("--tolerance", a->tolerance, "EM: stop when the log-likelihood's relative change is below (1e-10)");
  a->seed_opt = add_seed(cmd, a->seed, "gmm: seed of the k-means++ start");
  add_overwrite(cmd, a->overwrite);
  add_output_flags(cmd, a->output);
  cmd->callback([a] { run_fit(*a); });
}

}  // namespace descent::cli
