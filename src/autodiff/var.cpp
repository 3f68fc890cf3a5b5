#include "descent/autodiff/var.hpp"

#include <atomic>
#include <cmath>

#include "rules.hpp"

namespace descent {
namespace {
thread_local bool t_recording = true;
thread_local bool t_in_jvp_rule = false;
thread_local const char* t_backward_of = nullptr;
thread_local bool t_leaf_tangent_only = false;
std::atomic<bool> g_anomaly{false};
std::atomic<uint64_t> g_sequence{1};

std::string describe_inputs(const VarList& inputs) {
  std::string s;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i) s += ", ";
    s += inputs[i].defined() ? inputs[i].shape().str() : "none";
  }
  return s;
}
}  // namespace

// ---- iterative release of the graph ----
// Destroying the last handle to a deep chain (a loss accumulated over thousands of steps)
// would recurse once per node; instead, inputs whose last reference is ours are moved to a
// stack owned by the outermost destructor on this thread and released from a loop.
namespace {
thread_local std::vector<std::shared_ptr<Node>>* t_release_stack = nullptr;
}

Node::~Node() {
  auto unique = [](const std::shared_ptr<Node>& p) { return p && p.use_count() == 1; };
  bool any = unique(tangent.node_);
  for (const Var& v : inputs) any |= unique(v.node_);
  if (!any) return;
  auto defer = [&](std::vector<std::shared_ptr<Node>>& stack) {
    for (Var& v : inputs)
      if (unique(v.node_)) stack.push_back(std::move(v.node_));
    if (unique(tangent.node_)) stack.push_back(std::move(tangent.node_));
  };
  if (t_release_stack) {
    defer(*t_release_stack);
    return;
  }
  std::vector<std::shared_ptr<Node>> stack;
  t_release_stack = &stack;
  defer(stack);
  while (!stack.empty()) {
    std::shared_ptr<Node> p = std::move(stack.back());
    stack.pop_back();
    p.reset();  // may push this node's own inputs
  }
  t_release_stack = nullptr;
}

Var::Var(Tensor value, bool requires_grad) : node_(std::make_shared<Node>()) {
  DESCENT_CHECK(value.defined(), ShapeError, "Var: constructed from an undefined tensor");
  DESCENT_CHECK(!requires_grad || is_floating(value.dtype()), ShapeError,
                "Var: only float32/float64 values can require gradients, got {}", dtype_name(value.dtype()));
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
  node_->sequence = g_sequence.fetch_add(1, std::memory_order_relaxed);
}

const Tensor& Var::value() const {
  DESCENT_CHECK(node_ != nullptr, ShapeError, "Var: use of an undefined variable");
  return node_->value;
}
bool Var::requires_grad() const { return node_ && node_->requires_grad; }
Var Var::tangent() const { return node_ ? node_->tangent : Var(); }
void Var::set_tangent(const Var& t) {
  DESCENT_CHECK(node_ != nullptr, ShapeError, "set_tangent: undefined variable");
  DESCENT_CHECK(!t.defined() || (t.shape() == shape() && t.dtype() == dtype()), ShapeError,
                "set_tangent: tangent {} {} does not match value {} {}", dtype_name(t.dtype()), t.shape(),
                dtype_name(dtype()), shape());
  node_->tangent = t;
}
const char* Var::op_name() const { return node_ ? node_->name() : "undefined"; }

bool is_recording() { return t_recording; }
NoGradGuard::NoGradGuard() : previous_(t_recording) { t_recording = false; }
NoGradGuard::~NoGradGuard() { t_recording = previous_; }

namespace detail {
RecordingGuard::RecordingGuard(bool on) : previous_(t_recording) { t_recording = on; }
RecordingGuard::~RecordingGuard() { t_recording = previous_; }
bool leaf_cotangent_values_unused() { return t_leaf_tangent_only && !t_recording; }
LeafTangentOnlyGuard::LeafTangentOnlyGuard() : previous_(t_leaf_tangent_only) { t_leaf_tangent_only = true; }
LeafTangentOnlyGuard::~LeafTangentOnlyGuard() { t_leaf_tangent_only = previous_; }
BackwardOfGuard::BackwardOfGuard(const char* op) : previous_(t_backward_of) { t_backward_of = op; }
BackwardOfGuard::~BackwardOfGuard() { t_backward_of = previous_; }
}  // namespace detail

void set_detect_anomaly(bool on) { g_anomaly.store(on); }
bool detect_anomaly() { return g_anomaly.load(std::memory_order_relaxed); }
AnomalyGuard::AnomalyGuard(bool on) : previous_(detect_anomaly()) { set_detect_anomaly(on); }
AnomalyGuard::~AnomalyGuard() { set_detect_anomaly(previous_); }

void detail::check_finite(const Tensor& t, const char* op, const char* what, const VarList& inputs) {
  if (all_finite(t)) return;
  int64_t first = 0;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t.at(i))) {
      first = i;
      break;
    }
  if (t_backward_of)
    fail<NonFiniteError>("{} (backward): {} {} of shape {} is not finite (element {} is {}); input shapes: [{}]",
                         t_backward_of, op, what, t.shape(), first, t.at(first), describe_inputs(inputs));
  fail<NonFiniteError>("{}: {} of shape {} is not finite (element {} is {}); input shapes: [{}]", op, what,
                       t.shape(), first, t.at(first), describe_inputs(inputs));
}

Var detail::finish_node(std::shared_ptr<Node> node, Tensor value, VarList inputs) {
  node->value = std::move(value);
  node->sequence = g_sequence.fetch_add(1, std::memory_order_relaxed);
  bool requires_grad = false, has_tangent = false;
  for (const Var& in : inputs) {
    if (!in.defined()) continue;
    requires_grad |= in.node()->requires_grad;
    has_tangent |= in.node()->tangent.defined();
  }
  node->requires_grad = requires_grad && t_recording;
  node->inputs = std::move(inputs);
  if (has_tangent && !t_in_jvp_rule) {
    VarList tangents;
    tangents.reserve(node->inputs.size());
    for (const Var& in : node->inputs) tangents.push_back(in.tangent());
    // One level of forward mode: the rule's own ops carry no tangents and record no graph.
    const bool was_recording = t_recording;
    t_in_jvp_rule = true;
    t_recording = false;
    try {
      node->tangent = node->jvp(tangents);
    } catch (...) {
      t_in_jvp_rule = false;
      t_recording = was_recording;
      throw;
    }
    t_in_jvp_rule = false;
    t_recording = was_recording;
    if (node->tangent.defined() && !(node->tangent.shape() == node->value.shape()))
      fail<Error>("{}: internal error: jvp rule gave a tangent of shape {} for an output of shape {}",
                  node->name(), node->tangent.shape(), node->value.shape());
  }
  if (g_anomaly.load(std::memory_order_relaxed)) {
    check_finite(node->value, node->name(), "output", node->inputs);
    if (node->tangent.defined()) check_finite(node->tangent.value(), node->name(), "tangent", node->inputs);
  }
  if (!node->requires_grad) node->inputs.clear();
  return Var(std::move(node));
}

Var scalar_like(const Var& x, double c) { return Var(Tensor::scalar(c, x.dtype())); }

}  // namespace descent
