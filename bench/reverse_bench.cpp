// What reverse mode buys a user who writes f as a plain templated functor,
// with no derivative members (issue "Reverse-mode derivatives ..."). Every
// time is printed as a multiple of one evaluation of the same f in double,
// timed in this process just before, so the ratios hold on a busy machine.
//
//   gradient  forward solve (Anderson, z0 = 0, abs 1e-10) + IFT gradient of
//             L = sum(z*) w.r.t. theta = [vec(W); x], for
//               TanhLayer          hand-written derivatives
//               plain, auto        the same formula as a plain functor,
//                                  kAuto (reverse tape where it pays)
//               plain, GMRES       the same, AdjointMethod::kGmres: every
//                                  product a sweep of the tape
//               plain, forward     the same, DerivativeMode::kForward
//                                  (the only path before reverse mode)
//               KINSOL + adjoint   SUNDIALS KINSOL's Anderson fixed point
//                                  (KIN_FP, m = 5) and a hand-written
//                                  dense-LU adjoint: the C++ peer
//   vjp       (df/dtheta)^T u alone at a fixed z, p = n^2 + n from 110 to
//             ~10^6: forward mode, reverse mode (Sacado Rad: one recording
//             and sweep, as vjp() does; and one more sweep of a recorded
//             tape, as GMRES's products do), and, when ADOL-C is found
//             (libadolc-dev), ADOL-C's taping + fos_reverse and fos_reverse
//             alone: the measurement behind the choice of Rad
//             (diff/reverse.hpp). ADOL-C writes ./ADOLC-*.tap once a tape
//             outgrows its buffers (n = 1000), so run this from a scratch
//             directory. Also on a scalar-heavy model (a logistic market of
//             15 goods, 465 parameters).
//
// Usage: reverse_bench [--quick]   (--quick: n <= 100, fewer repeats)

#include <kinsol/kinsol.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "implicit.hpp"
#include "timing.hpp"

#ifdef IMPLICIT_BENCH_ADOLC
#include <adolc/adolc.h>
namespace Eigen {
template <>
struct NumTraits<adouble> : implicit::internal::AdScalarNumTraits<adouble, double> {};
}  // namespace Eigen
#endif

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using implicit::AdjointOptions;
using implicit::DerivativeMode;
using implicit::MatrixX;
using implicit::VectorX;

using bench::median_seconds;

// tanh(W z + x) as a user writes it: no derivative members.
struct PlainLayer {
  int n;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    using std::tanh;
    const Eigen::Map<const MatrixX<T>> w(theta.data(), n, n);
    const VectorX<T> pre = w * z + theta.tail(n);
    return pre.array().tanh().matrix();
  }
};

// A logistic market: demand for good i is sum_j a_ij / (1 + exp(b_ij z_j -
// c_i)); prices adjust to z = demand. Scalar-heavy: one exp per pair.
struct LogisticMarket {
  int n;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    using std::exp;
    VectorX<T> out(n);
    for (int i = 0; i < n; ++i) {
      T sum = T(0);
      for (int j = 0; j < n; ++j)
        sum = sum + theta[i * n + j] /
                        (T(1) + exp(theta[n * n + i * n + j] * z[j] - theta[2 * n * n + i]));
      out[i] = sum;
    }
    return out;
  }
};

VectorXd layer_theta(int n) {
  VectorXd theta(n * n + n);
  for (Eigen::Index i = 0; i < theta.size(); ++i)
    theta[i] = 0.9 * std::sin(0.7 * double(i) * double(i) + 0.2) /
               std::sqrt(double(n));  // contraction ~0.5
  return theta;
}

implicit::FixedPointOptions forward_options() {
  implicit::FixedPointOptions o;
  o.abs_tol = 1e-10;
  o.rel_tol = 0;
  o.max_iter = 1000;
  return o;
}

template <class Map>
double ift_gradient(const Map& f, const VectorXd& theta, int n, const AdjointOptions& adjoint) {
  auto forward =
      implicit::solve_fixed_point(implicit::bind_theta(f, theta), VectorXd(VectorXd::Zero(n)),
                                  implicit::Anderson(), forward_options());
  if (!forward.ok()) std::fprintf(stderr, "forward failed: %s\n", forward.brief_report().c_str());
  const auto g =
      implicit::fixed_point_vjp(f, theta, forward.x, VectorXd(VectorXd::Ones(n)), adjoint);
  if (!g.ok()) std::fprintf(stderr, "adjoint failed: %s\n", g.brief_report().c_str());
  return g.value.sum();
}

// ----- KINSOL + hand-written dense-LU adjoint ---------------------------------

struct KinsolLayer {
  const MatrixXd* w;
  const VectorXd* x;
  int n;
};

