// The SIMD kernels of MonotoneNet<double>::inverse_newton and
// inverse_gradients (models/monotone_net.hpp): many targets at once, one per
// lane, every lane running root/newton.hpp's safeguarded Newton rule, the
// finished lanes masked until the whole vector is done.
//
// Why Highway (Debian's libhwy-dev 1.0.3): foreach_target.h compiles this
// file once per instruction set (SSE4, AVX2, AVX-512 ...) in one translation
// unit under the project's generic x86-64 flags, and HWY_DYNAMIC_DISPATCH
// picks the best one the machine has at runtime; the package builds no
// -march=native binaries. Measured on the H = 10 reference net, 10^5
// targets (bench/README.md "Monotone inverse", BM_MonotoneNewton/*):
// AVX-512 1.45e7 inverses / s, AVX2 8.1e6, SSE4 (2 lanes) 2.8e6, the scalar
// loop 2.2e6-2.9e6. Eigen arrays vectorise only at the compile-time width,
// SSE2 under generic flags, i.e. the 2-lane row, which gains nothing over
// scalar here; xsimd 8.1 would need one TU per architecture and a dispatch
// of our own for the 5x that AVX-512 gives.
//
// The exponential is written here, not hwy/contrib/math: one range
// reduction gives both e = exp(-d) and 1 - e to full relative accuracy
// (contrib's Expm1 would need a second call for e when d is large), which
// is the pair the cancellation-free sigmoid difference needs.

#include <cstddef>
#include <cstdint>
#include <limits>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/models/monotone_inverse.cpp"
#include <hwy/aligned_allocator.h>
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "implicit/models/monotone_net.hpp"

HWY_BEFORE_NAMESPACE();
namespace implicit {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<double>;
using V = hn::Vec<D>;
using M = hn::Mask<D>;
using DI = hn::RebindToSigned<D>;

// e = exp(-d) and 1 - e for d >= 0 (NaN in, NaN out). With x = -d =
// k ln2 + r, |r| <= ln2 / 2 (Cody-Waite: ln2 split so that k ln2_hi is exact
// for |k| < 2^11), P = expm1(r) by its Taylor series to degree 13 (the next
// term is < 1.2e-17 |r|, 0.1 ulp), s = 2^k:
//     e     = s + s P
//     1 - e = (1 - s) - s P       (1 - s exact for k >= -53)
// For k = 0 that is 1 + P and -P: expm1's accuracy where 1 - e is small.
// Below x = -708, e is set to 0 (std::exp is subnormal there, ~1e-308).
HWY_INLINE void ExpAndComplement(D d, V dist, V& e, V& one_minus_e) {
  const V x = hn::Neg(dist);
  const V k = hn::Round(hn::Mul(x, hn::Set(d, 1.4426950408889634074)));
  V r = hn::MulAdd(k, hn::Set(d, -6.93147180369123816490e-01), x);
  r = hn::MulAdd(k, hn::Set(d, -1.90821492927058770002e-10), r);
  // Horner over 1/n!, n = 13 .. 2, then P = r (1 + r (1/2 + ...)).
  V p = hn::Set(d, 1.0 / 6227020800.0);
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 479001600.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 39916800.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 3628800.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 362880.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 40320.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 5040.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 720.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 120.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 24.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 6.0));
  p = hn::MulAdd(p, r, hn::Set(d, 0.5));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0));
  p = hn::Mul(p, r);
  // s = 2^k from the bits of t = k + 1023 + 1.5 2^52: t's mantissa field
  // holds k + 1023 + 2^51 (exact, k integral), and shifting it left by 52
  // leaves k + 1023 in the exponent field (the 2^51 falls off the top). A
  // float add and an integer shift: no double -> int64 conversion, which
  // AVX2 lacks (Highway emulates it; this took AVX2 from 5.7e6 to 8.1e6
  // inverses / s, AVX-512 from 12.4e6 to 14.5e6).
  const DI di;
  const V biased =
      hn::Add(hn::Max(k, hn::Set(d, -1022.0)), hn::Set(d, 1023.0 + 6755399441055744.0));
  const V s = hn::BitCast(d, hn::ShiftLeft<52>(hn::BitCast(di, biased)));
  const V one = hn::Set(d, 1.0);
  const M tiny = hn::Lt(x, hn::Set(d, -708.0));
  e = hn::IfThenZeroElse(tiny, hn::MulAdd(s, p, s));
  one_minus_e = hn::IfThenElse(tiny, one, hn::NegMulAdd(s, p, hn::Sub(one, s)));
}

