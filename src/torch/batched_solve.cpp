// The batched loop for forward iteration and Anderson on CPU tensors
// (batched_solve.hpp says what it does and why).

#include "batched_solve.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "implicit/fixed_point/stopping.hpp"
#include "implicit/torch/tensor_ops.hpp"
#include "row_norms.hpp"

namespace implicit::torch::internal {

namespace {

// We hold the only reference to t and to its storage: writing into it
// cannot change anything the caller or f can see.
bool exclusively_ours(const at::Tensor& t) {
  return t.defined() && t.use_count() == 1 && t.storage().use_count() == 1 && !t.requires_grad() &&
         t.is_contiguous();
}

// A (B, ...) buffer like `like` to write the next iterate into: `spare`
// (an earlier iterate) when nobody else holds it, else a new one.
at::Tensor take_buffer(at::Tensor& spare, const at::Tensor& like) {
  at::Tensor out = std::move(spare);
  spare = at::Tensor();
  if (exclusively_ours(out) && out.sizes() == like.sizes()) return out;
  return at::empty(like.sizes(), like.options().memory_format(at::MemoryFormat::Contiguous));
}

template <class T>
using RowMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using MutableRowMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;

// Per-sample ||f(z) - z||, ||f(z)||, ||z|| of one row (sums of squares in
// T, vectorised, as VectorOps<at::Tensor>::norm sums them; the scaled form
// where they overflow); g (if given) receives f(z) - z.
template <class T>
void row_norms(const T* z, const T* fz, T* g, int64_t n, double& residual, double& fz_norm,
               double& z_norm) {
  const RowMap<T> zr(z, n), fr(fz, n);
  double rr;
  if (g) {
    MutableRowMap<T> gr(g, n);
    gr = fr - zr;
    rr = static_cast<double>(gr.square().sum());
  } else {
    rr = static_cast<double>((fr - zr).square().sum());
  }
  residual = std::sqrt(rr);
  if (!std::isfinite(rr)) {  // rare: overflow or NaN/Inf; g's entries again, scaled
    const Eigen::Array<T, Eigen::Dynamic, 1> d = fr - zr;
    residual = scaled_norm(d.data(), n);
  }
  fz_norm = row_norm(fz, n);
  z_norm = row_norm(z, n);
}

using RunningMask = Eigen::Array<bool, Eigen::Dynamic, 1>;

// Forward iteration z <- z + damping (f(z) - z).
template <class T>
class KernelForwardIteration {
 public:
  KernelForwardIteration(const ForwardIterationOptions& o, int64_t, int64_t)
      : damping_(o.damping) {}
  const char* name() const { return "forward_iteration"; }

  void measure(const T* z, const T* fz, int64_t b, int64_t n, double& residual, double& fz_norm,
               double& z_norm) {
    (void)b;
    row_norms<T>(z, fz, nullptr, n, residual, fz_norm, z_norm);
  }
  // The next iterate; rows of stopped samples are left for the driver.
  at::Tensor step(const at::Tensor& z, at::Tensor& fz, at::Tensor& spare,
                  const RunningMask& running) {
    if (damping_ == 1.0) {
      // z <- f(z): f's output is the next iterate; the driver then writes
      // the stopped samples' rows into it, so it must be ours alone.
      if (!exclusively_ours(fz)) fz = fz.clone(at::MemoryFormat::Contiguous);
      return fz;
    }
    at::Tensor next = take_buffer(spare, z);
    const int64_t batch = z.size(0), n = z.numel() / batch;
    const T* zp = z.data_ptr<T>();
    const T* fp = fz.data_ptr<T>();
    T* out = next.data_ptr<T>();
    const T d = static_cast<T>(damping_);
    for (int64_t b = 0; b < batch; ++b) {
      if (!running[b]) continue;
      const RowMap<T> zr(zp + b * n, n), fr(fp + b * n, n);
      MutableRowMap<T>(out + b * n, n) = zr + d * (fr - zr);
    }
    return next;
  }

 private:
  double damping_;
};

// Anderson (type II) with the history in (B, m, n) buffers of its own; the
// algorithm of fixed_point/anderson.hpp, per sample, with the same weight
// solve (internal::AndersonWeights). A sample's m history slots are the
// columns of an n x m matrix, so its new Gram row is one matrix-vector
// product G^T g and its mixing one more, F alpha (Eigen's GEMV: the m dot
// products and the m-term sum each in one pass over the rows, where m
// separate passes cost twice as much at n = 100).
template <class T>
class KernelAnderson {
 public:
  KernelAnderson(const AndersonOptions& o, int64_t batch, int64_t n)
      : o_(o),
        m_(o.memory),
        n_(n),
        f_values_(static_cast<size_t>(batch * o.memory * n)),
        residuals_(static_cast<size_t>(batch * o.memory * n)),
        gram_(static_cast<size_t>(batch * o.memory * o.memory), 0.0),
        alpha_(o.memory),
        weights_(o.memory),
        gram_row_(o.memory),
        mix_(o.memory) {}
  const char* name() const { return "anderson"; }

