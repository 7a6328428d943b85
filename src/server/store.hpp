// The reference server's in-memory store of SIP endpoints, per subscriber, safe for many threads.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sipcontract::detail::refserver {

/// One stored SIP endpoint: its id and username, and the SipEndpoint JSON every answer about it
/// sends (never a password), kept as text so that a get or a list copies it instead of writing it
/// again, and an endpoint takes one allocation for all its fields.
struct StoredEndpoint {
  std::string id;
  std::string username;
  std::string json;
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
  std::vector<std::string> items;           ///< each endpoint's JSON
  std::optional<std::uint64_t> next_after;  ///< the cursor of the next page, when there is one
};

/// Subscribers and their endpoints. Usernames are unique within the whole store (the project),
/// compared byte for byte. A reader never sees half a create or delete: an endpoint is listed
/// exactly when it can be got by its id.
///
/// Locking, for many threads creating at once (the reference server under load, where all creates
/// may go to one subscriber and the machine may be busy with other work): a lock that every create
/// takes turns into a queue of blocked threads whenever its holder is preempted, so none is
/// shared by all creates. Every request looks its subscriber up, so the table of subscribers has
/// its own lock, taken exclusively only to add one. Usernames are split over kShards locks by
/// hash, and the limits are atomic counters. Each subscriber's endpoints are split into kParts
/// parts, one per creating thread (round robin), each with its own lock and in sequence order; a
/// list locks every part and merges them, so it sees every create either whole or not at all.
/// The id index is split over kShards hash tables with a lock each, so no lock is held for a long
/// rehash however many endpoints there are. Lock order: an id shard, then parts by index.
class Store {
 public:
  /// Limits on what the store may hold; a create past either is refused (kFull). Near the limits,
  /// creates racing each other may be refused slightly early, never let past them.
  Store(std::size_t max_endpoints, std::size_t max_bytes);

  /// Adds a subscriber (a normalised UUID); adding one twice is harmless.
  void add_subscriber(const std::string& subscriber);
  bool has_subscriber(const std::string& subscriber) const;

  /// Stores `endpoint` (moved in) under `subscriber`, assigning its sequence, unless its username
  /// is in use or the limits are reached.
  CreateOutcome create(const std::string& subscriber, StoredEndpoint&& endpoint);
  /// The JSON of endpoint `id` of `subscriber`, if both exist.
  std::optional<std::string> get(const std::string& subscriber, const std::string& id) const;
  /// Up to `limit` endpoints created after cursor `after` (0: from the first); nullopt when the
  /// subscriber is unknown.
  std::optional<Page> list(const std::string& subscriber, std::uint64_t after, std::size_t limit) const;
  /// Deletes endpoint `id` of `subscriber` and frees its username.
  RemoveOutcome remove(const std::string& subscriber, const std::string& id);
  /// Endpoints held, all subscribers together.
  std::size_t size() const;

 private:
  static constexpr std::size_t kShards = 64;

  static constexpr std::size_t kParts = 16;

  struct Located {
    const StoredEndpoint* endpoint;  // where it lives in its part's by_sequence (map nodes do not move)
    std::size_t part;
  };

  struct IdShard {
    mutable std::shared_mutex mutex;
    // id (a view of the stored endpoint's own id) -> where the endpoint is. An entry whose endpoint
    // is not (or no longer) in its part belongs to a create or delete in progress and is not found.
    std::unordered_map<std::string_view, Located> endpoints;
  };

  struct Part {
    mutable std::shared_mutex mutex;
    std::map<std::uint64_t, StoredEndpoint> by_sequence;

    /// Whether `endpoint` is in by_sequence; call with `mutex` held.
    bool holds(const StoredEndpoint* endpoint) const;
  };

  struct Subscriber {
    std::array<Part, kParts> parts;
    std::array<IdShard, kShards> ids;
  };

  struct UsernameShard {
    std::mutex mutex;
    std::unordered_map<std::string, std::size_t> users;  // username -> endpoints using it (one)
  };

  /// The subscriber named `subscriber`, or nullptr. Subscribers are never removed, so the pointer
  /// stays valid.
  Subscriber* find_subscriber(const std::string& subscriber) const;
  static std::size_t shard_of(const std::string& key) { return std::hash<std::string>{}(key) % kShards; }
  /// Takes `username`; false when it is in use.
  bool claim_username(const std::string& username);
  void release_username(const std::string& username);
  /// Takes room for one endpoint of `bytes` within the limits; false when there is none.
  bool reserve(std::size_t bytes);
  void unreserve(std::size_t bytes);

  mutable std::shared_mutex subscribers_mutex_;
  std::unordered_map<std::string, std::unique_ptr<Subscriber>> subscribers_;
  std::array<UsernameShard, kShards> usernames_;
  std::size_t max_endpoints_;
  std::size_t max_bytes_;
  std::atomic<std::size_t> count_{0};
  std::atomic<std::size_t> bytes_{0};
  std::atomic<std::uint64_t> next_sequence_{1};
};

}  // namespace sipcontract::detail::refserver
