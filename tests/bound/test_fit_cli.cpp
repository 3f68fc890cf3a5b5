// `descent fit` end to end: outputs written and equal to the library's fit, the CLI contract's
// exit codes (0 ok, 2 usage or input error), --overwrite and --json.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/peer.hpp"
#include "descent/bound/gmm.hpp"
#include "descent/bound/student_t.hpp"
#include "descent/core/rng.hpp"

namespace descent::bound {
namespace {

namespace fs = std::filesystem;

int run_cli(const std::string& args, std::string* out = nullptr) {
  const fs::path log = fs::temp_directory_path() / ("descent_fit_cli_" + std::to_string(::getpid()) + ".out");
  const int status = std::system((std::string(DESCENT_CLI_PATH) + " " + args + " > " + log.string() + " 2>&1").c_str());
  if (out) {
    std::ifstream in(log);
    out->assign(std::istreambuf_iterator<char>(in), {});
  }
  fs::remove(log);
  return WEXITSTATUS(status);
}

struct Folder {
  fs::path path = fs::temp_directory_path() / ("descent_fit_" + std::to_string(::getpid()));
  Folder() { fs::create_directories(path); }
  ~Folder() { fs::remove_all(path); }
};

Eigen::MatrixXd two_clusters(int64_t N) {
  Rng rng(1);
  Eigen::MatrixXd X(N, 2);
  for (int64_t n = 0; n < N; ++n) {
    X(n, 0) = (n % 2 ? 3.0 : -3.0) + rng.normal();
    X(n, 1) = 0.5 * X(n, 0) + rng.normal();
  }
  return X;
}

void write_csv(const fs::path& p, const Eigen::MatrixXd& X) {
  std::ofstream f(p);
  f.precision(17);
  for (int64_t i = 0; i < X.rows(); ++i)
    for (int64_t j = 0; j < X.cols(); ++j) f << X(i, j) << (j + 1 == X.cols() ? '\n' : ',');
}

TEST(FitCli, GmmWritesParametersTraceAndPlotEqualToTheLibrary) {
  Folder tmp;
  const Eigen::MatrixXd X = two_clusters(400);
  write_csv(tmp.path / "x.csv", X);
  const fs::path out = tmp.path / "fit";
  std::string text;
  ASSERT_EQ(run_cli("fit gmm " + (tmp.path / "x.csv").string() + " --components 2 --seed 3 --out " + out.string() +
                        " --json",
                    &text),
            0)
      << text;
  for (const char* f : {"params.json", "params.safetensors", "trace.csv"}) EXPECT_TRUE(fs::exists(out / f)) << f;
  const nlohmann::json result = nlohmann::json::parse(text);
  GmmOptions o;
  o.components = 2;
  o.seed = 3;
  const GmmFit fit = fit_gmm(X, o);
  EXPECT_NEAR(result["log_likelihood"].get<double>(), fit.trace.log_likelihood.back(),
              1e-9 * std::abs(fit.trace.log_likelihood.back()));
  std::ifstream pj(out / "params.json");
  const nlohmann::json params = nlohmann::json::parse(pj);
  EXPECT_NEAR(params["weights"][0].get<double>(), fit.model.weights[0], 1e-12);
  // An existing non-empty output folder is refused (2) unless --overwrite.
  EXPECT_EQ(run_cli("fit gmm " + (tmp.path / "x.csv").string() + " --components 2 --out " + out.string()), 2);
  EXPECT_EQ(run_cli("fit gmm " + (tmp.path / "x.csv").string() + " --components 2 --out " + out.string() +
                    " --overwrite --quiet"),
            0);
}

TEST(FitCli, InputErrorsExitTwo) {
  Folder tmp;
  Eigen::MatrixXd X = two_clusters(50);
  write_csv(tmp.path / "x.csv", X);
  const std::string data = (tmp.path / "x.csv").string(), out = " --out " + (tmp.path / "o").string();
  EXPECT_EQ(run_cli("fit kmeans " + data + out), 2);                              // unknown model
  EXPECT_EQ(run_cli("fit gmm " + data + " --components 51" + out), 2);            // k > n
  EXPECT_EQ(run_cli("fit student-t " + data + " --components 2" + out), 2);       // flag of another model
  EXPECT_EQ(run_cli("fit gmm " + (tmp.path / "missing.csv").string() + out), 2);  // no such file
  X(3, 1) = std::nan("");
  write_csv(tmp.path / "nan.csv", X);
  std::string text;
  EXPECT_EQ(run_cli("fit gmm " + (tmp.path / "nan.csv").string() + out, &text), 2) << text;
  EXPECT_FALSE(fs::exists(tmp.path / "o" / "params.json"));
}

TEST(FitCli, StudentTAndLogisticAndMissingData) {
  Folder tmp;
  Rng rng(2);
  Eigen::MatrixXd xy(120, 2);
  for (int64_t n = 0; n < 120; ++n) {
    xy(n, 0) = rng.uniform(-1, 1);
    xy(n, 1) = 1 + 2 * xy(n, 0) + 0.2 * rng.normal() + (n % 12 == 0 ? 10.0 : 0.0);
  }
  write_csv(tmp.path / "xy.csv", xy);
  std::string text;
  ASSERT_EQ(run_cli("fit student-t " + (tmp.path / "xy.csv").string() + " --estimate-nu --json --out " +
                        (tmp.path / "t").string(),
                    &text),
            0)
      << text;
  Eigen::MatrixXd X(120, 2);
  X.col(0).setOnes();
  X.col(1) = xy.col(0);
  StudentTOptions o;
  o.estimate_nu = true;
  const StudentTFit fit = fit_student_t_regression(X, xy.col(1), o);
  EXPECT_NEAR(nlohmann::json::parse(text)["log_likelihood"].get<double>(), fit.trace.log_likelihood.back(), 1e-8);
  Eigen::MatrixXd lab(200, 3);
  for (int64_t n = 0; n < 200; ++n) {
    lab(n, 0) = rng.normal();
    lab(n, 1) = rng.normal();
    lab(n, 2) = rng.uniform() < 1 / (1 + std::exp(-(lab(n, 0) - lab(n, 1)))) ? 1 : 0;
  }
  write_csv(tmp.path / "lab.csv", lab);
  EXPECT_EQ(run_cli("fit logistic-mm " + (tmp.path / "lab.csv").string() + " --quiet --out " + (tmp.path / "l").string()),
            0);
  Eigen::MatrixXd miss = two_clusters(100);
  for (int64_t n = 0; n < 100; n += 3) miss(n, 1) = std::nan("");
  std::ofstream f(tmp.path / "miss.csv");
  for (int64_t n = 0; n < 100; ++n) f << miss(n, 0) << ',' << (std::isnan(miss(n, 1)) ? "nan" : std::to_string(miss(n, 1))) << '\n';
  f.close();
  EXPECT_EQ(run_cli("fit mvn-missing " + (tmp.path / "miss.csv").string() + " --quiet --out " + (tmp.path / "m").string(),
                    &text),
            0)
      << text;
}

}  // namespace
}  // namespace descent::bound
