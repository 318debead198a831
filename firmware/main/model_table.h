// The table of models the firmware runs. The data comes from generated/ (`tinyreport firmware`);
// this header has no ESP-IDF or TFLM dependency so that the generated sources build on a host.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinyfw {

enum class TensorType : uint8_t { kInt8, kFloat32 };

// The graph input or output: its element type, element count and affine quantization
// (real = scale * (q - zero_point); scale is 0 for float tensors).
struct TensorInfo {
  TensorType type;
  size_t n_elements;
  float scale;
  int32_t zero_point;
};

struct ModelEntry {
  const char* name;  // e.g. "mlp_int8": model name and variant
  const char* id;    // sha256 of the .tflite file, 64 lowercase hex digits
  const uint8_t* data;  // the .tflite flatbuffer, 16-byte aligned, in flash
  size_t size_bytes;
  size_t arena_bytes;          // the arena handed to the interpreter
  size_t arena_planned_bytes;  // the planner's ESP32-S3 figure it was sized from
  size_t n_operators;
  TensorInfo input;
  TensorInfo output;
  size_t n_vectors;
  const void* vector_inputs;   // n_vectors x input.n_elements, of input.type
  const void* vector_outputs;  // n_vectors x output.n_elements, of output.type: host TFLM
  const uint8_t* labels;       // n_vectors true digits
  float tolerance;             // largest |device - host| that still counts as a match
};

}  // namespace tinyfw
