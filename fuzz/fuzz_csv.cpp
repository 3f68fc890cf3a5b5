// CSV reader on arbitrary text, with the header detected and with ';' as delimiter.
#include "descent/data/readers.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace descent;
  const std::string_view text = fuzz::as_text(data, size);
  fuzz::accept_only_descent_errors([&] {
    const data::CsvTable t = data::parse_csv(text, "fuzz.csv");
    fuzz::require(t.values.rank() == 2 && t.values.dim(0) > 0, "a parsed table has rows");
    fuzz::require(t.column_names.empty() || static_cast<int64_t>(t.column_names.size()) == t.values.dim(1),
                  "a header names every column");
  });
  return fuzz::accept_only_descent_errors([&] {
    data::parse_csv(text, "fuzz.csv", {.delimiter = ';', .header = data::CsvHeader::absent});
  });
}
