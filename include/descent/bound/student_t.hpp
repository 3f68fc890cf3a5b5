#pragma once
// Robust linear regression with a Student-t likelihood by EM (Murphy §6.5.5): y_n ~
// T(wᵀx_n, σ², ν) as a Gaussian scale mixture. E-step: λ_n = E[1/z_n] = (ν + 1)/(ν + δ_n),
// δ_n = (y_n − wᵀx_n)²/σ² (6.169–6.170; ⚠ the seed prints xᵀx_n in δ_n, and its prior term
// in (6.166–6.167) is a Gamma on z_n, inconsistent with the inverse-Gamma posterior (6.169):
// we implement from 6.169–6.170). M-step: weighted least squares w = (XᵀΛX)⁻¹XᵀΛy,
// σ² = Σ λ_n r_n² / N. ECME: ν maximizes the observed log-likelihood at the new (w, σ²).
#include <vector>

#include <Eigen/Core>

#include "descent/bound/em.hpp"

namespace descent::bound {

struct StudentTOptions {
  double nu = 4.0;          // degrees of freedom (the start, with estimate_nu)
  bool estimate_nu = false; // ECME (Liu & Rubin 1995)
  double nu_min = 0.1, nu_max = 1000.0;  // ECME's search interval
  EmOptions em;
};

struct StudentTFit {
  Eigen::VectorXd weights;
  double sigma2 = 1.0;
  double nu = 4.0;
  Eigen::VectorXd lambda;  // final E-step weights: small for outliers
  EmTrace trace;           // observed-data log-likelihood
};

// X [N, D] (add a column of ones for an intercept), y [N]. Starts from least squares.
StudentTFit fit_student_t_regression(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                     const StudentTOptions& options = {});

double student_t_log_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& w,
                                double sigma2, double nu);

}  // namespace descent::bound
