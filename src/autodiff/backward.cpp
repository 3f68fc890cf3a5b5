// The reverse-mode engine: pulls a cotangent back through the recorded graph.
//
// Nodes are numbered in creation order, so decreasing sequence is a topological order of
// any graph (an input is always created before the ops that consume it). The engine
// collects the nodes that require gradients and lie between `output` and `wrt`, visits
// them in that order, calls each node's vjp once with its accumulated cotangent, and adds
// the results into its inputs' slots. With create_graph the rules run with recording on,
// so the gradients are themselves differentiable; tangents on the values (forward mode)
// flow through the rules either way, which gives forward-over-reverse HVPs.
#include <algorithm>
#include <cstdint>

#include "descent/autodiff/autodiff.hpp"
#include "rules.hpp"

namespace descent {
using namespace detail;

namespace {

struct Entry {
  Node* node;
  Var cotangent;
  int edges_begin = 0;   // this node's inputs' slots: edges[edges_begin, edges_begin + inputs)
  int first_wrt = -1;    // head of the list of wrt positions naming this node
  bool needed = false;   // on a path to some wrt
};

// Node* -> slot, open addressing with linear probing (graphs are small; no per-entry heap
// allocation, unlike std::unordered_map).
class NodeIndex {
 public:
  explicit NodeIndex(size_t expected) { rehash(std::max<size_t>(64, 2 * expected)); }
  // The slot of `n`, inserting `fresh` when absent; second = inserted.
  std::pair<int, bool> insert(const Node* n, int fresh) {
    if (2 * (count_ + 1) > keys_.size()) rehash(2 * keys_.size());
    size_t i = probe(n);
    if (keys_[i] == n) return {values_[i], false};
    keys_[i] = n;
    values_[i] = fresh;
    ++count_;
    return {fresh, true};
  }
  int find(const Node* n) const {
    const size_t i = probe(n);
    return keys_[i] == n ? values_[i] : -1;
  }

