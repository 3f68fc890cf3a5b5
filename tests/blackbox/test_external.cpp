// External commands as functions: a working command, a failing one, one that hangs, one
// that prints garbage or NaN: every failure is recorded and the run goes on.
#include <gtest/gtest.h>

#include <chrono>

#include "descent/blackbox/ask_tell.hpp"
#include "descent/blackbox/external.hpp"
#include "descent/blackbox/population.hpp"
#include "descent/core/thread_pool.hpp"

using namespace descent::blackbox;

TEST(ExternalCommand, EvaluatesSumOfSquaresViaAwk) {
  const Function f = external_command("awk '{s=0; for(i=1;i<=NF;i++) s+=$i*$i; print s}'", 5.0);
  EXPECT_DOUBLE_EQ(f(Vector{{1.5, -2.0}}), 6.25);
}

TEST(ExternalCommand, FailuresAndHangsAreRecordedNotFatal) {
  const auto t0 = std::chrono::steady_clock::now();
  const Evaluation fail = evaluate_one(external_command("exit 3", 5.0), Vector::Zero(2));
  EXPECT_FALSE(fail.ok);
  EXPECT_NE(fail.error.find("exit status 3"), std::string::npos) << fail.error;
  const Evaluation hang = evaluate_one(external_command("sleep 30", 0.3), Vector::Zero(2));
  EXPECT_FALSE(hang.ok);
  EXPECT_NE(hang.error.find("timed out"), std::string::npos) << hang.error;
  const Evaluation garbage = evaluate_one(external_command("echo hello", 5.0), Vector::Zero(2));
  EXPECT_FALSE(garbage.ok);
  const Evaluation nan = evaluate_one(external_command("echo nan", 5.0), Vector::Zero(2));
  EXPECT_FALSE(nan.ok);
  EXPECT_EQ(nan.error, "f returned NaN");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);

  // Half the points fail: minimize finishes its budget and counts them.
  const Function half = external_command("awk '{ if ($1 < 0) exit 1; print $1 }'", 5.0);
  RandomSearch rs(Bounds::cube(2, -1, 1), 4, 1);
  MinimizeOptions mo;
  mo.max_evaluations = 12;
  const auto r = minimize(rs, half, mo);
  EXPECT_EQ(r.evaluations, 12);
  EXPECT_GT(r.failures, 0);
  EXPECT_LT(r.failures, 12);
  EXPECT_GE(r.f, 0.0);
}

TEST(ExternalCommand, InParallelAHangingEvaluationFailsAloneAndTheOthersGetTheirOwnValues) {
  // Point 3 hangs and is killed at the time-out; the others, run beside it on the pool,
  // must neither wait for it (inherited pipe ends) nor get another point's value.
  descent::ThreadPool pool(4);
  const Function f = external_command("awk '{ if ($1 == 3) system(\"sleep 30\"); print $1 * $1 + $2 }'", 1.5);
  std::vector<Vector> xs;
  for (int i = 0; i < 16; ++i) xs.push_back(Vector{{double(i), 0.5}});
  const auto t0 = std::chrono::steady_clock::now();
  const auto evals = evaluate_all(f, xs, &pool);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(evals[i].ok, i != 3) << i << ": " << evals[i].error;
    if (i != 3) EXPECT_EQ(evals[i].f, i * i + 0.5);
  }
  EXPECT_NE(evals[3].error.find("timed out"), std::string::npos) << evals[3].error;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
}

TEST(ExternalCommand, ALongInputToACommandThatNeverReadsItTimesOut) {
  // 20000 coordinates are ~400 KB of text, more than a pipe holds: the write must not block.
  const auto t0 = std::chrono::steady_clock::now();
  const Evaluation e = evaluate_one(external_command("sleep 30", 0.5), Vector::Constant(20000, 1.0 / 3.0));
  EXPECT_FALSE(e.ok);
  EXPECT_NE(e.error.find("timed out"), std::string::npos) << e.error;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 3.0);
  // A command that reads it all gets every coordinate.
  const Evaluation n = evaluate_one(external_command("awk '{print NF}'", 10.0), Vector::Constant(20000, 1.0 / 3.0));
  EXPECT_TRUE(n.ok) << n.error;
  EXPECT_EQ(n.f, 20000.0);
}
