// IDX reader (raw and gzip) on arbitrary bytes.
#include "descent/data/readers.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace descent;
  return fuzz::accept_only_descent_errors([&] {
    const Tensor t = data::parse_idx(fuzz::as_text(data, size), "fuzz.idx");
    fuzz::require(t.rank() >= 1, "an IDX tensor has rank >= 1");
  });
}
