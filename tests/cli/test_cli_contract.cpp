// The command line's contract (README, "The command line's contract"), table-driven: every
// row runs the real `descent` binary on a bad or unusual input inside a scratch folder that
// holds a user's own files and a small trained run, and asserts
//   - the exit status (2 usage or input error, 1 the job ran but failed),
//   - that stderr is one line naming what was wrong (the row's key words) and no raw
//     exception text ("filesystem error", "bad_alloc", "json.exception", "unexpected"),
//   - that no file that existed before the command changed, and no file was left in a
//     folder the command was refused.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "descent/core/safetensors.hpp"
#include "descent/core/tensor.hpp"
#include "descent/data/readers.hpp"

namespace fs = std::filesystem;

namespace {

struct CliRun {
  int status = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `descent ARGS` run by the shell in `cwd`, stdout and stderr kept apart.
CliRun descent(const std::string& args, const fs::path& cwd) {
  const fs::path out = cwd / ".stdout", err = cwd / ".stderr";
  const std::string cmd = fmt::format("cd '{}' && {} {} >'{}' 2>'{}' </dev/null", cwd.string(), DESCENT_CLI_PATH, args,
                                      out.string(), err.string());
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

// Every file under `root` with its contents, and every folder (the scratch folder is small).
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    files[fs::relative(e.path(), root).string()] = e.is_directory() ? "<folder>" : slurp(e.path());
  return files;
}

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

class CliContract : public ::testing::Test {
 protected:
  static fs::path dir;  // the scratch folder, shared by every row