 private:
  size_t probe(const Node* n) const {
    size_t i = (reinterpret_cast<uintptr_t>(n) >> 4) * 0x9E3779B97F4A7C15ull >> 20;
    const size_t mask = keys_.size() - 1;
    for (i &= mask; keys_[i] != nullptr && keys_[i] != n; i = (i + 1) & mask) {
    }
    return i;
  }
  void rehash(size_t capacity) {
    size_t cap = 64;
    while (cap < capacity) cap *= 2;
    std::vector<const Node*> old_keys(cap, nullptr);
    std::vector<int> old_values(cap, -1);
    old_keys.swap(keys_);
    old_values.swap(values_);
    count_ = 0;
    for (size_t i = 0; i < old_keys.size(); ++i)
      if (old_keys[i]) insert(old_keys[i], old_values[i]);
  }
  std::vector<const Node*> keys_;
  std::vector<int> values_;
  size_t count_ = 0;
};

}  // namespace

VarList vjp(const Var& output, const VarList& wrt, const Var& cotangent, bool create_graph) {
  DESCENT_CHECK(output.defined(), ShapeError, "grad: the output is undefined");
  DESCENT_CHECK(cotangent.defined() && cotangent.shape() == output.shape(), ShapeError,
                "vjp: cotangent {} does not match the output {}",
                cotangent.defined() ? cotangent.shape().str() : std::string("(undefined)"), output.shape());
  for (size_t i = 0; i < wrt.size(); ++i) DESCENT_CHECK(wrt[i].defined(), ShapeError, "grad: wrt[{}] is undefined", i);
  VarList result(wrt.size());
  auto zeros_result = [&] {
    for (size_t i = 0; i < wrt.size(); ++i)
      if (!result[i].defined()) result[i] = Var(Tensor::zeros(wrt[i].shape(), wrt[i].dtype()));
    return result;
  };
  if (!output.requires_grad()) return zeros_result();

  // Collect the nodes that require gradients, reachable from the output, and the edges
  // between them (slot of each input; -1 for inputs that need no gradient).
  std::vector<Entry> entries;
  entries.reserve(64);
  std::vector<int> edges;
  edges.reserve(128);
  NodeIndex index(64);
  std::vector<int> stack{0};
  index.insert(output.node(), 0);
  entries.push_back({output.node(), Var()});
  while (!stack.empty()) {
    const int k = stack.back();
    stack.pop_back();
    Node* n = entries[size_t(k)].node;
    entries[size_t(k)].edges_begin = static_cast<int>(edges.size());
    for (const Var& in : n->inputs) {
      if (!in.defined() || !in.node()->requires_grad) {
        edges.push_back(-1);
        continue;
      }
      auto [slot, fresh] = index.insert(in.node(), static_cast<int>(entries.size()));
      edges.push_back(slot);
      if (fresh) {
        entries.push_back({in.node(), Var()});
        stack.push_back(slot);
      }
    }
  }
  // wrt positions per node, as linked lists through wrt_next.
  std::vector<int> wrt_next(wrt.size(), -1);
  bool any_wrt = false;
  for (size_t i = 0; i < wrt.size(); ++i) {
    const int k = index.find(wrt[i].node());
    if (k < 0) continue;
    wrt_next[i] = entries[size_t(k)].first_wrt;
    entries[size_t(k)].first_wrt = static_cast<int>(i);
    entries[size_t(k)].needed = any_wrt = true;
  }
  if (!any_wrt) return zeros_result();
  // Topological order: decreasing creation sequence. A node is needed when it leads to a
  // wrt, decided in increasing sequence (inputs first).
  std::vector<int> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return entries[size_t(a)].node->sequence < entries[size_t(b)].node->sequence; });
  for (int k : order) {
    Entry& e = entries[size_t(k)];
    if (e.needed) continue;
    for (size_t i = 0; i < e.node->inputs.size() && !e.needed; ++i) {
      const int in = edges[size_t(e.edges_begin) + i];
      e.needed = in >= 0 && entries[size_t(in)].needed;
    }
  }

  RecordingGuard recording(create_graph);
  const bool anomaly = detect_anomaly();
  entries[0].cotangent = cotangent;
  std::vector<bool> need;
  for (auto k = order.rbegin(); k != order.rend(); ++k) {
    Entry& e = entries[size_t(*k)];
    if (!e.needed || !e.cotangent.defined()) continue;
    Var g = std::move(e.cotangent);
    e.cotangent = Var();
    for (int w = e.first_wrt; w >= 0; w = wrt_next[size_t(w)]) result[size_t(w)] = g;
    Node* n = e.node;
    const size_t arity = n->inputs.size();
    if (arity == 0) continue;
    const int* in_slots = edges.data() + e.edges_begin;
    need.assign(arity, false);
    bool any = false;
    for (size_t i = 0; i < arity; ++i) {
      if (in_slots[i] < 0 || !entries[size_t(in_slots[i])].needed) continue;
      need[i] = true;
      any = true;
    }
    if (!any) continue;
    VarList grads;
    if (anomaly) {
      BackwardOfGuard in_rule(n->name());
      grads = n->vjp(g, need);
    } else {
      grads = n->vjp(g, need);
    }
    g = Var();
    DESCENT_CHECK(grads.size() <= arity, Error, "{}: internal error: vjp gave {} cotangents for {} inputs",
                  n->name(), grads.size(), arity);
    for (size_t i = 0; i < grads.size(); ++i) {
      if (!need[i] || !grads[i].defined()) continue;
      const Var& in = n->inputs[i];
      if (!(grads[i].shape() == in.shape()))
        fail<Error>("{}: internal error: vjp gave a cotangent of shape {} for input {} of shape {}", n->name(),
                    grads[i].shape(), i, in.shape());
      if (anomaly) {
        BackwardOfGuard in_rule(n->name());
        check_finite(grads[i].value(), n->name(), "cotangent", n->inputs);
      }
      Var& acc = entries[size_t(in_slots[i])].cotangent;
      acc = acc.defined() ? add(acc, grads[i]) : std::move(grads[i]);
    }
  }
  return zeros_result();
}

VarList grad(const Var& output, const VarList& wrt, bool create_graph) {
  DESCENT_CHECK(output.defined(), ShapeError, "grad: the output is undefined");
  DESCENT_CHECK(output.numel() == 1, ShapeError,
                "grad: the output must be a scalar, got shape {}; reduce it (sum, mean) or use vjp with a cotangent",
                output.shape());
  return vjp(output, wrt, Var(Tensor::ones(output.shape(), output.dtype())), create_graph);
}

}  // namespace descent
