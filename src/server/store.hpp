// The reference server's in-memory store of items, per parent, safe for many threads.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
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

/// One stored item: its id, the keys it holds under the resource's unique rules (Model::unique_keys;
/// "" where it holds none), and the JSON every answer about it sends (never a secret), kept as text
/// so that a get or a list copies it instead of writing it again.
struct StoredItem {
  std::string id;
  std::vector<std::string> keys;
  std::string json;
  std::uint64_t sequence = 0;  ///< creation order, for stable pagination

  /// Roughly how many bytes the item occupies, for the store's byte budget.
  std::size_t footprint() const;
};

/// What a create, an update or a delete did.
enum class Outcome { kDone, kUnknownParent, kUnknownItem, kDuplicate, kFull };

/// What a create or an update did; for kDuplicate, the unique rule (index) the item would break.
struct Written {
  Outcome outcome = Outcome::kDone;
  std::size_t rule = 0;
  std::string json{};  ///< an update's new JSON
};

/// Makes an item's new JSON and keys from its current JSON (an update).
using Change =
    std::function<void(const std::string& current, std::string& json, std::vector<std::string>& keys)>;

/// One page of a parent's items, in creation order.
struct Page {
  std::vector<std::string> items;           ///< each item's JSON
  std::optional<std::uint64_t> next_after;  ///< the cursor of the next page, when there is one
};

/// Parents and their items. The keys of the unique rules are unique within the whole store (a
/// key carries its parent when its rule holds within one), compared byte for byte. A reader never
/// sees half a create, update or delete: an item is listed exactly when it can be got by its id.
///
/// Locking, for many threads creating at once (the reference server under load, where all creates
/// may go to one parent and the machine may be busy with other work): a lock that every create
/// takes turns into a queue of blocked threads whenever its holder is preempted, so none is
/// shared by all creates. Every request looks its parent up, so the table of parents has its own
/// lock, taken exclusively only to add one. Unique keys are split over kShards locks by hash, and
/// the limits are atomic counters. Each parent's items are split into kParts parts, one per
/// creating thread (round robin), each with its own lock and in sequence order; a list locks every
/// part and merges them, so it sees every create either whole or not at all. The id index is split
/// over kShards hash tables with a lock each, so no lock is held for a long rehash however many
/// items there are. Lock order: an id shard, then parts by index, then key shards (an update holds
/// its id shard while it claims keys; a create claims keys holding nothing).
class Store {
 public:
  /// Limits on what the store may hold; a create past either is refused (kFull). Near the limits,
  /// creates racing each other may be refused slightly early, never let past them.
  Store(std::size_t max_items, std::size_t max_bytes);

  /// Adds a parent (normalised); adding one twice is harmless.
  void add_parent(const std::string& parent);
  bool has_parent(const std::string& parent) const;

  /// Stores `item` (moved in) under `parent`, assigning its sequence, unless one of its keys is
  /// held (kDuplicate, naming the rule) or the limits are reached.
  Written create(const std::string& parent, StoredItem&& item);
  /// The JSON of item `id` of `parent`, if both exist.
  std::optional<std::string> get(const std::string& parent, const std::string& id) const;
  /// Replaces item `id` of `parent` with what `change` makes of its JSON, unless one of the new
  /// keys is held by another item (kDuplicate) or the bytes would pass the limit. Updates of one
  /// item take turns, so none is lost.
  Written update(const std::string& parent, const std::string& id, const Change& change);
  /// Up to `limit` items created after cursor `after` (0: from the first); nullopt when the parent
  /// is unknown.
  std::optional<Page> list(const std::string& parent, std::uint64_t after, std::size_t limit) const;
  /// Deletes item `id` of `parent` and frees its keys.
  Outcome remove(const std::string& parent, const std::string& id);
  /// Items held, all parents together.
  std::size_t size() const;

 private:
  static constexpr std::size_t kShards = 64;

  static constexpr std::size_t kParts = 16;

  struct Located {
    StoredItem* item;  // where it lives in its part's by_sequence (map nodes do not move)
    std::size_t part;
  };

  struct IdShard {
    mutable std::shared_mutex mutex;
    // id (a view of the stored item's own id) -> where the item is. An entry whose item is not (or
    // no longer) in its part belongs to a create or delete in progress and is not found.
    std::unordered_map<std::string_view, Located> items;
  };

  struct Part {
    mutable std::shared_mutex mutex;
    std::map<std::uint64_t, StoredItem> by_sequence;

    /// Whether `item` is in by_sequence; call with `mutex` held.
    bool holds(const StoredItem* item) const;
  };

  struct Parent {
    std::array<Part, kParts> parts;
    std::array<IdShard, kShards> ids;
  };

  struct KeyShard {
    std::mutex mutex;
    std::unordered_map<std::string, std::size_t> keys;  // key -> items holding it (one)
  };

  /// The parent named `parent`, or nullptr. Parents are never removed, so the pointer stays valid.
  Parent* find_parent(const std::string& parent) const;
  static std::size_t shard_of(const std::string& key) { return std::hash<std::string>{}(key) % kShards; }
  /// Takes `key` ("" is no key: always granted); false when it is held.
  bool claim(const std::string& key);
  void release(const std::string& key);
  /// Takes every key of `keys` that `held` (same length, or empty) does not hold already; on a
  /// repeat, releases what it took and returns the index of the key held elsewhere.
  std::optional<std::size_t> claim_all(const std::vector<std::string>& keys,
                                       const std::vector<std::string>& held = {});
  /// Takes room for one item of `bytes` within the limits; false when there is none.
  bool reserve(std::size_t bytes);
  void unreserve(std::size_t bytes);

  mutable std::shared_mutex parents_mutex_;
  std::unordered_map<std::string, std::unique_ptr<Parent>> parents_;
  std::array<KeyShard, kShards> keys_;
  std::size_t max_items_;
  std::size_t max_bytes_;
  std::atomic<std::size_t> count_{0};
  std::atomic<std::size_t> bytes_{0};
  std::atomic<std::uint64_t> next_sequence_{1};
};

}  // namespace sipcontract::detail::refserver
