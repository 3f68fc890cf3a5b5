#pragma once
// Readers (and an NPY writer) for the array files people already have: IDX (the MNIST
// family, raw or gzip), NPY (NumPy's .npy) and numeric CSV. Every reader has a from-memory
// entry point, `parse_*(bytes, name)`, that the file reader and the fuzz targets share;
// `name` appears in every error. Bad input of any kind is an InputError saying what was
// wrong and what to do, and no reader allocates more than the input can justify.
#include <string>
#include <string_view>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::data {

// ---- IDX (http://yann.lecun.com/exdb/mnist/): big-endian dims, then the payload. ----
// gzip is recognized by its magic bytes. Element types map to u8 (0x08), int64 (0x09 int8,
// 0x0B int16, 0x0C int32, sign-extended), f32 (0x0D) and f64 (0x0E). The payload must have
// exactly the length the dims say. `expected_rank` > 0 makes a different rank an error
// that states the expected magic number.
Tensor parse_idx(std::string_view bytes, const std::string& name, int expected_rank = 0);
Tensor read_idx(const std::string& path, int expected_rank = 0);

// ---- NPY (numpy.lib.format), versions 1.0, 2.0 and 3.0. ----
// dtypes '<f4', '<f8', '<i8', '|u1' and '|b1' (as u8), C order. Fortran order, big-endian
// and other dtypes are rejected with the numpy call that converts them.
Tensor parse_npy(std::string_view bytes, const std::string& name);
Tensor read_npy(const std::string& path);
// Version 1.0 unless the header needs 2.0; header padded so data starts 64-byte aligned.
std::string serialize_npy(const Tensor& tensor);
void save_npy(const std::string& path, const Tensor& tensor);  // atomic (AtomicFile)

// ---- numeric CSV ----
enum class CsvHeader {
  detect,   // a first line of non-empty fields, at least one not a number, is the header
  present,
  absent,
};
struct CsvOptions {
  char delimiter = ',';
  CsvHeader header = CsvHeader::detect;
  DType dtype = DType::f64;  // f32 or f64
};
struct CsvTable {
  std::vector<std::string> column_names;  // empty when the file has no header
  Tensor values;                          // [rows, columns]
  int64_t first_data_line = 1;            // 1-based line number of row 0, for messages
};
// Fields may be quoted and padded with spaces; blank lines are skipped. The first bad
// field is reported with its line and column.
CsvTable parse_csv(std::string_view text, const std::string& name, const CsvOptions& options = {});
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace descent::data
