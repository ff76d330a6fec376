// SPDX-License-Identifier: BSD-3-Clause
// Minimal deterministic fork-join over an index range with std::thread (no OpenMP dependency):
// the range is cut into one contiguous block per thread, so results never depend on scheduling.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace rigpose::internal {

// requested <= 0 -> hardware concurrency (at least 1).
inline int ResolveNumThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware == 0 ? 1 : static_cast<int>(hardware);
}

// Calls fn(thread_index, begin, end) on disjoint blocks covering [0, n). Blocks of fewer than
// min_items_per_thread items are not worth a thread. The first exception thrown by a worker is
// rethrown after every worker has joined.
template <typename Fn>
void ParallelFor(int64_t n, int num_threads, Fn&& fn, int64_t min_items_per_thread = 64) {
  if (n <= 0) return;
  const int64_t max_useful = std::max<int64_t>(1, n / std::max<int64_t>(1, min_items_per_thread));
  const int threads =
      static_cast<int>(std::min<int64_t>(ResolveNumThreads(num_threads), max_useful));
  if (threads == 1) {
    fn(0, int64_t{0}, n);
    return;
  }
  std::vector<std::thread> workers;
  std::vector<std::exception_ptr> errors(threads);
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    const int64_t begin = n * t / threads;
    const int64_t end = n * (t + 1) / threads;
    workers.emplace_back([&fn, &errors, t, begin, end] {
      try {
        fn(t, begin, end);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace rigpose::internal