// The arithmetic the formulas of models/monotone_formula-inl.hpp run on
// here: one vector of lanes, this target's instructions, the exponential
// above (models/monotone_formula.hpp describes the interface).
struct VectorArithmetic {
  using Value = V;
  D d;
  HWY_INLINE V set(double c) const { return hn::Set(d, c); }
  HWY_INLINE V mul_add(V a, V b, V c) const { return hn::MulAdd(a, b, c); }
  HWY_INLINE void exp_and_complement(V dist, V& e, V& one_minus_e) const {
    ExpAndComplement(d, dist, e, one_minus_e);
  }
  HWY_INLINE M greater(V a, V b) const { return hn::Gt(a, b); }
  HWY_INLINE V select(M mask, V yes, V no) const { return hn::IfThenElse(mask, yes, no); }
  HWY_INLINE V abs(V a) const { return hn::Abs(a); }
};

// The one closed form (monotone_value_and_slope, monotone_grad_theta),
// instantiated in this target's namespace: Highway's "-inl" idiom, see the
// comment at the top of the included file.
#include "implicit/models/monotone_formula-inl.hpp"  // IWYU pragma: keep

// R(x) and R'(x), MonotoneNet::value_and_slope lane by lane.
HWY_INLINE void ValueAndSlope(D d, const MonotoneKernelData& k, V x, V& r, V& s) {
  // Qualified: argument-dependent lookup would also find the scalar
  // instantiation point in implicit::internal, an ambiguity.
  HWY_NAMESPACE::monotone_value_and_slope(VectorArithmetic{d}, k.net, x, r, s);
}

// b - a <= abs + rel max(|a|, |b|), or no double strictly between a <= b
// (both >= 0 here, so adjacent doubles differ by 1 in their bits):
// internal::BracketTolerance.
HWY_INLINE M Converged(D d, const MonotoneKernelData& k, V a, V b) {
  const DI di;
  const M width = hn::Le(
      hn::Sub(b, a),
      hn::MulAdd(hn::Set(d, k.rel_tol), hn::Max(hn::Abs(a), hn::Abs(b)), hn::Set(d, k.abs_tol)));
  const auto gap = hn::Sub(hn::BitCast(di, b), hn::BitCast(di, a));
  return hn::Or(width, hn::RebindMask(d, hn::Gt(hn::Set(di, 2), gap)));
}

// internal::newton_next_point lane by lane (x >= 0).
HWY_INLINE V NextPoint(D d, const MonotoneKernelData& k, V x, V g, V slope, V a, V b, V& dx1,
                       V& dx2) {
  const DI di;
  V dx = hn::Neg(hn::Div(g, slope));
  const V t = hn::MulAdd(hn::Set(d, k.rel_tol), hn::Abs(x), hn::Set(d, k.abs_tol));
  const M small = hn::Le(hn::Abs(dx), hn::Mul(t, hn::Set(d, 0.5)));
  dx = hn::IfThenElse(small, hn::Add(dx, hn::CopySign(hn::Mul(t, hn::Set(d, 0.25)), dx)), dx);
  V next = hn::Add(x, dx);
  // next == x: the adjacent double toward the root (bits + 1 up, - 1 down).
  const auto bits = hn::BitCast(di, x);
  const auto step =
      hn::IfThenElse(hn::RebindMask(di, hn::Gt(dx, hn::Zero(d))), hn::Set(di, 1), hn::Set(di, -1));
  next = hn::IfThenElse(hn::Eq(next, x), hn::BitCast(d, hn::Add(bits, step)), next);
  const M inside = hn::And(hn::Gt(next, a), hn::Lt(next, b));
  const V adx = hn::Abs(dx);
  const M shrinking = hn::Or(hn::Le(adx, t), hn::Le(adx, hn::Mul(hn::Abs(dx2), hn::Set(d, 0.5))));
  const M newton = hn::And(inside, shrinking);
  const V mid = hn::MulAdd(hn::Sub(b, a), hn::Set(d, 0.5), a);
  next = hn::IfThenElse(newton, next, mid);
  dx = hn::IfThenElse(newton, dx, hn::Sub(mid, x));
  dx2 = dx1;
  dx1 = dx;
  return next;
}

