#pragma once
// ParameterLayout: the names and shapes of the blocks that tile one flat parameter buffer
// θ ∈ R^P. Every model keeps its parameters in one contiguous [P] tensor (optimizers, HVPs
// and checkpoints see a vector); the layout says which slice of that vector is "2.weight"
// [256, 784], and which blocks belong together (a layer: its weight and bias), so that
// per-block curvature, K-FAC and parameter freezing work on any model that states one,
// without knowing its layers.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent {

// One named tensor of parameters: θ[offset, offset + numel) read as `shape` (row-major).
struct LayoutBlock {
  std::string name;  // unique in the layout ("2.weight")
  int64_t offset = 0;
  Shape shape;
  int group = 0;  // index into ParameterLayout::groups(): the unit (a layer) it belongs to
  int64_t numel() const { return shape.numel(); }
  int64_t end() const { return offset + numel(); }
};

// Consecutive blocks with the same group: a layer's parameters, [begin, end) of θ.
struct LayoutGroup {
  std::string name;         // "2": how a user names it (a layer index for nn models)
  std::string description;  // "Linear(784 → 256)"
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

class ParameterLayout {
 public:
  ParameterLayout() = default;
  // Blocks in θ order: offsets must tile [0, P) without gaps, names must be unique, and a
  // group's blocks must be consecutive; `groups` holds the group names and descriptions
  // (index = LayoutBlock::group). Throws ShapeError / InputError otherwise.
  ParameterLayout(std::vector<LayoutBlock> blocks, std::vector<LayoutGroup> groups);

  int64_t size() const { return size_; }  // P
  const std::vector<LayoutBlock>& blocks() const { return blocks_; }
  // Groups with their [begin, end) filled in, in θ order; only groups that hold parameters.
  const std::vector<LayoutGroup>& groups() const { return groups_; }

  // The block called `name`; InputError naming the choices otherwise.
  const LayoutBlock& block(const std::string& name) const;
  // Per-block views of a flat [P] buffer (θ, a gradient, a direction), in layout order; no copy.
  std::vector<Tensor> views(const Tensor& flat) const;
  // A [P] tensor of `dtype` that is 1 on the named blocks or groups and 0 elsewhere: what a
  // masked update multiplies by to freeze everything else. InputError for an unknown name.
  Tensor mask(std::span<const std::string> names, DType dtype) const;

 private:
  std::vector<LayoutBlock> blocks_;
  std::vector<LayoutGroup> groups_;
  int64_t size_ = 0;
};

}  // namespace descent
