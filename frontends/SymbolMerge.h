//===- SymbolMerge.h - merge adjacent symbols by priority ------*- C++ -*-===//
//
// The merge loop both BPE flavours share: repeatedly merge the adjacent pair
// with the best priority (lowest value; leftmost on ties) until no pair
// merges. A heap over a linked list keeps long inputs O(n log n).
// `lookup(a, b)` returns {priority, merged symbol} or nullopt.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FRONTENDS_SYMBOLMERGE_H
#define QCC_FRONTENDS_SYMBOLMERGE_H

#include <functional>
#include <optional>
#include <queue>
#include <tuple>
#include <utility>
#include <vector>

namespace qcc {

template <typename Sym, typename Priority, typename Lookup>
std::vector<Sym> mergeByPriority(std::vector<Sym> sym, Lookup lookup) {
  const int n = int(sym.size());
  std::vector<int> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  using Entry = std::tuple<Priority, int, Sym, Sym>; // priority, left position, left, right
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  auto push = [&](int i) {
    if (i < 0 || next[i] < 0)
      return;
    if (auto m = lookup(sym[i], sym[next[i]]))
      heap.emplace(m->first, i, sym[i], sym[next[i]]);
  };
  for (int i = 0; i + 1 < n; ++i)
    push(i);
  while (!heap.empty()) {
    auto [p, i, a, b] = heap.top();
    heap.pop();
    if (!alive[i] || next[i] < 0 || sym[i] != a || sym[next[i]] != b)
      continue; // stale entry
    int j = next[i];
    sym[i] = lookup(a, b)->second;
    alive[j] = false;
    next[i] = next[j];
    if (next[j] >= 0)
      prev[next[j]] = i;
    push(prev[i]);
    push(i);
  }
  std::vector<Sym> out;
  for (int i = n ? 0 : -1; i >= 0; i = next[i])
    out.push_back(std::move(sym[i]));
  return out;
}

} // namespace qcc

#endif
