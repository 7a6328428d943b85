#include "store.hpp"

#include <mutex>

namespace sipcontract::detail::refserver {

std::size_t StoredItem::footprint() const {
  // The strings plus a fixed overhead for the map and index nodes that hold the item.
  std::size_t bytes = 256 + id.size() + json.size();
  for (const auto& key : keys) bytes += key.size();
  return bytes;
}

Store::Store(std::size_t max_items, std::size_t max_bytes) : max_items_(max_items), max_bytes_(max_bytes) {}

Store::Parent* Store::find_parent(const std::string& parent) const {
  std::shared_lock lock(parents_mutex_);
  const auto it = parents_.find(parent);
  return it == parents_.end() ? nullptr : it->second.get();
}

void Store::add_parent(const std::string& parent) {
  std::unique_lock lock(parents_mutex_);
  if (parents_.count(parent) == 0) parents_.emplace(parent, std::make_unique<Parent>());
}

bool Store::has_parent(const std::string& parent) const { return find_parent(parent) != nullptr; }

bool Store::claim(const std::string& key) {
  if (key.empty()) return true;
  KeyShard& shard = keys_[shard_of(key)];
  std::lock_guard lock(shard.mutex);
  auto [it, inserted] = shard.keys.try_emplace(key, 0);
  if (!inserted) return false;
  ++it->second;
  return true;
}

void Store::release(const std::string& key) {
  if (key.empty()) return;
  KeyShard& shard = keys_[shard_of(key)];
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.keys.find(key); it != shard.keys.end() && --it->second == 0) shard.keys.erase(it);
}

std::optional<std::size_t> Store::claim_all(const std::vector<std::string>& keys,
                                            const std::vector<std::string>& held) {
  const auto holds = [&](std::size_t i) { return i < held.size() && held[i] == keys[i]; };
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (holds(i) || claim(keys[i])) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (!holds(j)) release(keys[j]);
    }
    return i;
  }
  return std::nullopt;
}

bool Store::reserve(std::size_t bytes) {
  // Taken first, checked after: two creates racing for the last room cannot both get it.
  const std::size_t count_before = count_.fetch_add(1);
  const std::size_t bytes_before = bytes_.fetch_add(bytes);
  if (count_before >= max_items_ || bytes_before + bytes > max_bytes_) {
    unreserve(bytes);
    return false;
  }
  return true;
}

void Store::unreserve(std::size_t bytes) {
  count_.fetch_sub(1);
  bytes_.fetch_sub(bytes);
}

bool Store::Part::holds(const StoredItem* item) const {
  const auto it = by_sequence.find(item->sequence);
  return it != by_sequence.end() && &it->second == item;
}

namespace {

// The part of every parent the calling thread creates in: worker threads take turns, so with one
// thread per connection no two concurrent creates usually share a part's lock.
std::size_t creator_part(std::size_t parts) {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine % parts;
}

}  // namespace

Written Store::create(const std::string& parent, StoredItem&& item) {
  Parent* owner = find_parent(parent);
  if (owner == nullptr) return {Outcome::kUnknownParent};

  // The nodes that will hold the item and its id are allocated and filled before any lock is
  // taken, so the exclusive sections do no copying: they link nodes in.
  const std::size_t footprint = item.footprint();
  const std::size_t part_index = creator_part(kParts);
  std::map<std::uint64_t, StoredItem> staging;
  auto node = staging.extract(staging.emplace(0, std::move(item)).first);
  StoredItem* stored = &node.mapped();  // the address it keeps inside by_sequence
  std::unordered_map<std::string_view, Located> id_staging;
  auto id_node = id_staging.extract(id_staging.emplace(stored->id, Located{stored, part_index}).first);

  // Uniqueness is claimed before anything else can fail, so two concurrent creates of one key
  // cannot both succeed.
  if (auto repeat = claim_all(stored->keys)) return {Outcome::kDuplicate, *repeat};
  if (!reserve(footprint)) {
    for (const auto& key : stored->keys) release(key);
    return {Outcome::kFull};
  }
  {
    // Indexed first, listed second: until it is listed, a lookup by id does not find it either.
    // (An id already indexed keeps its item: ids are random UUIDs.)
    IdShard& shard = owner->ids[shard_of(stored->id)];
    std::unique_lock lock(shard.mutex);
    shard.items.insert(std::move(id_node));
  }
  Part& part = owner->parts[part_index];
  std::unique_lock lock(part.mutex);
  // Taken under the part's lock, so a list (which holds every part's lock) never sees a sequence
  // number handed out but not yet inserted: a page cursor never skips an item inserted late.
  node.key() = next_sequence_.fetch_add(1);
  node.mapped().sequence = node.key();
  part.by_sequence.insert(part.by_sequence.end(), std::move(node));  // the largest key in the part
  return {Outcome::kDone};
}

