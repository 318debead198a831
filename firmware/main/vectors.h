// Compare the device's outputs with the host's for the embedded test vectors. Plain C++, no
// ESP-IDF or TFLM dependency, so the host harness runs exactly this code.
#pragma once

#include <cstddef>
#include <cstdint>

#include "model_table.h"

namespace tinyfw {

struct VectorTally {
  size_t n = 0;        // vectors compared
  size_t n_match = 0;  // vectors whose every output is within the tolerance
  size_t n_top1 = 0;   // vectors whose device argmax is the true digit
  double max_abs_diff = 0.0;  // largest |device - host|, in int8 steps or output units
};

// Index of the largest of `n` values of `type` (the first one on ties).
size_t ArgMax(TensorType type, const void* values, size_t n);

// Add one vector: `got` the device's output, `want` the host's, `n` values of `type`.
void AddVector(VectorTally& tally, TensorType type, const void* got, const void* want, size_t n,
               float tolerance, int label);

}  // namespace tinyfw
