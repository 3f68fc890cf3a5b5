#pragma once
// JSON has no NaN or infinity, and nlohmann::json writes them as null, which loses them (a
// diverged run's checkpoint could not be read back). These spell non-finite numbers as the
// strings "NaN", "Infinity" and "-Infinity" (the tokens of JavaScript and of Python's json)
// and read them back, so a record round-trips losslessly.
#include <nlohmann/json.hpp>

namespace descent {

// Every non-finite floating-point number in `j` (recursively) replaced by its string.
nlohmann::json encode_non_finite(nlohmann::json j);
// Every string "NaN", "Infinity" or "-Infinity" in `j` (recursively) replaced by the number.
nlohmann::json decode_non_finite(nlohmann::json j);

}  // namespace descent