std::optional<std::string> Store::get(const std::string& parent, const std::string& id) const {
  const Parent* owner = find_parent(parent);
  if (owner == nullptr) return std::nullopt;
  const IdShard& shard = owner->ids[shard_of(id)];
  std::shared_lock shard_lock(shard.mutex);
  const auto it = shard.items.find(id);
  if (it == shard.items.end()) return std::nullopt;
  const Part& part = owner->parts[it->second.part];
  std::shared_lock lock(part.mutex);
  if (!part.holds(it->second.item)) return std::nullopt;
  return it->second.item->json;
}

Written Store::update(const std::string& parent, const std::string& id, const Change& change) {
  Parent* owner = find_parent(parent);
  if (owner == nullptr) return {Outcome::kUnknownParent};
  // The id shard stays locked throughout: no delete or other update of the item can interleave.
  IdShard& shard = owner->ids[shard_of(id)];
  std::unique_lock shard_lock(shard.mutex);
  const auto it = shard.items.find(id);
  if (it == shard.items.end()) return {Outcome::kUnknownItem};
  StoredItem* item = it->second.item;
  Part& part = owner->parts[it->second.part];
  {
    std::shared_lock lock(part.mutex);
    if (!part.holds(item)) return {Outcome::kUnknownItem};  // still being created
  }
  // Only holders of the id shard write an item, so reading it needs no part lock here.
  StoredItem next;
  change(item->json, next.json, next.keys);
  if (auto repeat = claim_all(next.keys, item->keys)) return {Outcome::kDuplicate, *repeat};
  const std::size_t before = item->footprint();
  next.id = item->id;
  const std::size_t after = next.footprint();
  if (after > before) {
    const std::size_t grown = after - before;
    if (bytes_.fetch_add(grown) + grown > max_bytes_) {
      bytes_.fetch_sub(grown);
      for (std::size_t i = 0; i < next.keys.size(); ++i) {
        if (i >= item->keys.size() || item->keys[i] != next.keys[i]) release(next.keys[i]);
      }
      return {Outcome::kFull};
    }
  } else {
    bytes_.fetch_sub(before - after);
  }
  Written done{Outcome::kDone, 0, next.json};
  {
    std::unique_lock lock(part.mutex);
    std::swap(item->json, next.json);
    std::swap(item->keys, next.keys);
  }
  // `next` holds the old keys now: free those the item no longer holds.
  for (std::size_t i = 0; i < next.keys.size(); ++i) {
    if (i >= item->keys.size() || item->keys[i] != next.keys[i]) release(next.keys[i]);
  }
  return done;
}

std::optional<Page> Store::list(const std::string& parent, std::uint64_t after, std::size_t limit) const {
  const Parent* owner = find_parent(parent);
  if (owner == nullptr) return std::nullopt;
  std::array<std::shared_lock<std::shared_mutex>, kParts> locks;
  using Iterator = std::map<std::uint64_t, StoredItem>::const_iterator;
  std::array<Iterator, kParts> next;
  for (std::size_t i = 0; i < kParts; ++i) {
    locks[i] = std::shared_lock(owner->parts[i].mutex);
    next[i] = owner->parts[i].by_sequence.upper_bound(after);
  }
  // Merge the parts by sequence.
  Page page;
  std::uint64_t last = 0;  // the sequence of the last item taken
  for (;;) {
    std::size_t best = kParts;
    for (std::size_t i = 0; i < kParts; ++i) {
      if (next[i] != owner->parts[i].by_sequence.end() &&
          (best == kParts || next[i]->first < next[best]->first))
        best = i;
    }
    if (best == kParts) break;  // nothing more
    if (page.items.size() == limit) {
      if (!page.items.empty()) page.next_after = last;
      break;
    }
    page.items.push_back(next[best]->second.json);
    last = next[best]->first;
    ++next[best];
  }
  return page;
}

Outcome Store::remove(const std::string& parent, const std::string& id) {
  Parent* owner = find_parent(parent);
  if (owner == nullptr) return Outcome::kUnknownParent;
  std::map<std::uint64_t, StoredItem>::node_type removed;  // freed after the locks are released
  {
    IdShard& shard = owner->ids[shard_of(id)];
    std::unique_lock shard_lock(shard.mutex);
    const auto it = shard.items.find(id);
    if (it == shard.items.end()) return Outcome::kUnknownItem;
    {
      Part& part = owner->parts[it->second.part];
      std::unique_lock lock(part.mutex);
      if (!part.holds(it->second.item)) return Outcome::kUnknownItem;  // still being created
      removed = part.by_sequence.extract(it->second.item->sequence);
    }
    shard.items.erase(it);
  }
  for (const auto& key : removed.mapped().keys) release(key);
  unreserve(removed.mapped().footprint());
  return Outcome::kDone;
}

std::size_t Store::size() const { return count_.load(); }

}  // namespace sipcontract::detail::refserver
