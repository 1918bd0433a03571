// Route id -> metrics slot: how per-route counters follow a route across
// `updateRoutes`.
//
// A route is identified by its id (its name, else "#<position>", see
// route_id()). When the control thread publishes a new route table it calls
// assign() with the table's ids, in position order, and stores the returned
// slots beside the table in the same snapshot; a worker that matches route
// i reports to slots[i]. An id keeps its slot for the life of the registry,
// so a route that keeps its name keeps its counters, and a connection that
// outlives its route (it keeps the route it matched) still reports to a slot
// that means the same route. Slots are never reused: there is no moment at
// which the control thread could know that no worker still holds an old
// table.
//
// Bounded: at most `capacity` distinct ids (default 4096) over the
// registry's life. Ids beyond that share overflow_slot(), reported as the
// route "(other)", and are counted in overflowed_ids(). Positional ids
// ("#3") are reused by position, so only tables that keep inventing new
// route names can get there. Two routes with the same id share a slot.
//
// Thread-safety: not thread-safe; the control thread owns it (assign and all
// reads). Workers only ever see slot numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace basalt::proxy {

using RouteSlot = std::uint32_t;

class RouteRegistry {
 public:
  static constexpr std::size_t kDefaultCapacity = 4096;
  static constexpr std::string_view kOverflowId = "(other)";

  explicit RouteRegistry(std::size_t capacity = kDefaultCapacity);

  // The slots of a new table's routes, by position; the ids become the
  // current ones. Never throws but std::bad_alloc.
  std::vector<RouteSlot> assign(std::span<const std::string> ids);

  std::size_t capacity() const noexcept { return capacity_; }
  RouteSlot overflow_slot() const noexcept { return static_cast<RouteSlot>(capacity_); }

  struct Entry {
    std::string id;
    bool current = false;  // in the table given to the last assign()
  };
  // Every id ever assigned, indexed by slot (slot < entries().size()).
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  // Ids that got overflow_slot() because the registry was full (counted
  // once per assign() that named them).
  std::uint64_t overflowed_ids() const noexcept { return overflowed_ids_; }
  // The last assign() had ids that got overflow_slot().
  bool overflow_current() const noexcept { return overflow_current_; }

 private:
  std::size_t capacity_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, RouteSlot> slots_;
  std::uint64_t overflowed_ids_ = 0;
  bool overflow_current_ = false;
};

}  // namespace basalt::proxy
