// safetensors reader on arbitrary bytes; whatever it accepts must survive a round trip.
#include <cstring>

#include "descent/core/safetensors.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace descent;
  return fuzz::accept_only_descent_errors([&] {
    SafetensorsContents c = parse_safetensors(fuzz::as_text(data, size), "fuzz.safetensors");
    c.metadata.erase(kSafetensorsChecksumKey);
    const SafetensorsContents back =
        parse_safetensors(serialize_safetensors(c.tensors, c.metadata), "round trip",
                          {.require_checksum = true});
    fuzz::require(back.tensors.size() == c.tensors.size(), "round trip lost tensors");
    for (const auto& [name, t] : c.tensors) {
      const Tensor& u = back.tensors.at(name);
      fuzz::require(u.shape() == t.shape() && u.dtype() == t.dtype() &&
                        std::memcmp(u.raw(), t.raw(), t.nbytes()) == 0,
                    "safetensors round trip changed a tensor");
    }
  });
}
