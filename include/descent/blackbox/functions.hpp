#pragma once
// Benchmark functions with known optima (all minimized), plus random shifts and rotations.
// Continuous ones take an Eigen vector; one-max and n-queens take discrete states.
#include <cstdint>
#include <string>
#include <vector>

#include "descent/blackbox/problem.hpp"

namespace descent::blackbox {

double sphere(const Vector& x);                  // sum x_i^2; f* = 0 at 0
double ellipsoid(const Vector& x, double condition = 1e6);  // sum cond^{i/(n-1)} x_i^2; f* = 0
double rosenbrock(const Vector& x);              // f* = 0 at (1,...,1)
double rastrigin(const Vector& x);               // 10 n + sum x^2 - 10 cos(2 pi x); f* = 0
double ackley(const Vector& x);                  // f* = 0 at 0
double styblinski_tang(const Vector& x);         // 0.5 sum x^4 - 16 x^2 + 5 x; f* = -39.16616570 n
double branin(const Vector& x);                  // 2-D, x in [-5,10]x[0,15]; f* = 0.397887
double hartmann6(const Vector& x);               // 6-D, x in [0,1]^6; f* = -3.32237

// Number of ones in a bit string (maximized; minimize its negative).
int one_max(const std::vector<uint8_t>& bits);
// Number of attacking queen pairs; queens[c] is the row of the queen in column c.
int queens_attacking_pairs(const std::vector<int>& queens);

// A benchmark as a named problem: the function, its usual domain and its optimum.
struct Benchmark {
  std::string name;
  Function f;
  Bounds bounds;
  double f_star = 0.0;
};

// name in {sphere, ellipsoid, rosenbrock, rastrigin, ackley, styblinski_tang, branin,
// hartmann6}; dim is ignored for branin (2) and hartmann6 (6). Throws InputError otherwise.
Benchmark make_benchmark(const std::string& name, Eigen::Index dim);
std::vector<std::string> benchmark_names();

// g(x) = f(R (x - shift)): the optimum moves to shift + R^T x*, the value is unchanged.
// R is a uniformly random rotation (QR of a Gaussian matrix with the sign fix).
Matrix random_rotation(Eigen::Index dim, Rng& rng);
Function shifted_rotated(Function f, Vector shift, Matrix rotation);

}  // namespace descent::blackbox