// One vector of targets (all lanes filled; the caller pads the tail).
HWY_INLINE void NewtonVector(D d, const MonotoneKernelData& k, const double* HWY_RESTRICT y_in,
                             double* x_out, double* lower_out, double* upper_out,
                             double* residual_out, double* evals_out, double* code_out) {
  const DI di;
  const V zero = hn::Zero(d);
  const V inf = hn::Set(d, std::numeric_limits<double>::infinity());
  const V y_raw = hn::LoadU(d, y_in);
  // Bad targets (NaN, < 0, inf) go to the scalar path for their message.
  const M valid = hn::And(hn::Ge(y_raw, zero), hn::Lt(y_raw, inf));
  const V y = hn::IfThenElseZero(valid, y_raw);
  // The table interval: k = floor(K y / (y + y_half)), one correction each way.
  const double kmax = static_cast<double>(k.knots - 1);
  const V u = hn::Div(y, hn::Add(y, hn::Set(d, k.y_half)));
  V kf = hn::Min(hn::Max(hn::Floor(hn::Mul(u, hn::Set(d, static_cast<double>(k.knots)))), zero),
                 hn::Set(d, kmax));
  auto ki = hn::ConvertTo(di, kf);
  const auto one_i = hn::Set(di, 1);
  const auto last_i = hn::Set(di, k.knots - 1);
  V yk = hn::GatherIndex(d, k.knot_y, ki);
  const M down = hn::And(hn::Lt(y, yk), hn::Gt(kf, zero));
  ki = hn::IfThenElse(hn::RebindMask(di, down), hn::Sub(ki, one_i), ki);
  auto ki1 = hn::Min(hn::Add(ki, one_i), last_i);
  V yk1 = hn::GatherIndex(d, k.knot_y, ki1);
  const M not_last = hn::RebindMask(d, hn::Gt(last_i, ki));
  const M up = hn::And(not_last, hn::Ge(y, yk1));
  ki = hn::IfThenElse(hn::RebindMask(di, up), hn::Add(ki, one_i), ki);
  ki1 = hn::Min(hn::Add(ki, one_i), last_i);
  yk = hn::GatherIndex(d, k.knot_y, ki);
  yk1 = hn::GatherIndex(d, k.knot_y, ki1);
  const M tail = hn::RebindMask(d, hn::Eq(ki, last_i));
  const M found = hn::And(hn::Le(yk, y), hn::Or(tail, hn::Lt(y, yk1)));
  const V xk = hn::GatherIndex(d, k.knot_x, ki);
  const V xk1 = hn::GatherIndex(d, k.knot_x, ki1);
  const V mk = hn::GatherIndex(d, k.knot_dxdy, ki);
  const V mk1 = hn::GatherIndex(d, k.knot_dxdy, ki1);
  // Interior: cubic Hermite of the inverse (MonotoneNet::hermite).
  const V h = hn::Sub(yk1, yk);
  const V sfrac = hn::Div(hn::Sub(y, yk), h);
  const V dxk = hn::Sub(xk1, xk);
  const V m0 = hn::Mul(mk, h), m1 = hn::Mul(mk1, h);
  const V c2 = hn::Sub(hn::Sub(hn::Mul(hn::Set(d, 3.0), dxk), hn::Add(m0, m0)), m1);
  const V c3 = hn::Sub(hn::Add(m0, m1), hn::Add(dxk, dxk));
  const V interior = hn::MulAdd(sfrac, hn::MulAdd(sfrac, hn::MulAdd(sfrac, c3, c2), m0), xk);
  // Tail: tangent start, relu bound above (MonotoneNet::newton_start).
  const V excess = hn::Sub(y, yk);
  const V tail_x0 = hn::MulAdd(excess, mk, xk);
  const V bound = hn::Mul(hn::Add(xk, hn::Div(excess, hn::Set(d, k.net.relu_slope))),
                          hn::Set(d, 1 + 16 * std::numeric_limits<double>::epsilon()));
  V a = xk;
  V ga = hn::Sub(yk, y);
  V b = hn::IfThenElse(tail, bound, xk1);
  V gb = hn::IfThenElse(tail, inf, hn::Sub(yk1, y));
  V x = hn::IfThenElse(tail, tail_x0, interior);
  const M x_inside = hn::And(hn::Gt(x, a), hn::Lt(x, b));
  x = hn::IfThenElse(x_inside, x, hn::MulAdd(hn::Sub(b, a), hn::Set(d, 0.5), a));

  // Codes as doubles (exact small integers), stored once at the end.
  V code = hn::Set(d, kLaneScalar);
  const M ok_start = hn::And(hn::And(valid, found), hn::IsFinite(b));
  const M at_knot = hn::And(ok_start, hn::Eq(ga, zero));
  code = hn::IfThenElse(at_knot, hn::Set(d, kLaneAtKnot), code);
  V x_res = xk, lo = xk, hi = xk, res = zero, evals = zero;
  M active = hn::AndNot(at_knot, ok_start);
  V dx1 = inf, dx2 = inf;
  for (int iter = 0; iter < k.max_iter && !hn::AllFalse(d, active); ++iter) {
    V r, slope;
    ValueAndSlope(d, k, x, r, slope);
    const V g = hn::Sub(r, y);
    evals = hn::Add(evals, hn::IfThenElseZero(active, hn::Set(d, 1.0)));
    active = hn::And(active, hn::IsFinite(g));  // non-finite: scalar (its message)
    const M zero_here = hn::And(active, hn::Eq(g, zero));
    x_res = hn::IfThenElse(zero_here, x, x_res);
    lo = hn::IfThenElse(zero_here, x, lo);
    hi = hn::IfThenElse(zero_here, x, hi);
    res = hn::IfThenElse(zero_here, zero, res);
    code = hn::IfThenElse(zero_here, hn::Set(d, kLaneExactZero), code);
    active = hn::AndNot(zero_here, active);
    const M neg = hn::Lt(g, zero);
    const M to_a = hn::And(active, neg), to_b = hn::AndNot(neg, active);
    a = hn::IfThenElse(to_a, x, a);
    ga = hn::IfThenElse(to_a, g, ga);
    b = hn::IfThenElse(to_b, x, b);
    gb = hn::IfThenElse(to_b, g, gb);
    const M done = hn::And(active, Converged(d, k, a, b));
    const M take_a = hn::Le(hn::Abs(ga), hn::Abs(gb));
    x_res = hn::IfThenElse(done, hn::IfThenElse(take_a, a, b), x_res);
    res = hn::IfThenElse(done, hn::IfThenElse(take_a, ga, gb), res);
    lo = hn::IfThenElse(done, a, lo);
    hi = hn::IfThenElse(done, b, hi);
    code = hn::IfThenElse(done, hn::Set(d, kLaneConverged), code);
    active = hn::AndNot(done, active);
    V n1 = dx1, n2 = dx2;
    const V next = NextPoint(d, k, x, g, slope, a, b, n1, n2);
    x = hn::IfThenElse(active, next, x);
    dx1 = hn::IfThenElse(active, n1, dx1);
    dx2 = hn::IfThenElse(active, n2, dx2);
  }
  hn::StoreU(x_res, d, x_out);
  hn::StoreU(lo, d, lower_out);
  hn::StoreU(hi, d, upper_out);
  hn::StoreU(res, d, residual_out);
  hn::StoreU(evals, d, evals_out);
  hn::StoreU(code, d, code_out);
}

