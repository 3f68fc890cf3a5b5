#include "descent/core/parameter_layout.hpp"

#include <set>

#include "descent/core/error.hpp"

namespace descent {

ParameterLayout::ParameterLayout(std::vector<LayoutBlock> blocks, std::vector<LayoutGroup> groups)
    : blocks_(std::move(blocks)) {
  std::set<std::string> names;
  std::vector<bool> seen(groups.size(), false);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const LayoutBlock& b = blocks_[i];
    DESCENT_CHECK(b.offset == size_, ShapeError,
                  "ParameterLayout: block '{}' starts at {}, but the blocks before it end at {} (blocks must tile θ "
                  "in order)",
                  b.name, b.offset, size_);
    DESCENT_CHECK(names.insert(b.name).second, InputError, "ParameterLayout: two blocks are called '{}'", b.name);
    DESCENT_CHECK(0 <= b.group && size_t(b.group) < groups.size(), InputError,
                  "ParameterLayout: block '{}' is in group {}, but there are {} groups", b.name, b.group, groups.size());
    const bool continues = i > 0 && blocks_[i - 1].group == b.group;
    DESCENT_CHECK(continues || !seen[size_t(b.group)], InputError,
                  "ParameterLayout: the blocks of group '{}' are not consecutive", groups[size_t(b.group)].name);
    if (!continues) {
      seen[size_t(b.group)] = true;
      LayoutGroup g = groups[size_t(b.group)];
      g.begin = b.offset;
      groups_.push_back(std::move(g));
    }
    groups_.back().end = b.end();
    size_ = b.end();
  }
}

const LayoutBlock& ParameterLayout::block(const std::string& name) const {
  std::string choices;
  for (const LayoutBlock& b : blocks_) {
    if (b.name == name) return b;
    choices += (choices.empty() ? "" : ", ") + b.name;
  }
  fail<InputError>("no parameter block '{}' (choose from {})", name, choices);
}

std::vector<Tensor> ParameterLayout::views(const Tensor& flat) const {
  DESCENT_CHECK(flat.numel() == size_, ShapeError,
                "ParameterLayout: a flat parameter buffer must be [{}], got {}", size_, flat.shape());
  std::vector<Tensor> out;
  out.reserve(blocks_.size());
  for (const LayoutBlock& b : blocks_) out.push_back(flat.view(b.offset, b.shape));
  return out;
}

Tensor ParameterLayout::mask(std::span<const std::string> names, DType dtype) const {
  Tensor m = Tensor::zeros({size_}, dtype);
  for (const std::string& name : names) {
    int64_t begin = -1, end = -1;
    for (const LayoutGroup& g : groups_)
      if (g.name == name) begin = g.begin, end = g.end;
    if (begin < 0) {
      const LayoutBlock& b = block(name);  // InputError naming the blocks
      begin = b.offset;
      end = b.end();
    }
    m.view(begin, {end - begin}).fill(1.0);
  }
  return m;
}

}  // namespace descent
