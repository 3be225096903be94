// The line pass of src/infra/identities/resolve.ts for batches where key k of
// every group is on line k; see resolve_lines.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace audiencehub {

/** A user column: chunks of 2^18 user ids, indexed by key id. */
using Column = std::vector<uint32_t*>;

struct LinePass {
  uint64_t matched = 0;
  uint64_t added = 0;
  uint64_t unmatched = 0;
  uint64_t conflicts = 0;
};

/**
 * Resolves lines [from, to). `ids[g][line]` is the key id of line `line` in
 * group g (ABSENT: not in the table). Open mode links unlinked keys; a line
 * without a user gets `base + added` when `allocate` is set, and otherwise
 * stops the pass, which returns that line. Returns `to` when it finished.
 */
uint32_t resolveIdentityLines(const std::vector<const uint32_t*>& ids, const std::vector<Column>& columns, uint32_t* users, uint32_t from, uint32_t to,
                              bool open, bool allocate, uint32_t base, LinePass& pass);

}  // namespace audiencehub
