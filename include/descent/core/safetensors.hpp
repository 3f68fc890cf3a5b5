#pragma once
// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), which
// PyTorch (`safetensors.torch.load_file`) and NumPy users read directly:
//
//   [8 bytes: N, little-endian u64] [N bytes: JSON header] [data section]
//   header = {"__metadata__": {string: string}, name: {"dtype": "F32", "shape": [..],
//             "data_offsets": [begin, end]}, ...}, offsets relative to the data section.
//
// descent writes F32, F64, I64 and U8 and reads those plus BOOL (as u8). Saving is atomic
// (see AtomicFile), and the CRC-32 of the data section is stored in the metadata under
// kSafetensorsChecksumKey and verified on load, so a torn or corrupted file is an
// InputError naming the file, never silently wrong weights.
#include <map>
#include <string>
#include <string_view>

#include "descent/core/tensor.hpp"

namespace descent {

using TensorMap = std::map<std::string, Tensor>;
using MetadataMap = std::map<std::string, std::string>;

// Metadata key holding the data section's CRC-32 as 8 lowercase hex digits.
inline constexpr const char* kSafetensorsChecksumKey = "descent.data_crc32";

struct SafetensorsContents {
  TensorMap tensors;
  MetadataMap metadata;  // includes kSafetensorsChecksumKey when the writer stored one
};

struct SafetensorsLoadOptions {
  // Files written by other tools carry no checksum; a trainer reading its own checkpoints
  // sets this to insist on one.
  bool require_checksum = false;
};

// The file's bytes; `metadata` must not use kSafetensorsChecksumKey (descent adds it).
std::string serialize_safetensors(const TensorMap& tensors, const MetadataMap& metadata = {});
// Atomic: `path` keeps its previous contents unless the whole new file was written.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const MetadataMap& metadata = {});

// `name` is used in error messages (the file name when the bytes came from one).
SafetensorsContents parse_safetensors(std::string_view bytes, const std::string& name,
                                      const SafetensorsLoadOptions& options = {});
// Reads tensors straight from the file (no second copy of the data section in memory).
SafetensorsContents load_safetensors(const std::string& path,
                                     const SafetensorsLoadOptions& options = {});

}  // namespace descent
