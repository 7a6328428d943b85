// The one thread pool: a fixed set of threads taking tasks from one FIFO queue. The runner runs its
// phases on it (run()), the server's transport hands it the connections its poller finds ready
// (post(), busy()), and `validate --ndjson` checks its batches on it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sipcontract {

class ThreadPool {
 public:
  /// Starts `threads` threads (at least one).
  explicit ThreadPool(std::size_t threads);
  /// shutdown().
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Queues `task`; never waits. A task must not throw (std::terminate if it does).
  void post(std::function<void()> task);

  /// Runs fn(0) .. fn(k - 1), k = min(n, size()), on the pool and returns when all have returned;
  /// rethrows the first exception one of them threw. The calls run concurrently when the pool is
  /// otherwise idle, so fn(w) may own a per-worker resource w; they must not wait for each other
  /// (a worker may run two of them in turn). Not to be called from a task of this pool.
  void run(std::size_t n, const std::function<void(std::size_t)>& fn);

  /// Whether tasks wait that no idle thread is about to take (read without a lock: a hint). A
  /// task that could hand work back to the queue, or keep it, asks this before giving it up.
  bool busy() const { return pressure_.load(std::memory_order_relaxed); }

  /// Runs every task already queued, then joins the threads; post() after it is not allowed.
  /// Idempotent.
  void shutdown();

  std::size_t size() const { return size_; }

 private:
  void work();
  void update_pressure() { pressure_.store(queue_.size() > idle_, std::memory_order_relaxed); }

  std::size_t size_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable has_work_;
  std::deque<std::function<void()>> queue_;
  std::size_t idle_ = 0;  // threads waiting for a task
  std::atomic<bool> pressure_{false};
  bool stopping_ = false;
};

}  // namespace sipcontract
