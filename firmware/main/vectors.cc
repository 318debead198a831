// Compare the device's outputs with the host's; see vectors.h.
#include "vectors.h"

#include <cmath>

namespace tinyfw {

namespace {

double ValueAt(TensorType type, const void* values, size_t i) {
  if (type == TensorType::kInt8) return static_cast<double>(static_cast<const int8_t*>(values)[i]);
  return static_cast<double>(static_cast<const float*>(values)[i]);
}

}  // namespace

size_t ArgMax(TensorType type, const void* values, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; i++) {
    if (ValueAt(type, values, i) > ValueAt(type, values, best)) best = i;
  }
  return best;
}

void AddVector(VectorTally& tally, TensorType type, const void* got, const void* want, size_t n,
               float tolerance, int label) {
  double worst = 0.0;
  for (size_t i = 0; i < n; i++) {
    double diff = std::fabs(ValueAt(type, got, i) - ValueAt(type, want, i));
    if (std::isnan(diff)) diff = INFINITY;  // a NaN never matches
    if (diff > worst) worst = diff;
  }
  tally.n++;
  if (worst <= static_cast<double>(tolerance)) tally.n_match++;
  if (worst > tally.max_abs_diff) tally.max_abs_diff = worst;
  if (static_cast<int>(ArgMax(type, got, n)) == label) tally.n_top1++;
}

}  // namespace tinyfw