int kinsol_fixed_point_map(N_Vector u, N_Vector gu, void* data) {
  const auto& d = *static_cast<const KinsolLayer*>(data);
  const Eigen::Map<const VectorXd> z(N_VGetArrayPointer(u), d.n);
  Eigen::Map<VectorXd>(N_VGetArrayPointer(gu), d.n) = ((*d.w) * z + *d.x).array().tanh().matrix();
  return 0;
}

double kinsol_gradient(SUNContext context, const VectorXd& theta, int n) {
  const MatrixXd w = Eigen::Map<const MatrixXd>(theta.data(), n, n);
  const VectorXd x = theta.tail(n);
  KinsolLayer data{&w, &x, n};
  N_Vector u = N_VNew_Serial(n, context);
  N_Vector scale = N_VNew_Serial(n, context);
  N_VConst(0.0, u);
  N_VConst(1.0, scale);
  void* memory = KINCreate(context);
  KINSetMAA(memory, 5);
  KINInit(memory, kinsol_fixed_point_map, u);
  KINSetUserData(memory, &data);
  KINSetFuncNormTol(memory, 1e-10);
  KINSetNumMaxIters(memory, 1000);
  const int flag = KINSol(memory, u, KIN_FP, scale, scale);
  if (flag < 0) std::fprintf(stderr, "KINSOL failed: flag %d\n", flag);
  const VectorXd z = Eigen::Map<const VectorXd>(N_VGetArrayPointer(u), n);
  // Adjoint: (I - diag(s) W)^T a = 1 with s = 1 - z^2, then
  // dL/dW = (s .* a) z^T and dL/dx = s .* a.
  const VectorXd s = (1.0 - z.array().square()).matrix();
  const MatrixXd a_matrix = MatrixXd::Identity(n, n) - (s.asDiagonal() * w).transpose();
  const VectorXd a = a_matrix.partialPivLu().solve(VectorXd::Ones(n));
  const VectorXd sa = s.cwiseProduct(a);
  const MatrixXd grad_w = sa * z.transpose();
  KINFree(&memory);
  N_VDestroy(u);
  N_VDestroy(scale);
  return grad_w.sum() + sa.sum();
}

#ifdef IMPLICIT_BENCH_ADOLC
// ADOL-C on the same VJP: theta active, z a constant, as vjp(bind_state)
// records it. Returns {taping + one fos_reverse, fos_reverse alone}.
template <class Map>
std::pair<double, double> adolc_vjp_seconds(const Map& f, const VectorXd& theta, const VectorXd& z,
                                            const VectorXd& u, double budget) {
  const int p = static_cast<int>(theta.size()), n = static_cast<int>(z.size());
  constexpr short kTag = 7;
  std::vector<double> y(n), weights(u.data(), u.data() + n);
  VectorXd grad(p);
  auto record = [&] {
    trace_on(kTag, 1);
    VectorX<adouble> th(p), zz(n);
    for (int i = 0; i < p; ++i) th[i] <<= theta[i];
    for (int i = 0; i < n; ++i) zz[i] = z[i];
    VectorX<adouble> out = f(th, zz);
    for (int i = 0; i < n; ++i) out[i] >>= y[i];
    trace_off();
  };
  const double both = median_seconds(
      [&] {
        record();
        fos_reverse(kTag, n, p, weights.data(), grad.data());
      },
      budget);
  record();
  const double sweep =
      median_seconds([&] { fos_reverse(kTag, n, p, weights.data(), grad.data()); }, budget);
  return {both, sweep};
}
#endif

// One more sweep of a tape recorded once: the cost of each adjoint product.
template <class F>
double rad_sweep_seconds(const F& f, const VectorXd& x, const VectorXd& u, double budget) {
#if IMPLICIT_HAVE_REVERSE
  const implicit::internal::ReverseTape<double> tape(implicit::internal::recordable<F, double>(f),
                                                     x, "reverse_bench");
  volatile double sink = 0;
  return median_seconds([&] { sink = sink + tape.pullback(u)[0]; }, budget);
#else
  (void)f, (void)x, (void)u, (void)budget;
  return NAN;
#endif
}