void MonotoneNewton(const MonotoneKernelData& k, const double* y, std::size_t n, double* x,
                    double* lower, double* upper, double* residual, int* evaluations, int* code) {
  const D d;
  const std::size_t lanes = hn::Lanes(d);
  constexpr std::size_t kMaxLanes = HWY_MAX_BYTES / sizeof(double);
  HWY_ALIGN double yb[kMaxLanes], xb[kMaxLanes], lb[kMaxLanes], ub[kMaxLanes], rb[kMaxLanes],
      eb[kMaxLanes], cb[kMaxLanes];
  for (std::size_t i = 0; i < n; i += lanes) {
    const std::size_t m = n - i < lanes ? n - i : lanes;
    for (std::size_t j = 0; j < lanes; ++j)
      yb[j] = j < m ? y[i + j] : 0.0;  // pad: y = 0 costs nothing
    NewtonVector(d, k, yb, xb, lb, ub, rb, eb, cb);
    for (std::size_t j = 0; j < m; ++j) {
      x[i + j] = xb[j];
      lower[i + j] = lb[j];
      upper[i + j] = ub[j];
      residual[i + j] = rb[j];
      evaluations[i + j] = static_cast<int>(eb[j]);
      code[i + j] = static_cast<int>(cb[j]);
    }
  }
}