  static void SetUpTestSuite() {
    dir = fs::temp_directory_path() / fmt::format("descent-cli-contract-{}", ::getpid());
    fs::remove_all(dir);
    fs::create_directories(dir / "userdir");
    write_text(dir / "user.txt", "a user's own notes\n");
    write_text(dir / "userdir" / "metrics.csv", "the user's own metrics\n");
    write_text(dir / "userdir" / "config.json", "{\"mine\": true}\n");
    fs::create_directories(dir / "emptydir");
    // A small finished run to probe and evaluate.
    const CliRun train = descent(
        "train --dataset two-moons --train-examples 200 --test-examples 50 --hidden 8 --epochs 1 --batch-size 50 "
        "--dtype float64 --no-plots --no-progress --quiet --out run",
        dir);
    ASSERT_EQ(train.status, 0) << train.err;
    // Point clouds and arrays.
    write_text(dir / "x.csv", "0,0\n1,0\n0,1\n");
    write_text(dir / "y.csv", "2,2\n3,1\n");
    write_text(dir / "nan.csv", "0,0\nnan,1\n");
    write_text(dir / "empty.csv", "");
    write_text(dir / "ragged.csv", "0,0\n1\n");
    write_text(dir / "text.csv", "a,b\nc,d\n");
    write_text(dir / "w3.csv", "0.2\n0.3\n0.5\n");
    write_text(dir / "w_neg.csv", "0.7\n-0.2\n0.5\n");
    write_text(dir / "not_npy.npy", "this is not an NPY file");
    descent::data::save_npy((dir / "x_ok.npy").string(), descent::Tensor::zeros({5, 2}, descent::DType::f64));
    descent::data::save_npy((dir / "x_t.npy").string(), descent::Tensor::zeros({2, 5}, descent::DType::f64));
    descent::data::save_npy((dir / "x_wide.npy").string(), descent::Tensor::zeros({5, 4}, descent::DType::f64));
    descent::data::save_npy((dir / "x_1d.npy").string(), descent::Tensor::zeros({10}, descent::DType::f64));
    descent::data::save_npy((dir / "x_empty.npy").string(), descent::Tensor::zeros({0, 2}, descent::DType::f64));
    write_text(dir / "bad.json", "{ not json");
    write_text(dir / "unknown_key.json", "{\"learning_rat\": 0.1}");
    write_text(dir / "wrong_type.json", "{\"epochs\": \"ten\"}");
    write_text(dir / "array.json", "[1, 2]");
    write_text(dir / "fail.sh", "#!/bin/sh\nexit 3\n");
    fs::permissions(dir / "fail.sh", fs::perms::owner_all);
    write_text(dir / "nan.sh", "#!/bin/sh\necho nan\n");
    fs::permissions(dir / "nan.sh", fs::perms::owner_all);
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
};
fs::path CliContract::dir;

struct Case {
  std::string args;                   // after `descent`
  int status;                         // expected exit status
  std::vector<std::string> words;     // each must appear in stderr
};

// The subcommand a row exercises ("train", "probe ntk", "experiment run", ...).
std::string subcommand_of(const std::string& args) {
  std::istringstream in(args);
  std::string first, second;
  in >> first >> second;
  if ((first == "probe" && second == "ntk") || (first == "experiment" && (second == "run" || second == "list")))
    return first + " " + second;
  for (const char* known : {"train", "eval", "probe", "demo", "optimize", "experiment", "transport", "help"})
    if (first == known) return first;
  return "(top level)";
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // ---- top level ----
      {"", 2, {"give a command", "train"}},
      {"trian", 2, {"unknown command 'trian'", "did you mean", "train"}},
      {"optimise --function sphere", 2, {"unknown command", "optimize"}},
      {"xyzzy", 2, {"unknown command 'xyzzy'", "the commands"}},
      {"--frobnicate", 2, {"give a command"}},
      {"help trian", 2, {"unknown command 'trian'", "train"}},
      {"help probe ntkk", 2, {"unknown command 'ntkk'", "ntk"}},
      {"experiment", 2, {"give a command", "list", "run"}},
      {"experiment rnu x", 2, {"unknown command 'rnu'", "run"}},
      // ---- train: flags ----
      {"train --out ''", 2, {"--out", "empty"}},
      {"train --seed -1 --out t1", 2, {"--seed", "non-negative integer"}},
      {"train --seed 1.5 --out t1", 2, {"--seed", "non-negative integer"}},
      {"train --epochs 0 --out t1", 2, {"epochs", "positive"}},
      {"train --epochs ten --out t1", 2, {"--epochs"}},
      {"train --batch-size 0 --out t1", 2, {"batch_size", "positive"}},
      {"train --learning-rate -0.1 --out t1", 2, {"learning_rate", "positive"}},
      {"train --learning-rate nan --out t1", 2, {"learning_rate"}},
      {"train --momentum 1.5 --out t1", 2, {"momentum"}},
      {"train --dropout 1 --out t1", 2, {"dropout"}},
      {"train --optimizer adamm --out t1", 2, {"optimizer", "adamm"}},
      {"train --model rnn --out t1", 2, {"model", "rnn"}},
      {"train --dataset mnist --out t1", 2, {"dataset", "mnist"}},
      {"train --dtype float16 --out t1", 2, {"dtype", "float16"}},
      {"train --schedule linear --out t1", 2, {"schedule", "linear"}},
      {"train --parameterization muP --out t1", 2, {"parameterization"}},
      {"train --hidden 0,4 --out t1", 2, {"hidden", "positive"}},
      {"train --threads 0 --out t1", 2, {"threads", "positive"}},
      {"train --checkpoint-every 0 --out t1", 2, {"checkpoint_every", "positive"}},
      {"train --weight-decay -1 --out t1", 2, {"weight_decay", "non-negative"}},
      {"train --probe-every 5 --probe sharpnes --out t1", 2, {"sharpnes"}},
      {"train --probe-every 5 --probe-trace-matvecs 2 --out t1", 2, {"probe_trace_matvecs"}},
      {"train --plots false --out t1", 2, {"false"}},
      // ---- train: flags that do not apply ----
      {"train --optimizer adam --momentum 0.5 --out t1", 2, {"--momentum", "does not apply", "adam"}},
      {"train --optimizer sgd --beta1 0.8 --out t1", 2, {"--beta1", "does not apply", "sgd"}},
      {"train --eps 1e-6 --out t1", 2, {"--eps", "does not apply", "momentum"}},
      {"train --step-gamma 0.5 --out t1", 2, {"--step-gamma", "does not apply", "cosine"}},
      {"train --model cnn --hidden 32 --out t1", 2, {"--hidden", "does not apply", "cnn"}},
      {"train --cnn-channels1 8 --out t1", 2, {"--cnn-channels1", "does not apply", "mlp"}},
      {"train --dataset two-moons --data-dir /tmp --out t1", 2, {"--data-dir", "does not apply", "two-moons"}},
      {"train --probe-examples 10 --out t1", 2, {"--probe-examples", "does not apply", "--probe-every"}},
      {"train --resume run --config bad.json", 2, {"--config", "does not apply", "--resume"}},
      {"train --resume run --epochs 3", 2, {"--epochs", "does not apply", "--resume"}},
      {"train --resume run --overwrite", 2, {"--overwrite", "does not apply", "--resume"}},
      // ---- train: files and folders ----
      {"train --out userdir", 2, {"userdir", "already holds files", "--overwrite"}},
      {"train --out run", 2, {"already holds a run", "--resume"}},
      {"train --out user.txt", 2, {"user.txt", "not a folder"}},
      {"train --out user.txt/sub", 2, {"user.txt", "not a folder"}},
      {"train --config missing.json --out t1", 2, {"missing.json", "cannot open"}},
      {"train --config bad.json --out t1", 2, {"bad.json", "not valid JSON"}},
      {"train --config unknown_key.json --out t1", 2, {"unknown setting 'learning_rat'"}},
      {"train --config wrong_type.json --out t1", 2, {"'epochs' must be an integer"}},
      {"train --config array.json --out t1", 2, {"JSON object"}},
      {"train --config '' --out t1", 2, {"--config", "empty"}},
      {"train --resume missing", 2, {"missing", "no config.json"}},
      {"train --resume userdir", 2, {"userdir", "no checkpoint"}},
      {"train --resume ''", 2, {"--resume", "empty"}},
      {"train --dataset two-moons --train-examples 200 --epochs 1 --out t1 --json --quiet --frob", 2, {"--frob"}},
      // ---- eval ----
      {"eval", 2, {"run", "required"}},
      {"eval missing", 2, {"missing", "no config.json"}},
      {"eval userdir", 2, {"userdir", "unknown setting 'mine'"}},
      {"eval run extra", 2, {"extra"}},
      {"eval run --out x", 2, {"--out"}},
      // ---- probe ----
      {"probe", 2, {"run folder"}},
      {"probe missing", 2, {"missing", "no config.json"}},
      {"probe run --matrix hessain --out p1.json", 2, {"unknown --matrix 'hessain'"}},
      {"probe run --measure sharpnes --out p1.json", 2, {"unknown measurement 'sharpnes'"}},
      {"probe run --k 0 --out p1.json", 2, {"--k must be positive"}},
      {"probe run --examples 0 --out p1.json", 2, {"--examples"}},
      {"probe run --batch-size 0 --out p1.json", 2, {"--batch-size"}},
      {"probe run --trace-matvecs 2 --out p1.json", 2, {"--trace-matvecs"}},
      {"probe run --tolerance 0 --out p1.json", 2, {"--tolerance"}},
      {"probe run --memory-cap-mb 0 --out p1.json", 2, {"--memory-cap-mb"}},
      {"probe run --memory-cap-mb -5 --out p1.json", 2, {"--memory-cap-mb"}},
      {"probe run --split valid --out p1.json", 2, {"--split", "valid"}},
      {"probe run --seed -1 --out p1.json", 2, {"--seed", "non-negative integer"}},
      {"probe run --out user.txt", 2, {"user.txt", "already exists", "--overwrite"}},
      {"probe run --out userdir", 2, {"userdir", "is a folder"}},
      {"probe run --out nowhere/p.json", 2, {"nowhere", "does not exist"}},
      {"probe run --out ''", 2, {"--out", "empty"}},
      {"probe run --measure noise --k 3 --out p1.json", 2, {"--k", "does not apply", "sharpness"}},
      {"probe run --measure noise --tolerance 1e-3 --out p1.json", 2, {"--tolerance", "does not apply"}},
      {"probe run --measure sharpness --trace-matvecs 30 --out p1.json", 2, {"--trace-matvecs", "does not apply"}},
      {"probe run --measure trace --batch-size 64 --out p1.json", 2, {"--batch-size", "does not apply", "noise"}},
      {"probe run --measure noise --block each --out p1.json", 2, {"--block", "does not apply"}},
      {"probe run --block 9 --out p1.json", 2, {"9"}},
      // ---- probe ntk ----
      {"probe ntk", 2, {"run", "required"}},
      {"probe ntk missing --out k.npy", 2, {"missing", "no config.json"}},
      {"probe ntk run --out user.txt", 2, {"user.txt", "already exists", "--overwrite"}},
      {"probe ntk run --out userdir", 2, {"userdir", "is a folder"}},
      {"probe ntk run --out nowhere/k.npy", 2, {"nowhere", "does not exist"}},
      {"probe ntk run --out ''", 2, {"--out", "empty"}},
      {"probe ntk run --data x_t.npy --out k.npy", 2, {"x_t.npy", "[2,5]", "one example per row"}},
      {"probe ntk run --data x_wide.npy --out k.npy", 2, {"x_wide.npy", "one example per row"}},
      {"probe ntk run --data x_1d.npy --out k.npy", 2, {"x_1d.npy", "one example per row"}},
      {"probe ntk run --data x_empty.npy --out k.npy", 2, {"x_empty.npy"}},
      {"probe ntk run --data not_npy.npy --out k.npy", 2, {"not_npy.npy"}},
      {"probe ntk run --data missing.npy --out k.npy", 2, {"missing.npy"}},
      {"probe ntk run --data x_ok.npy --x2 x_t.npy --out k.npy", 2, {"x_t.npy", "one example per row"}},
      {"probe ntk run --data x_ok.npy --split train --out k.npy", 2, {"--split", "does not apply", "--data"}},
      {"probe ntk run --data x_ok.npy --examples 3 --out k.npy", 2, {"--examples", "does not apply", "--data"}},
      {"probe ntk run --split valid --out k.npy", 2, {"--split"}},
      {"probe ntk run --examples 0 --out k.npy", 2, {"--examples"}},
      {"probe ntk run --dtype float16 --out k.npy", 2, {"--dtype"}},
      {"probe ntk run --method fast --out k.npy", 2, {"--method"}},
      {"probe ntk run --memory-cap-mb 0 --out k.npy", 2, {"--memory-cap-mb"}},
      // ---- demo ----
      {"demo --inputs 0", 2, {"--inputs"}},
      {"demo --hidden 5000", 2, {"--hidden"}},
      {"demo --classes 1", 2, {"--classes"}},
      {"demo --examples 0", 2, {"--examples"}},
      {"demo --seed -1", 2, {"--seed", "non-negative integer"}},
      {"demo --tolerance 0", 2, {"--tolerance"}},
      {"demo --tolerance -1", 2, {"--tolerance"}},
      {"demo --batch 4", 2, {"--batch"}},
      // ---- optimize ----
      {"optimize", 2, {"--function", "--command"}},
      {"optimize --function sphere --command ./fail.sh --bounds 0:1", 2, {"exactly one"}},
      {"optimize --function spheer", 2, {"spheer"}},
      {"optimize --function sphere --budget 0", 2, {"--budget", "positive"}},
      {"optimize --function sphere --budget -3", 2, {"--budget", "positive"}},
      {"optimize --function sphere --threads 0", 2, {"--threads"}},
      {"optimize --function sphere --method foo", 2, {"--method", "foo"}},
      {"optimize --function sphere --method cmaes --acquisition ei", 2, {"--acquisition", "does not apply", "cmaes"}},
      {"optimize --function sphere --method cmaes --batch-size 4", 2, {"--batch-size", "does not apply", "cmaes"}},
      {"optimize --function sphere --method bo --sigma0 0.5", 2, {"--sigma0", "does not apply", "bo"}},
      {"optimize --function sphere --timeout 5", 2, {"--timeout", "does not apply", "--function"}},
      {"optimize --command ./fail.sh --bounds 0:1 --timeout -1", 2, {"--timeout", "positive"}},
      {"optimize --command ./fail.sh --bounds 0:1 --timeout 0", 2, {"--timeout", "positive"}},
      {"optimize --function sphere --sigma0 -1", 2, {"--sigma0", "positive"}},
      {"optimize --function sphere --seed -1", 2, {"--seed", "non-negative integer"}},
      {"optimize --command ./fail.sh", 2, {"--bounds"}},
      {"optimize --command ./fail.sh --bounds 0-1", 2, {"--bounds", "lower:upper"}},
      {"optimize --command ./fail.sh --bounds a:1", 2, {"--bounds", "not a number"}},
      {"optimize --function sphere --out user.txt", 2, {"user.txt", "already exists", "--overwrite"}},
      {"optimize --function sphere --out userdir", 2, {"userdir", "is a folder"}},
      {"optimize --function sphere --out nowhere/e.csv", 2, {"nowhere", "does not exist"}},
      {"optimize --function sphere --out ''", 2, {"--out", "empty"}},
      {"optimize --command ./fail.sh --bounds 0:1 --budget 3 --method random", 1, {"all 3 evaluations failed"}},
      {"optimize --command ./nan.sh --bounds 0:1 --budget 3 --method random", 1, {"all 3 evaluations failed"}},
      {"optimize --function sphere --resume", 2, {"--resume", "does not apply", "--out"}},
      {"optimize --function sphere --out missing.csv --resume", 2, {"missing.csv", "cannot open"}},
      {"optimize --function sphere --out user.txt --resume", 2, {"user.txt", "header"}},
      {"optimize --function sphere --out user.txt --resume --overwrite", 2, {"--overwrite", "does not apply"}},
      {"optimize --function sphere --method bo --batch-size 0", 2, {"--batch-size", "at least 1"}},
      {"optimize --function sphere --method bo --acquisition xyz", 2, {"xyz"}},
      {"optimize --function sphere --dim 0", 2, {"dim"}},
      // ---- experiment ----
      {"experiment run nope --out e1", 2, {"unknown experiment 'nope'"}},
      {"experiment run ntk_concentraton --out e1", 2, {"did you mean", "ntk_concentration"}},
      {"experiment run ntk_concentration", 2, {"--out", "required"}},
      {"experiment run ntk_concentration --out userdir", 2, {"userdir", "already holds files", "--overwrite"}},
      {"experiment run ntk_concentration --out user.txt", 2, {"user.txt", "not a folder"}},
      {"experiment run ntk_concentration --out ''", 2, {"--out", "empty"}},
      {"experiment run ntk_concentration --out e1 --seed -1", 2, {"--seed", "non-negative integer"}},
      {"experiment run ntk_concentration --out e1 --quick=maybe", 2, {"--quick"}},
      {"experiment list extra", 2, {"extra"}},
      // ---- transport ----
      {"transport", 2, {"x", "required"}},
      {"transport x.csv", 2, {"y", "required"}},
      {"transport x.csv missing.csv", 2, {"missing.csv"}},
      {"transport x.csv empty.csv", 2, {"empty"}},
      {"transport nan.csv y.csv", 2, {"must be finite"}},
      {"transport ragged.csv y.csv", 2, {"ragged.csv"}},
      {"transport text.csv y.csv", 2, {"text.csv"}},
      {"transport not_npy.npy y.csv", 2, {"not_npy.npy"}},
      {"transport x.csv y.csv --method wgan", 2, {"--method", "wgan"}},
      {"transport x.csv y.csv --weights-x w_neg.csv", 2, {"negative"}},
      {"transport x.csv y.csv --weights-y w3.csv", 2, {"3 weights for 2 points"}},
      {"transport x.csv y.csv --epsilon 0.1", 2, {"--epsilon", "does not apply", "exact"}},
      {"transport x.csv y.csv --projections 10", 2, {"--projections", "does not apply"}},
      {"transport x.csv y.csv --method sinkhorn --seed 3", 2, {"--seed", "does not apply", "sinkhorn"}},
      {"transport x.csv y.csv --method gaussian -p 1", 2, {"-p", "does not apply", "gaussian"}},
      {"transport x.csv y.csv --method sinkhorn --epsilon -1", 2, {"must be positive"}},
      {"transport x.csv y.csv --method sliced --plan plan.csv", 2, {"--plan", "no plan"}},
      {"transport x.csv y.csv --plan user.txt", 2, {"user.txt", "already exists", "--overwrite"}},
      {"transport x.csv y.csv --plan userdir", 2, {"userdir", "is a folder"}},
      {"transport x.csv y.csv --plan nowhere/p.csv", 2, {"nowhere", "does not exist"}},
      {"transport x.csv y.csv --plan ''", 2, {"--plan", "empty"}},
      {"transport x.csv y.csv --method sliced --seed -1", 2, {"--seed", "non-negative integer"}},
  };
  return all;
}

TEST_F(CliContract, EveryBadInputGivesItsExitStatusOneClearLineAndChangesNoFile) {
  std::map<std::string, int> per_subcommand;
  for (const Case& c : cases()) {
    SCOPED_TRACE("descent " + c.args);
    const auto before = snapshot(dir);
    const CliRun r = descent(c.args, dir);
    EXPECT_EQ(r.status, c.status) << "stderr: " << r.err << "\nstdout: " << r.out;
    // One line on stderr, naming what was wrong.
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    for (const auto& w : c.words) EXPECT_NE(r.err.find(w), std::string::npos) << "'" << w << "' not in: " << r.err;
    for (const char* raw : {"filesystem error", "bad_alloc", "json.exception", "unexpected error", "what()"})
      EXPECT_EQ(r.err.find(raw), std::string::npos) << r.err;
    // Nothing that existed changed, and a refused command leaves nothing behind.
    const auto after = snapshot(dir);
    for (const auto& [path, contents] : before) {
      auto it = after.find(path);
      ASSERT_NE(it, after.end()) << path << " was removed";
      EXPECT_EQ(it->second, contents) << path << " was changed";
    }
    for (const auto& [path, contents] : after)
      if (!before.count(path)) {
        ADD_FAILURE() << path << " was left behind";
        fs::remove_all(dir / path);
      }
    ++per_subcommand[subcommand_of(c.args)];
  }
  std::string counts;
  for (const auto& [name, n] : per_subcommand) counts += fmt::format("  {:<16} {}\n", name, n);
  std::printf("bad-input cases: %zu in all\n%s", cases().size(), counts.c_str());
  EXPECT_GE(cases().size(), 150u);
}

// ---- the contract's positive side ----

TEST_F(CliContract, EveryCommandsHelpShowsDefaultsAnExampleAndTheExitCodes) {
  for (const std::string cmd : {"train", "eval", "probe", "probe ntk", "demo", "optimize", "experiment",
                                "experiment list", "experiment run", "transport", "help"}) {
    SCOPED_TRACE(cmd);
    const CliRun r = descent(cmd + " --help", dir);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Exit status: 0 success; 1 the job ran but failed"), std::string::npos) << r.out;
    const CliRun h = descent("help " + cmd, dir);
    EXPECT_EQ(h.status, 0) << h.err;
    EXPECT_EQ(h.out, r.out);
  }
  EXPECT_NE(descent("train --help", dir).out.find("--batch-size INT=128"), std::string::npos);
  EXPECT_NE(descent("train --help", dir).out.find("--no-plots"), std::string::npos);
  const CliRun v = descent("--version", dir);
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out.rfind("descent ", 0), 0u) << v.out;
}

TEST_F(CliContract, JsonPrintsOneDocumentAndQuietPrintsNothing) {
  const CliRun json = descent("eval run --json", dir);
  ASSERT_EQ(json.status, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);  // the whole of stdout is one document
  EXPECT_GT(j.at("examples").get<int64_t>(), 0);
  const CliRun quiet = descent("eval run --quiet", dir);
  EXPECT_EQ(quiet.status, 0);
  EXPECT_EQ(quiet.out + quiet.err, "");
  const CliRun t = descent("transport x.csv y.csv --json", dir);
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_GT(nlohmann::json::parse(t.out).at("cost").get<double>(), 0.0);
}

TEST_F(CliContract, OverwriteReplacesOnlyWhenAsked) {
  const fs::path scratch = dir / "overwrite";
  fs::create_directories(scratch);
  write_text(scratch / "plan.csv", "old\n");
  EXPECT_EQ(descent("transport ../x.csv ../y.csv --plan plan.csv", scratch).status, 2);
  EXPECT_EQ(slurp(scratch / "plan.csv"), "old\n");
  EXPECT_EQ(descent("transport ../x.csv ../y.csv --plan plan.csv --overwrite", scratch).status, 0);
  EXPECT_NE(slurp(scratch / "plan.csv"), "old\n");
  // train into a folder of a user's files: refused, then allowed with --overwrite.
  fs::create_directories(scratch / "mine");
  write_text(scratch / "mine" / "metrics.csv", "mine\n");
  const std::string train = "train --dataset two-moons --train-examples 100 --test-examples 20 --hidden 4 --epochs 1 "
                            "--batch-size 50 --no-plots --quiet --out mine";
  EXPECT_EQ(descent(train, scratch).status, 2);
  EXPECT_EQ(slurp(scratch / "mine" / "metrics.csv"), "mine\n");
  EXPECT_EQ(descent(train + " --overwrite", scratch).status, 0);
  EXPECT_TRUE(fs::exists(scratch / "mine" / "model.safetensors"));
  // A finished run whose checkpoint was deleted keeps its model: the folder is not empty.
  fs::remove(scratch / "mine" / "checkpoint.safetensors");
  const std::string model = slurp(scratch / "mine" / "model.safetensors");
  EXPECT_EQ(descent(train, scratch).status, 2);
  EXPECT_EQ(slurp(scratch / "mine" / "model.safetensors"), model);
  fs::remove_all(scratch);
}

TEST_F(CliContract, NonFiniteWeightsGiveANonFiniteLossAndExitOne) {
  // The defect: relu mapped NaN to 0, so `eval` of a model with Inf weights reported a finite loss.
  const fs::path copy = dir / "run-inf";
  fs::copy(dir / "run", copy, fs::copy_options::recursive);
  auto contents = descent::load_safetensors((copy / "model.safetensors").string());
  descent::Tensor& w = contents.tensors.begin()->second;
  w.set(0, INFINITY);
  w.set(1, -INFINITY);
  contents.metadata.erase("descent.data_crc32");  // save_safetensors writes the new checksum
  descent::save_safetensors((copy / "model.safetensors").string(), contents.tensors, contents.metadata);
  const CliRun r = descent("eval run-inf", dir);
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("non-finite"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("nan"), std::string::npos) << r.out;
  fs::remove_all(copy);
}

TEST_F(CliContract, OptimizeKeepsToItsBudgetLogsAsItGoesAndResumes) {
  const fs::path scratch = dir / "optimize";
  fs::create_directories(scratch);
  // An external objective that counts its own runs.
  write_text(scratch / "f.sh", "#!/bin/sh\necho x >> calls.txt\nread a b\nawk -v a=\"$a\" -v b=\"$b\" 'BEGIN { printf \"%.17g\\n\", a * a + b * b }'\n");
  fs::permissions(scratch / "f.sh", fs::perms::owner_all);
  auto calls = [&] {
    const std::string s = slurp(scratch / "calls.txt");
    return std::count(s.begin(), s.end(), '\n');
  };
  for (const std::string method : {"cem", "ga", "cmaes"}) {
    SCOPED_TRACE(method);
    fs::remove(scratch / "calls.txt");
    fs::remove(scratch / "e.csv");
    const CliRun r = descent(fmt::format("optimize --command ./f.sh --bounds -1:1,-1:1 --method {} --budget 3 "
                                         "--out e.csv --json",
                                         method),
                             scratch);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(calls(), 3);  // was 100 (cem), 50 (ga), 6 (cmaes)
    EXPECT_EQ(nlohmann::json::parse(r.out).at("evaluations").get<int>(), 3);
    const std::string csv = slurp(scratch / "e.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4) << csv;  // header and three rows
  }
  // Resume: 5 more evaluations on top of the 3 logged, the same study as 8 at once.
  fs::remove(scratch / "calls.txt");
  ASSERT_EQ(descent("optimize --command ./f.sh --bounds -1:1,-1:1 --method cmaes --budget 8 --out e.csv --resume "
                    "--quiet",
                    scratch)
                .status,
            0);
  EXPECT_EQ(calls(), 5);
  const std::string resumed = slurp(scratch / "e.csv");
  ASSERT_EQ(descent("optimize --command ./f.sh --bounds -1:1,-1:1 --method cmaes --budget 8 --out all.csv --quiet",
                    scratch)
                .status,
            0);
  EXPECT_EQ(slurp(scratch / "all.csv"), resumed);
  fs::remove_all(scratch);
}

}  // namespace
