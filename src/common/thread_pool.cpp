#include "sipcontract/thread_pool.hpp"

#include <algorithm>
#include <exception>

namespace sipcontract {

ThreadPool::ThreadPool(std::size_t threads) : size_(std::max<std::size_t>(1, threads)) {
  threads_.reserve(size_);
  for (std::size_t i = 0; i < size_; ++i) threads_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() { shutdown(); }

void ThreadPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(task));
    update_pressure();
  }
  has_work_.notify_one();
}

void ThreadPool::run(std::size_t n, const std::function<void(std::size_t)>& fn) {
  n = std::min(n, size_);
  if (n == 0) return;
  struct Phase {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t running = 0;
    std::exception_ptr error;
  } phase;
  phase.running = n;
  for (std::size_t w = 0; w < n; ++w) {
    post([&phase, &fn, w] {
      std::exception_ptr error;
      try {
        fn(w);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(phase.mutex);
      if (error && !phase.error) phase.error = error;
      if (--phase.running == 0) phase.done.notify_one();
    });
  }
  std::unique_lock lock(phase.mutex);
  phase.done.wait(lock, [&phase] { return phase.running == 0; });
  if (phase.error) std::rethrow_exception(phase.error);
}

void ThreadPool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  has_work_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void ThreadPool::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      ++idle_;
      update_pressure();
      has_work_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      --idle_;
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      update_pressure();
    }
    task();
  }
}

}  // namespace sipcontract
