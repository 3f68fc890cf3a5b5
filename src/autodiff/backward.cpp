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
#include <unordered_map>

#include "descent/autodiff/autodiff.hpp"
#include "rules.hpp"

namespace descent {
using namespace detail;

namespace {

struct Entry {
  Node* node;
  Var cotangent;
  bool needed = false;  // on a path to some wrt
};

}  // namespace

VarList vjp(const Var& output, const VarList& wrt, const Var& cotangent, bool create_graph) {
  DESCENT_CHECK(output.defined(), ShapeError, "grad: the output is undefined");
  DESCENT_CHECK(cotangent.defined() && cotangent.shape() == output.shape(), ShapeError,
                "vjp: cotangent {} does not match the output {}",
                cotangent.defined() ? cotangent.shape().str() : std::string("(undefined)"), output.shape());
  VarList result(wrt.size());
  auto zeros_result = [&] {
    for (size_t i = 0; i < wrt.size(); ++i)
      if (!result[i].defined()) {
        DESCENT_CHECK(wrt[i].defined(), ShapeError, "grad: wrt[{}] is undefined", i);
        result[i] = Var(Tensor::zeros(wrt[i].shape(), wrt[i].dtype()));
      }
    return result;
  };
  if (!output.requires_grad()) return zeros_result();

  // Collect the nodes that require gradients, reachable from the output.
  std::vector<Entry> entries;
  std::unordered_map<const Node*, int> slot;
  slot.reserve(64);
  std::vector<Node*> stack{output.node()};
  slot.emplace(output.node(), 0);
  entries.push_back({output.node(), Var()});
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Var& in : n->inputs) {
      if (!in.defined() || !in.node()->requires_grad) continue;
      if (slot.emplace(in.node(), static_cast<int>(entries.size())).second) {
        entries.push_back({in.node(), Var()});
        stack.push_back(in.node());
      }
    }
  }
  // Which collected nodes lead to a wrt: increasing sequence, wrt marks itself.
  std::vector<int> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return entries[size_t(a)].node->sequence < entries[size_t(b)].node->sequence; });
  std::unordered_map<int, std::vector<size_t>> wrt_of_slot;
  for (size_t i = 0; i < wrt.size(); ++i) {
    DESCENT_CHECK(wrt[i].defined(), ShapeError, "grad: wrt[{}] is undefined", i);
    auto it = slot.find(wrt[i].node());
    if (it == slot.end()) continue;
    entries[size_t(it->second)].needed = true;
    wrt_of_slot[it->second].push_back(i);
  }
  if (wrt_of_slot.empty()) return zeros_result();
  for (int k : order) {
    Entry& e = entries[size_t(k)];
    if (e.needed) continue;
    for (const Var& in : e.node->inputs) {
      if (!in.defined()) continue;
      auto it = slot.find(in.node());
      if (it != slot.end() && entries[size_t(it->second)].needed) {
        e.needed = true;
        break;
      }
    }
  }

  RecordingGuard recording(create_graph);
  const bool anomaly = detect_anomaly();
  entries[0].cotangent = cotangent;
  std::vector<bool> need;
  std::vector<int> input_slots;
  for (auto k = order.rbegin(); k != order.rend(); ++k) {
    Entry& e = entries[size_t(*k)];
    if (!e.needed || !e.cotangent.defined()) continue;
    Var g = std::move(e.cotangent);
    e.cotangent = Var();
    if (auto w = wrt_of_slot.find(*k); w != wrt_of_slot.end())
      for (size_t i : w->second) result[i] = g;
    Node* n = e.node;
    if (n->inputs.empty()) continue;
    need.assign(n->inputs.size(), false);
    input_slots.assign(n->inputs.size(), -1);
    bool any = false;
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      const Var& in = n->inputs[i];
      if (!in.defined()) continue;
      auto it = slot.find(in.node());
      if (it == slot.end() || !entries[size_t(it->second)].needed) continue;
      need[i] = true;
      input_slots[i] = it->second;
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
    DESCENT_CHECK(grads.size() <= n->inputs.size(), Error, "{}: internal error: vjp gave {} cotangents for {} inputs",
                  n->name(), grads.size(), n->inputs.size());
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
      Var& acc = entries[size_t(input_slots[i])].cotangent;
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