  // The new pair (f(z), g = f(z) - z) goes straight into slot next_.
  void measure(const T* z, const T* fz, int64_t b, int64_t n, double& residual, double& fz_norm,
               double& z_norm) {
    T* f_slot = f_values_.data() + (b * m_ + next_) * n_;
    T* g_slot = residuals_.data() + (b * m_ + next_) * n_;
    std::copy(fz, fz + n, f_slot);
    row_norms<T>(z, fz, g_slot, n, residual, fz_norm, z_norm);
  }

  at::Tensor step(const at::Tensor& z, at::Tensor& fz, at::Tensor& spare,
                  const RunningMask& running) {
    (void)fz;
    using History = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>>;
    using Column = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;
    using Out = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>;
    const int slot = next_;
    filled_ = std::min(filled_ + 1, m_);
    next_ = (slot + 1) % m_;
    const int k = filled_;
    at::Tensor next = take_buffer(spare, z);
    T* out = next.data_ptr<T>();
    const int64_t batch = z.size(0);
    for (int64_t b = 0; b < batch; ++b) {
      if (!running[b]) continue;  // the driver pins its row
      const History f_hist(f_values_.data() + b * m_ * n_, n_, k);
      const History g_hist(residuals_.data() + b * m_ * n_, n_, k);
      double* gram = gram_.data() + b * m_ * m_;
      gram_row_.head(k).noalias() = g_hist.transpose() * Column(g_hist.col(slot).data(), n_);
      for (int j = 0; j < k; ++j) gram[slot * m_ + j] = gram[j * m_ + slot] = gram_row_[j];
      for (int i = 0; i < k; ++i)
        for (int j = 0; j < k; ++j) weights_.gram(i, j) = gram[i * m_ + j];
      weights_.solve(o_, k, slot, alpha_.data());
      // z = sum_j alpha_j f_j - (1 - beta) sum_j alpha_j g_j
      for (int j = 0; j < k; ++j) mix_[j] = static_cast<T>(alpha_[j]);
      Out row(out + b * n_, n_);
      row.noalias() = f_hist * mix_.head(k);
      if (o_.beta != 1.0) row.noalias() -= g_hist * (static_cast<T>(1.0 - o_.beta) * mix_.head(k));
    }
    return next;
  }

