// NPY reader on arbitrary bytes; whatever it accepts must survive a write-read round trip.
#include <cstring>

#include "descent/data/readers.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace descent;
  return fuzz::accept_only_descent_errors([&] {
    const Tensor t = data::parse_npy(fuzz::as_text(data, size), "fuzz.npy");
    const Tensor back = data::parse_npy(data::serialize_npy(t), "round trip");
    fuzz::require(back.shape() == t.shape() && back.dtype() == t.dtype() &&
                      std::memcmp(back.raw(), t.raw(), t.nbytes()) == 0,
                  "NPY write-read round trip changed the array");
  });
}