// MonotoneNet::grad_theta_into lane by lane (monotone_grad_theta), scaled by -1 / R'.
void MonotoneGradients(const MonotoneKernelData& k, const double* x_in, std::size_t n,
                       double* dx_dy, double* dx_dtheta) {
  const D d;
  const std::size_t lanes = hn::Lanes(d);
  const std::size_t h = static_cast<std::size_t>(k.net.sigmoids) + 1;
  // dR/dtheta of one vector of targets, 3H vectors, allocated once per call.
  auto g_store = hwy::AllocateAligned<double>(3 * h * lanes);
  double* HWY_RESTRICT g = g_store.get();
  auto put = [&](std::size_t j, V v) { hn::Store(v, d, g + j * lanes); };
  constexpr std::size_t kMaxLanes = HWY_MAX_BYTES / sizeof(double);
  HWY_ALIGN double buf[kMaxLanes];
  const V zero = hn::Zero(d);
  for (std::size_t i = 0; i < n; i += lanes) {
    const std::size_t m = n - i < lanes ? n - i : lanes;
    for (std::size_t j = 0; j < lanes; ++j) buf[j] = j < m ? x_in[i + j] : 0.0;
    const V x = hn::Load(d, buf);
    const V slope = HWY_NAMESPACE::monotone_grad_theta(
        VectorArithmetic{d}, k.net, x,
        [&](int j, V value) { put(static_cast<std::size_t>(j), value); });
    const V inv_slope = hn::Div(hn::Set(d, 1.0), slope);
    const V minus_inv = hn::Neg(inv_slope);
    if (m == lanes) {
      hn::StoreU(inv_slope, d, dx_dy + i);
      for (std::size_t j = 0; j < 3 * h; ++j)
        hn::StoreU(hn::Add(hn::Mul(hn::Load(d, g + j * lanes), minus_inv), zero), d,
                   dx_dtheta + j * n + i);
    } else {
      hn::Store(inv_slope, d, buf);
      for (std::size_t l = 0; l < m; ++l) dx_dy[i + l] = buf[l];
      for (std::size_t j = 0; j < 3 * h; ++j) {
        hn::Store(hn::Add(hn::Mul(hn::Load(d, g + j * lanes), minus_inv), zero), d, buf);
        for (std::size_t l = 0; l < m; ++l) dx_dtheta[j * n + i + l] = buf[l];
      }
    }
  }
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace implicit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace implicit {
namespace internal {

HWY_EXPORT(MonotoneNewton);
HWY_EXPORT(MonotoneGradients);
HWY_EXPORT(TargetName);

void monotone_newton_simd(const MonotoneKernelData& k, const double* y, std::size_t n, double* x,
                          double* lower, double* upper, double* residual, int* evaluations,
                          int* code) {
  HWY_DYNAMIC_DISPATCH(MonotoneNewton)(k, y, n, x, lower, upper, residual, evaluations, code);
}

void monotone_gradients_simd(const MonotoneKernelData& k, const double* x, std::size_t n,
                             double* dx_dy, double* dx_dtheta) {
  HWY_DYNAMIC_DISPATCH(MonotoneGradients)(k, x, n, dx_dy, dx_dtheta);
}

const char* monotone_simd_target() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }

void monotone_simd_limit(MonotoneSimdLimit limit) {
  std::int64_t avx512 = HWY_AVX3 | HWY_AVX3_DL;
#ifdef HWY_AVX3_ZEN4
  avx512 |= HWY_AVX3_ZEN4;
#endif
  std::int64_t off = 0;
  if (limit != MonotoneSimdLimit::kBest) off |= avx512;
  if (limit == MonotoneSimdLimit::kSse4) off |= HWY_AVX2;
  hwy::DisableTargets(off);
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());  // re-chooses the dispatch target
}

}  // namespace internal
}  // namespace implicit
#endif
