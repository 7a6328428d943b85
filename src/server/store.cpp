#include "store.hpp"

#include <mutex>

namespace sipcontract::detail::refserver {

std::size_t StoredEndpoint::footprint() const {
  // The strings plus a fixed overhead for the map and index nodes that hold the endpoint.
  return 256 + id.size() + username.size() + json.size();
}

Store::Store(std::size_t max_endpoints, std::size_t max_bytes)
    : max_endpoints_(max_endpoints), max_bytes_(max_bytes) {}

Store::Subscriber* Store::find_subscriber(const std::string& subscriber) const {
  std::shared_lock lock(subscribers_mutex_);
  const auto it = subscribers_.find(subscriber);
  return it == subscribers_.end() ? nullptr : it->second.get();
}

void Store::add_subscriber(const std::string& subscriber) {
  std::unique_lock lock(subscribers_mutex_);
  if (subscribers_.count(subscriber) == 0) subscribers_.emplace(subscriber, std::make_unique<Subscriber>());
}

bool Store::has_subscriber(const std::string& subscriber) const {
  return find_subscriber(subscriber) != nullptr;
}

bool Store::claim_username(const std::string& username) {
  UsernameShard& shard = usernames_[shard_of(username)];
  std::lock_guard lock(shard.mutex);
  auto [it, inserted] = shard.users.try_emplace(username, 0);
  if (!inserted) return false;
  ++it->second;
  return true;
}

void Store::release_username(const std::string& username) {
  UsernameShard& shard = usernames_[shard_of(username)];
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.users.find(username); it != shard.users.end() && --it->second == 0)
    shard.users.erase(it);
}

bool Store::reserve(std::size_t bytes) {
  // Taken first, checked after: two creates racing for the last room cannot both get it.
  const std::size_t count_before = count_.fetch_add(1);
  const std::size_t bytes_before = bytes_.fetch_add(bytes);
  if (count_before >= max_endpoints_ || bytes_before + bytes > max_bytes_) {
    unreserve(bytes);
    return false;
  }
  return true;
}

void Store::unreserve(std::size_t bytes) {
  count_.fetch_sub(1);
  bytes_.fetch_sub(bytes);
}

bool Store::Part::holds(const StoredEndpoint* endpoint) const {
  const auto it = by_sequence.find(endpoint->sequence);
  return it != by_sequence.end() && &it->second == endpoint;
}

namespace {

// The part of every subscriber the calling thread creates in: worker threads take turns, so with
// one thread per connection no two concurrent creates usually share a part's lock.
std::size_t creator_part(std::size_t parts) {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine % parts;
}

}  // namespace

CreateOutcome Store::create(const std::string& subscriber, StoredEndpoint&& endpoint) {
  Subscriber* sub = find_subscriber(subscriber);
  if (sub == nullptr) return CreateOutcome::kUnknownSubscriber;

  // The nodes that will hold the endpoint and its id are allocated and filled before any lock is
  // taken, so the exclusive sections do no copying: they link nodes in.
  const std::size_t footprint = endpoint.footprint();
  const std::size_t part_index = creator_part(kParts);
  std::map<std::uint64_t, StoredEndpoint> staging;
  auto node = staging.extract(staging.emplace(0, std::move(endpoint)).first);
  const StoredEndpoint* stored = &node.mapped();  // the address it keeps inside by_sequence
  std::unordered_map<std::string_view, Located> id_staging;
  auto id_node = id_staging.extract(id_staging.emplace(stored->id, Located{stored, part_index}).first);

  // Uniqueness is claimed before anything else can fail, so two concurrent creates of one username
  // cannot both succeed.
  if (!claim_username(stored->username)) return CreateOutcome::kDuplicateUsername;
  if (!reserve(footprint)) {
    release_username(stored->username);
    return CreateOutcome::kFull;
  }
  {
    // Indexed first, listed second: until it is listed, a lookup by id does not find it either.
    // (An id already indexed keeps its endpoint: ids are random UUIDs.)
    IdShard& shard = sub->ids[shard_of(stored->id)];
    std::unique_lock lock(shard.mutex);
    shard.endpoints.insert(std::move(id_node));
  }
  Part& part = sub->parts[part_index];
  std::unique_lock lock(part.mutex);
  // Taken under the part's lock, so a list (which holds every part's lock) never sees a sequence
  // number handed out but not yet inserted: a page cursor never skips an endpoint inserted late.
  node.key() = next_sequence_.fetch_add(1);
  node.mapped().sequence = node.key();
  part.by_sequence.insert(part.by_sequence.end(), std::move(node));  // the largest key in the part
  return CreateOutcome::kCreated;
}

std::optional<std::string> Store::get(const std::string& subscriber, const std::string& id) const {
  const Subscriber* sub = find_subscriber(subscriber);
  if (sub == nullptr) return std::nullopt;
  const IdShard& shard = sub->ids[shard_of(id)];
  std::shared_lock shard_lock(shard.mutex);
  const auto it = shard.endpoints.find(id);
  if (it == shard.endpoints.end()) return std::nullopt;
  const Part& part = sub->parts[it->second.part];
  std::shared_lock lock(part.mutex);
  if (!part.holds(it->second.endpoint)) return std::nullopt;
  return it->second.endpoint->json;
}

std::optional<Page> Store::list(const std::string& subscriber, std::uint64_t after, std::size_t limit) const {
  const Subscriber* sub = find_subscriber(subscriber);
  if (sub == nullptr) return std::nullopt;
  std::array<std::shared_lock<std::shared_mutex>, kParts> locks;
  using Iterator = std::map<std::uint64_t, StoredEndpoint>::const_iterator;
  std::array<Iterator, kParts> next;
  for (std::size_t i = 0; i < kParts; ++i) {
    locks[i] = std::shared_lock(sub->parts[i].mutex);
    next[i] = sub->parts[i].by_sequence.upper_bound(after);
  }
  // Merge the parts by sequence.
  Page page;
  std::uint64_t last = 0;  // the sequence of the last endpoint taken
  for (;;) {
    std::size_t best = kParts;
    for (std::size_t i = 0; i < kParts; ++i) {
      if (next[i] != sub->parts[i].by_sequence.end() &&
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

RemoveOutcome Store::remove(const std::string& subscriber, const std::string& id) {
  Subscriber* sub = find_subscriber(subscriber);
  if (sub == nullptr) return RemoveOutcome::kUnknownSubscriber;
  std::map<std::uint64_t, StoredEndpoint>::node_type removed;  // freed after the locks are released
  {
    IdShard& shard = sub->ids[shard_of(id)];
    std::unique_lock shard_lock(shard.mutex);
    const auto it = shard.endpoints.find(id);
    if (it == shard.endpoints.end()) return RemoveOutcome::kUnknownEndpoint;
    {
      Part& part = sub->parts[it->second.part];
      std::unique_lock lock(part.mutex);
      if (!part.holds(it->second.endpoint)) return RemoveOutcome::kUnknownEndpoint;  // still being created
      removed = part.by_sequence.extract(it->second.endpoint->sequence);
    }
    shard.endpoints.erase(it);
  }
  release_username(removed.mapped().username);
  unreserve(removed.mapped().footprint());
  return RemoveOutcome::kRemoved;
}

std::size_t Store::size() const { return count_.load(); }

}  // namespace sipcontract::detail::refserver