 private:
  AndersonOptions o_;
  int m_;
  int64_t n_;
  int filled_ = 0;
  int next_ = 0;
  std::vector<T> f_values_, residuals_;  // (B, m, n): f(z_i), g_i
  std::vector<double> gram_;             // (B, m, m): G G^T per sample, slot order
  std::vector<double> alpha_;
  ::implicit::internal::AndersonWeights weights_;
  Eigen::Matrix<T, Eigen::Dynamic, 1> gram_row_, mix_;
};

// The loop of solve_fixed_point_batched (fixed_point/solve_batched.hpp),
// with the same per-sample books (fixed_point/batched_stopping.hpp) and the
// per-row work done by `solver` on the tensors' data.
//
// A sample's best iterate is copied out only when it is about to be lost:
// z_k stays readable until the step after next (it becomes `spare`, the
// previous iterate, and is overwritten or dropped only by the next step),
// so a sample that improved at k is copied into best_z at k + 1 only if
// it did not improve again. A converging sample improves at every step
// and is never copied.
template <class T, class Solver>
BatchedResult kernel_loop(const TensorFn& f, const at::Tensor& z0, Solver& solver,
                          const FixedPointOptions& options, const Eigen::ArrayXd* relative_to) {
  at::NoGradGuard no_grad;
  const int64_t batch = z0.size(0);
  const int64_t n = batch > 0 ? z0.numel() / batch : 0;
  BatchedResult result;
  result.solver = solver.name();
  const double rel_tol = std::fmax(options.rel_tol, 8 * VectorOps<at::Tensor>::epsilon(z0));
  ::implicit::internal::BatchedStopping<BatchedResult> books(result, batch, options, rel_tol,
                                                             relative_to);
  using ::implicit::internal::SampleOutput;

  at::Tensor z = z0.contiguous();  // read only: it may be the caller's
  {
    const T* p = z.data_ptr<T>();
    for (int64_t i = 0; i < batch * n; ++i)
      if (!std::isfinite(static_cast<double>(p[i])))
        throw std::invalid_argument("solve_fixed_point_batched: z0 has a NaN or Inf entry");
  }
  // Every sample's row of `frozen` is written when it stops, and every
  // sample stops (max_iter).
  at::Tensor frozen = at::empty_like(z, at::MemoryFormat::Contiguous);
  at::Tensor best_z = z.clone(at::MemoryFormat::Contiguous);  // z0: a NaN at k = 0 returns it
  at::Tensor spare;                                           // z_{k-1}, then a free buffer
  // Where each running sample's best iterate is: in best_z, or z_{k-1}.
  std::vector<char> best_is_previous(batch, 0);
  Eigen::ArrayXd residual(batch), fz_norm(batch), z_norm(batch);
  const size_t row_bytes = static_cast<size_t>(n) * sizeof(T);

  for (int k = 0;; ++k) {
    at::Tensor fz = f(z);
    ++result.function_evaluations;
    if (fz.sizes() != z.sizes())
      throw std::invalid_argument("solve_fixed_point_batched: f changed the shape of its input");
    if (fz.scalar_type() != z.scalar_type() || fz.device() != z.device() || !fz.is_contiguous())
      fz = fz.to(z.options(), /*non_blocking=*/false, /*copy=*/false, at::MemoryFormat::Contiguous);
    const T* zp = z.data_ptr<T>();
    const T* fp = fz.data_ptr<T>();
    for (int64_t b = 0; b < batch; ++b)
      if (books.running(b))
        solver.measure(zp + b * n, fp + b * n, b, n, residual[b], fz_norm[b], z_norm[b]);
    result.steps = k;

    T* best_p = best_z.data_ptr<T>();
    T* frozen_p = frozen.data_ptr<T>();
    const T* previous_p = spare.defined() ? spare.data_ptr<T>() : nullptr;
    for (int64_t b = 0; b < batch; ++b) {
      if (!books.running(b)) continue;
      const auto j = books.judge(b, k, residual[b], fz_norm[b], z_norm[b]);
      if (!j.improved && best_is_previous[b])  // z_{k-1} stays the best: keep it now
        std::memcpy(best_p + b * n, previous_p + b * n, row_bytes);
      best_is_previous[b] = j.improved;  // at k + 1, z_k is the previous iterate
      if (j.output == SampleOutput::kIterate || (j.output == SampleOutput::kBest && j.improved))
        std::memcpy(frozen_p + b * n, zp + b * n, row_bytes);
      else if (j.output == SampleOutput::kBest)
        std::memcpy(frozen_p + b * n, best_p + b * n, row_bytes);
    }
    if (books.running_count() == 0) break;

    at::Tensor next = solver.step(z, fz, spare, books.running_mask());
    // Stopped samples stay pinned to their output.
    if (books.running_count() < batch) {
      T* np = next.data_ptr<T>();
      for (int64_t b = 0; b < batch; ++b)
        if (!books.running(b)) std::memcpy(np + b * n, frozen_p + b * n, row_bytes);
    }
    fz = at::Tensor();  // (forward iteration's next iterate may be fz itself)
    spare = std::move(z);
    z = std::move(next);
  }
  result.x = frozen.view(z0.sizes());
  return result;
}

}  // namespace

bool kernel_path_applies(const at::Tensor& z0) {
  return z0.defined() && z0.is_cpu() && z0.layout() == at::kStrided && z0.dim() >= 1 &&
         (z0.scalar_type() == at::kDouble || z0.scalar_type() == at::kFloat);
}

namespace {

template <class Kernel, class Options>
BatchedResult run_kernel(const TensorFn& f, const at::Tensor& z0, const Options& solver,
                         const FixedPointOptions& stop, const Eigen::ArrayXd* relative_to) {
  const int64_t batch = z0.size(0);
  const int64_t n = z0.numel() / batch;
  if (z0.scalar_type() == at::kDouble) {
    typename Kernel::template Of<double> k(solver, batch, n);
    return kernel_loop<double>(f, z0, k, stop, relative_to);
  }
  typename Kernel::template Of<float> k(solver, batch, n);
  return kernel_loop<float>(f, z0, k, stop, relative_to);
}

struct ForwardIterationKernel {
  template <class T>
  using Of = KernelForwardIteration<T>;
};
struct AndersonKernel {
  template <class T>
  using Of = KernelAnderson<T>;
};

}  // namespace

BatchedResult solve_batched(const TensorFn& f, const at::Tensor& z0,
                            const ForwardIterationOptions& solver, const FixedPointOptions& stop,
                            const Eigen::ArrayXd* relative_to, bool allow_kernel) {
  if (!allow_kernel || !kernel_path_applies(z0))
    return solve_fixed_point_batched(f, z0, ForwardIteration(solver), stop, relative_to);
  stop.validate();
  ForwardIteration(solver).validate();
  return run_kernel<ForwardIterationKernel>(f, z0, solver, stop, relative_to);
}

BatchedResult solve_batched(const TensorFn& f, const at::Tensor& z0, const AndersonOptions& solver,
                            const FixedPointOptions& stop, const Eigen::ArrayXd* relative_to,
                            bool allow_kernel) {
  if (!allow_kernel || !kernel_path_applies(z0))
    return solve_fixed_point_batched(f, z0, Anderson(solver), stop, relative_to);
  stop.validate();
  Anderson(solver).validate();
  return run_kernel<AndersonKernel>(f, z0, solver, stop, relative_to);
}

}  // namespace implicit::torch::internal
