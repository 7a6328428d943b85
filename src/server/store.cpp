#include "store.hpp"

#include <mutex>

namespace sipcontract::detail::refserver {

std::size_t Endpoint::footprint() const {
  // Strings and vector slots plus a fixed overhead for the map nodes that index the endpoint.
  std::size_t n = 256 + id.size() + username.size() + caller_id.size() + send_as.size() + encryption.size() +
                  call_handler.size() + calling_handler_resource_id.size();
  for (const auto& c : ciphers) n += c.size() + sizeof(std::string);
  for (const auto& c : codecs) n += c.size() + sizeof(std::string);
  return n;
}

Store::Store(std::size_t max_endpoints, std::size_t max_bytes)
    : max_endpoints_(max_endpoints), max_bytes_(max_bytes) {}

void Store::add_subscriber(const std::string& subscriber) {
  std::unique_lock lock(mutex_);
  subscribers_.try_emplace(subscriber);
}

bool Store::has_subscriber(const std::string& subscriber) const {
  std::shared_lock lock(mutex_);
  return subscribers_.count(subscriber) != 0;
}

CreateOutcome Store::create(const std::string& subscriber, Endpoint& endpoint, bool unique_usernames,
                            bool create_subscriber) {
  const std::size_t footprint = endpoint.footprint();
  std::unique_lock lock(mutex_);
  auto it = subscribers_.find(subscriber);
  if (it == subscribers_.end()) {
    if (!create_subscriber) return CreateOutcome::kUnknownSubscriber;
  }
  // The uniqueness check and the insertion happen under one exclusive lock, so two concurrent
  // creates of one username cannot both succeed.
  if (unique_usernames && usernames_.count(endpoint.username) != 0) return CreateOutcome::kDuplicateUsername;
  if (count_ >= max_endpoints_ || bytes_ + footprint > max_bytes_) return CreateOutcome::kFull;
  if (it == subscribers_.end()) it = subscribers_.try_emplace(subscriber).first;
  endpoint.sequence = next_sequence_++;
  it->second.sequence_of.emplace(endpoint.id, endpoint.sequence);
  it->second.by_sequence.emplace(endpoint.sequence, endpoint);
  ++usernames_[endpoint.username];
  ++count_;
  bytes_ += footprint;
  return CreateOutcome::kCreated;
}

std::optional<Endpoint> Store::get(const std::string& subscriber, const std::string& id) const {
  std::shared_lock lock(mutex_);
  const auto sub = subscribers_.find(subscriber);
  if (sub == subscribers_.end()) return std::nullopt;
  const auto seq = sub->second.sequence_of.find(id);
  if (seq == sub->second.sequence_of.end()) return std::nullopt;
  return sub->second.by_sequence.at(seq->second);
}

std::optional<Page> Store::list(const std::string& subscriber, std::uint64_t after, std::size_t limit) const {
  std::shared_lock lock(mutex_);
  const auto sub = subscribers_.find(subscriber);
  if (sub == subscribers_.end()) return std::nullopt;
  Page page;
  auto it = sub->second.by_sequence.upper_bound(after);
  for (; it != sub->second.by_sequence.end() && page.items.size() < limit; ++it)
    page.items.push_back(it->second);
  if (it != sub->second.by_sequence.end() && !page.items.empty())
    page.next_after = page.items.back().sequence;
  return page;
}

RemoveOutcome Store::remove(const std::string& subscriber, const std::string& id) {
  std::unique_lock lock(mutex_);
  const auto sub = subscribers_.find(subscriber);
  if (sub == subscribers_.end()) return RemoveOutcome::kUnknownSubscriber;
  const auto seq = sub->second.sequence_of.find(id);
  if (seq == sub->second.sequence_of.end()) return RemoveOutcome::kUnknownEndpoint;
  const auto node = sub->second.by_sequence.find(seq->second);
  const Endpoint& endpoint = node->second;
  if (auto user = usernames_.find(endpoint.username); user != usernames_.end() && --user->second == 0) {
    usernames_.erase(user);
  }
  bytes_ -= endpoint.footprint();
  --count_;
  sub->second.by_sequence.erase(node);
  sub->second.sequence_of.erase(seq);
  return RemoveOutcome::kRemoved;
}

std::size_t Store::size() const {
  std::shared_lock lock(mutex_);
  return count_;
}

}  // namespace sipcontract::detail::refserver
