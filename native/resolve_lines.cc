// The rules are resolve.ts's (a line's user is its first key's that has one;
// a line with none gets a new user in open mode, and its keys without a user
// are linked to the line's user; two users on one line is a conflict, the
// first kept). This is the same pass for the common batch shape, with the
// column reads of line + DISTANCE prefetched: in a file whose keys are known
// but in another order than they were added, every read is a cache miss.
#include "resolve_lines.h"

namespace audiencehub {
namespace {

constexpr uint32_t NO_USER = 0xffffffffu;
constexpr uint32_t ABSENT = 0xffffffffu;
constexpr uint32_t CHUNK_SHIFT = 18;
constexpr uint32_t CHUNK_MASK = (1u << CHUNK_SHIFT) - 1;
constexpr uint32_t DISTANCE = 16;

inline uint32_t* cell(const Column& c, uint32_t id) { return c[id >> CHUNK_SHIFT] + (id & CHUNK_MASK); }

}  // namespace

uint32_t resolveIdentityLines(const std::vector<const uint32_t*>& ids, const std::vector<Column>& columns, uint32_t* users, uint32_t from, uint32_t to,
                              bool open, bool allocate, uint32_t base, LinePass& pass) {
  const size_t G = ids.size();
  for (uint32_t line = from; line < to; line++) {
    if (line + DISTANCE < to) {
      for (size_t g = 0; g < G; g++) {
        const uint32_t id = ids[g][line + DISTANCE];
        if (id != ABSENT) __builtin_prefetch(cell(columns[g], id), 1, 3);
      }
    }
    uint32_t user = NO_USER;
    bool conflict = false;
    bool unlinked = false;
    for (size_t g = 0; g < G; g++) {
      const uint32_t id = ids[g][line];
      if (id == ABSENT) continue;
      const uint32_t u = *cell(columns[g], id);
      if (u == NO_USER) unlinked = true;
      else if (user == NO_USER) user = u;
      else if (u != user) conflict = true;
    }
    if (user != NO_USER) {
      pass.matched++;
    } else if (open) {
      if (!allocate) return line;
      user = base + static_cast<uint32_t>(pass.added);
      pass.added++;
    } else {
      pass.unmatched++;
    }
    if (conflict) pass.conflicts++;
    if (unlinked && open) {
      for (size_t g = 0; g < G; g++) {
        uint32_t* c = cell(columns[g], ids[g][line]);
        if (*c == NO_USER) *c = user;
      }
    }
    users[line] = user;
  }
  return to;
}

}  // namespace audiencehub
