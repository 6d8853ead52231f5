// The closed form of the monotone network, written once: R(x), R'(x) and
// dR/dtheta over an arithmetic `A` (models/monotone_formula.hpp has the
// math and the Arithmetic interface).
//
// No include guard, on purpose: this file is included into each namespace
// whose arithmetic runs it, namely implicit::internal (scalar T, by
// monotone_formula.hpp) and each Highway target's namespace in
// src/models/monotone_inverse.cpp (SIMD vectors). A template compiled
// outside a target's #pragma region cannot inline that target's
// intrinsics, so the SIMD kernel needs its own instantiation point; this is
// Highway's "-inl.h" idiom. It includes nothing: the includer provides
// MonotoneCoefficients and the arithmetic.

// relu(b + d) - relu(b) for the relu unit: d itself when both are active,
// so no cancellation (b + d for b << 0 < b + d is exact enough: b + d is
// the answer). `on` is b + d > 0 (relu'(0) = 0, the file comment of
// monotone_net.hpp).
template <class A, class T, class Mask>
typename A::Value monotone_relu_difference(const A& ar, T b, const typename A::Value& d,
                                           const Mask& on) {
  return b > 0 ? ar.select(on, d, ar.set(-b)) : ar.select(on, d + ar.set(b), ar.set(T(0)));
}

// R(x) into r and R'(x) into s, for x >= 0 (NaN in, NaN out). Per sigmoid
// unit, with d = exp(w) x and (e, 1 - e) = (exp(-d), 1 - exp(-d)):
//     sigmoid(b + d) - sigmoid(b) = p q (1 - e) / (p + q e)
//     sigmoid'(b + d)             = p q e / (p + q e)^2.
// Cost O(H): one exp_and_complement and one division per sigmoid unit.
template <class A, class T>
void monotone_value_and_slope(const A& ar, const MonotoneCoefficients<T>& k,
                              const typename A::Value& x, typename A::Value& r,
                              typename A::Value& s) {
  using V = typename A::Value;
  const V zero = ar.set(T(0)), one = ar.set(T(1));
  r = zero;
  s = zero;
  for (int i = 0; i < k.sigmoids; ++i) {
    V e, one_minus_e;
    ar.exp_and_complement(ar.set(k.ew[i]) * x, e, one_minus_e);
    const V inv = one / ar.mul_add(ar.set(k.q[i]), e, ar.set(k.p[i]));
    r = ar.mul_add(ar.set(k.value_coef[i]) * one_minus_e, inv, r);
    s = ar.mul_add(ar.set(k.slope_coef[i]) * e, inv * inv, s);
  }
  const V d = ar.set(k.relu_ew) * x;
  const auto on = ar.greater(d + ar.set(k.relu_b), zero);
  r = ar.mul_add(monotone_relu_difference(ar, k.relu_b, d, on), ar.set(k.relu_ev), r);
  s = s + ar.select(on, ar.set(k.relu_slope), zero);
}

// dR/dtheta at x >= 0, entry j (order w | v | b, 3H entries) passed to
// put(j, value); returns R'(x), equal to monotone_value_and_slope's s.
// Per sigmoid unit, with P = sigmoid(a) = p / (p + q e), Q = sigmoid(-a) =
// q e / (p + q e), a = b + d, Delta = sigmoid(a) - sigmoid(b) as above:
//     dR/dw = exp(v) P Q d
//     dR/dv = exp(v) Delta
//     dR/db = exp(v) (P Q - p q) = exp(v) Delta (Q - p),
// the last because P = p + Delta and Q = q - Delta. Q - p = sigmoid(-a) -
// sigmoid(b) vanishes where a = -b, so it too is a product: with s = a + b,
//     Q - p = -p P (1 - exp(-s))     (s >= 0)
//     Q - p =  q Q (1 - exp(s))      (s < 0)
// (from sigmoid(u) - sigmoid(t) = sigmoid(u) sigmoid(-t) - sigmoid(t)
// sigmoid(-u) and Q q / (p P) = exp(-s)). Every entry is then a product of
// positive factors times a sign: full relative accuracy for tiny d (the
// flat network), saturated units (p q ~ 1e-13) and |b| up to overflow
// (s = +-inf gives 1 - exp(-|s|) = 1). The relu unit: exp(v) [a > 0] d,
// exp(v) (relu(a) - relu(b)), exp(v) ([a > 0] - [b > 0]).
// Cost O(H): two exp_and_complement and one division per sigmoid unit.
template <class A, class T, class Put>
typename A::Value monotone_grad_theta(const A& ar, const MonotoneCoefficients<T>& k,
                                      const typename A::Value& x, Put&& put) {
  using V = typename A::Value;
  const int h = k.sigmoids + 1;
  const V zero = ar.set(T(0)), one = ar.set(T(1));
  V slope = zero;
  for (int i = 0; i < k.sigmoids; ++i) {
    const V d = ar.set(k.ew[i]) * x;
    V e, one_minus_e;
    ar.exp_and_complement(d, e, one_minus_e);
    const V p = ar.set(k.p[i]), q = ar.set(k.q[i]), ev = ar.set(k.ev[i]);
    const V inv = one / ar.mul_add(q, e, p);
    const V big_p = p * inv;
    const V big_q = q * e * inv;
    const V delta = ar.set(k.p[i] * k.q[i]) * one_minus_e * inv;
    const V s = d + ar.set(k.b[i]) + ar.set(k.b[i]);
    V e_s, one_minus_e_s;
    ar.exp_and_complement(ar.abs(s), e_s, one_minus_e_s);
    const V gap =
        ar.select(ar.greater(s, zero), zero - p * big_p * one_minus_e_s, q * big_q * one_minus_e_s);
    put(i, ev * (big_p * big_q) * d);
    put(h + i, ev * delta);
    put(2 * h + i, ev * delta * gap);
    slope = ar.mul_add(ar.set(k.slope_coef[i]) * e, inv * inv, slope);
  }
  const int last = h - 1;
  const V d = ar.set(k.relu_ew) * x;
  const auto on = ar.greater(d + ar.set(k.relu_b), zero);
  const V ev = ar.set(k.relu_ev);
  put(last, ev * ar.select(on, d, zero));
  put(h + last, ev * monotone_relu_difference(ar, k.relu_b, d, on));
  put(2 * h + last, ev * (ar.select(on, one, zero) - ar.set(k.relu_b > 0 ? T(1) : T(0))));
  return slope + ar.select(on, ar.set(k.relu_slope), zero);
}