template <class Map>
double f_seconds(const Map& f, const VectorXd& theta, int n, double budget) {
  const VectorXd z = VectorXd::Constant(n, 0.1);
  volatile double sink = 0;
  return median_seconds([&] { sink = sink + f(theta, z)[0]; }, budget, 50);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const double budget = quick ? 0.2 : 1.0;
  SUNContext context = nullptr;
  SUNContext_Create(nullptr, &context);
  std::printf("reverse_bench: times as multiples of one f evaluation (double), medians\n");
  std::printf("reverse mode: %s\n\n", IMPLICIT_HAVE_REVERSE ? "Sacado Rad" : "unavailable");

  std::printf("forward solve + IFT gradient of sum(z*), tanh(W z + x)\n");
  std::printf("%6s %9s %10s %12s %12s %12s %15s %12s\n", "n", "p", "f (us)", "TanhLayer",
              "plain auto", "plain GMRES", "plain forward", "KINSOL+LU");
  std::vector<int> sizes = quick ? std::vector<int>{10, 100} : std::vector<int>{10, 100, 1000};
  for (int n : sizes) {
    const VectorXd theta = layer_theta(n);
    const PlainLayer plain{n};
    const implicit::TanhLayer layer(n);
    const double tf = f_seconds(plain, theta, n, budget / 4);
    volatile double sink = 0;
    const double t_layer =
        median_seconds([&] { sink = sink + ift_gradient(layer, theta, n, {}); }, budget);
    const double t_auto =
        median_seconds([&] { sink = sink + ift_gradient(plain, theta, n, {}); }, budget);
    AdjointOptions gmres;
    gmres.method = implicit::AdjointMethod::kGmres;
    const double t_gmres = median_seconds(
        [&] { sink = sink + ift_gradient(plain, theta, n, gmres); }, budget, n >= 1000 ? 1 : 3);
    double t_forward = NAN;
    if (n <= 100) {
      AdjointOptions forward;
      forward.derivatives = DerivativeMode::kForward;
      t_forward =
          median_seconds([&] { sink = sink + ift_gradient(plain, theta, n, forward); }, budget, 1);
    }
    const double t_kinsol =
        median_seconds([&] { sink = sink + kinsol_gradient(context, theta, n); }, budget);
    std::printf("%6d %9d %10.2f %12.0f %12.0f %12.0f %15.0f %12.0f\n", n, n * n + n, tf * 1e6,
                t_layer / tf, t_auto / tf, t_gmres / tf, t_forward / tf, t_kinsol / tf);
  }

  std::printf("\nVJP (df/dtheta)^T u at a fixed z, tanh(W z + x)\n");
  std::printf("%6s %9s %10s %10s %14s %10s %16s %12s\n", "n", "p", "f (us)", "forward",
              "Rad rec+sweep", "Rad sweep", "ADOL-C tape+rev", "ADOL-C rev");
  std::vector<int> vjp_sizes =
      quick ? std::vector<int>{10, 31, 100} : std::vector<int>{10, 31, 100, 316, 1000};
  for (int n : vjp_sizes) {
    const VectorXd theta = layer_theta(n);
    const PlainLayer plain{n};
    const VectorXd z = VectorXd::Constant(n, 0.1), u = VectorXd::Ones(n);
    const double tf = f_seconds(plain, theta, n, budget / 4);
    const auto of_theta = implicit::bind_state(plain, z);
    volatile double sink = 0;
    double t_forward = NAN;
    if (n <= 31)
      t_forward = median_seconds(
          [&] { sink = sink + implicit::vjp(of_theta, theta, u, DerivativeMode::kForward)[0]; },
          budget);
    const double t_reverse = median_seconds(
        [&] { sink = sink + implicit::vjp(of_theta, theta, u, DerivativeMode::kReverse)[0]; },
        budget);
    const double t_sweep = rad_sweep_seconds(of_theta, theta, u, budget);
    double t_adolc = NAN, t_adolc_sweep = NAN;
#ifdef IMPLICIT_BENCH_ADOLC
    std::tie(t_adolc, t_adolc_sweep) = adolc_vjp_seconds(plain, theta, z, u, budget);
#endif
    std::printf("%6d %9d %10.2f %10.1f %14.1f %10.1f %16.1f %12.1f\n", n, n * n + n, tf * 1e6,
                t_forward / tf, t_reverse / tf, t_sweep / tf, t_adolc / tf, t_adolc_sweep / tf);
  }

  {
    const int n = 15;
    const LogisticMarket market{n};
    VectorXd theta(2 * n * n + n);
    for (Eigen::Index i = 0; i < theta.size(); ++i) theta[i] = 0.2 + 0.1 * std::sin(0.9 * i);
    const VectorXd z = VectorXd::Constant(n, 0.5), u = VectorXd::Ones(n);
    const double tf = f_seconds(market, theta, n, budget / 4);
    const auto of_theta = implicit::bind_state(market, z);
    volatile double sink = 0;
    const double t_forward = median_seconds(
        [&] { sink = sink + implicit::vjp(of_theta, theta, u, DerivativeMode::kForward)[0]; },
        budget);
    const double t_reverse = median_seconds(
        [&] { sink = sink + implicit::vjp(of_theta, theta, u, DerivativeMode::kReverse)[0]; },
        budget);
    std::printf(
        "\nVJP, logistic market (n = %d, p = %d, scalar-heavy): f %.2f us, forward %.1f f, reverse "
        "%.1f f\n",
        n, int(theta.size()), tf * 1e6, t_forward / tf, t_reverse / tf);
    const double t_grad =
        median_seconds([&] { sink = sink + ift_gradient(market, theta, n, {}); }, budget);
    std::printf("forward solve + IFT gradient, logistic market: %.0f f\n", t_grad / tf);
  }
  SUNContext_Free(&context);
  return 0;
}
