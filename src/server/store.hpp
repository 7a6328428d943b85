// The reference server's in-memory store of SIP endpoints, per subscriber, safe for many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace sipcontract::detail::refserver {

/// One stored SIP endpoint: the fields of the SipEndpoint schema (never a password).
struct Endpoint {
  std::string id;
  std::string username;
  std::string caller_id;
  std::string send_as;
  std::vector<std::string> ciphers;
  std::vector<std::string> codecs;
  std::string encryption;
  std::string call_handler;
  std::string calling_handler_resource_id;
  std::uint64_t sequence = 0;  ///< creation order, for stable pagination

  /// Roughly how many bytes the endpoint occupies, for the store's byte budget.
  std::size_t footprint() const;
};

/// What a create did.
enum class CreateOutcome { kCreated, kUnknownSubscriber, kDuplicateUsername, kFull };

/// What a delete did.
enum class RemoveOutcome { kRemoved, kUnknownSubscriber, kUnknownEndpoint };

/// One page of a subscriber's endpoints, in creation order.
struct Page {
  std::vector<Endpoint> items;
  std::optional<std::uint64_t> next_after;  ///< the cursor of the next page, when there is one
};

/// Subscribers and their endpoints. Usernames are unique within the whole store (the project),
/// compared byte for byte. Every operation is atomic: a reader never sees half a create or delete.
class Store {
 public:
  /// Limits on what the store may hold; a create past either is refused (kFull).
  Store(std::size_t max_endpoints, std::size_t max_bytes);

  /// Adds a subscriber (a normalised UUID); adding one twice is harmless.
  void add_subscriber(const std::string& subscriber);
  bool has_subscriber(const std::string& subscriber) const;

  /// Stores `endpoint` under `subscriber`, assigning its sequence. With `unique_usernames` false a
  /// username already in use is accepted (a fault mode); with `create_subscriber` an unknown
  /// subscriber is added first (a fault mode).
  CreateOutcome create(const std::string& subscriber, Endpoint& endpoint, bool unique_usernames,
                       bool create_subscriber);
  /// The endpoint `id` of `subscriber`, if both exist.
  std::optional<Endpoint> get(const std::string& subscriber, const std::string& id) const;
  /// Up to `limit` endpoints created after cursor `after` (0: from the first); nullopt when the
  /// subscriber is unknown.
  std::optional<Page> list(const std::string& subscriber, std::uint64_t after, std::size_t limit) const;
  /// Deletes endpoint `id` of `subscriber` and frees its username.
  RemoveOutcome remove(const std::string& subscriber, const std::string& id);
  /// Endpoints held, all subscribers together.
  std::size_t size() const;

 private:
  struct Subscriber {
    std::map<std::uint64_t, Endpoint> by_sequence;
    std::unordered_map<std::string, std::uint64_t> sequence_of;  // id -> sequence
  };

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Subscriber> subscribers_;
  std::unordered_map<std::string, std::size_t> usernames_;  // username -> endpoints using it
  std::size_t max_endpoints_;
  std::size_t max_bytes_;
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
  std::uint64_t next_sequence_ = 1;
};

}  // namespace sipcontract::detail::refserver
