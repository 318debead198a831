// Host harness for the generated firmware sources (firmware/main/generated/), built by
// tests/test_firmware.py with g++ -Wall -Wextra -Werror against a stub
// MicroMutableOpResolver that records what is registered.
//
//   models_host OUT_DIR
//
// For model i it writes OUT_DIR/<i>.model, .inputs, .outputs and .labels (the arrays' bytes)
// and prints one line: index, name, id, size, alignment of the array, arena, planned arena,
// operators, input and output tensor info, vector count, tolerance, the resolver's capacity and
// the operators registered (or FAILED).
#include <cstdint>
#include <cstdio>
#include <string>

#include "models.h"
#include "resolvers.h"

namespace {

size_t ElementBytes(tinyfw::TensorType type) {
  return type == tinyfw::TensorType::kInt8 ? 1 : sizeof(float);
}

bool Dump(const std::string& path, const void* data, size_t n) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  bool ok = std::fwrite(data, 1, n, f) == n;
  return std::fclose(f) == 0 && ok;
}

const char* TypeName(tinyfw::TensorType type) {
  return type == tinyfw::TensorType::kInt8 ? "int8" : "float32";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: models_host OUT_DIR\n");
    return 2;
  }
  const std::string out = argv[1];
  std::printf("n_models=%zu max_arena=%zu max_ops=%zu max_out=%zu set=%s\n", tinyfw::kNumModels,
              tinyfw::kMaxArenaBytes, tinyfw::kMaxOperators, tinyfw::kMaxOutputElements,
              tinyfw::kModelSetId);
  for (size_t i = 0; i < tinyfw::kNumModels; i++) {
    const tinyfw::ModelEntry& m = *tinyfw::kModels[i];
    const std::string base = out + "/" + std::to_string(i);
    const size_t in_bytes = m.n_vectors * m.input.n_elements * ElementBytes(m.input.type);
    const size_t out_bytes = m.n_vectors * m.output.n_elements * ElementBytes(m.output.type);
    if (!Dump(base + ".model", m.data, m.size_bytes) ||
        !Dump(base + ".inputs", m.vector_inputs, in_bytes) ||
        !Dump(base + ".outputs", m.vector_outputs, out_bytes) ||
        !Dump(base + ".labels", m.labels, m.n_vectors)) {
      std::fprintf(stderr, "cannot write %s.*\n", base.c_str());
      return 1;
    }
    std::string ops;
    size_t capacity = 0;
    tflite::stub::Registered().clear();
    bool ok = tinyfw::WithResolver(i, [&](const tflite::MicroOpResolver& resolver) {
      capacity = resolver.capacity();
      for (const std::string& name : tflite::stub::Registered()) ops += " " + name;
      return true;
    });
    std::printf(
        "%zu %s %s size=%zu align16=%d arena=%zu planned=%zu n_ops=%zu in=%s:%zu:%.9g:%ld "
        "out=%s:%zu:%.9g:%ld vectors=%zu tol=%.9g capacity=%zu ops=%s%s\n",
        i, m.name, m.id, m.size_bytes, reinterpret_cast<uintptr_t>(m.data) % 16 == 0 ? 1 : 0,
        m.arena_bytes, m.arena_planned_bytes, m.n_operators, TypeName(m.input.type),
        m.input.n_elements, static_cast<double>(m.input.scale),
        static_cast<long>(m.input.zero_point), TypeName(m.output.type), m.output.n_elements,
        static_cast<double>(m.output.scale), static_cast<long>(m.output.zero_point), m.n_vectors,
        static_cast<double>(m.tolerance), capacity, ok ? "ok" : "FAILED", ops.c_str());
  }
  // An index past the end must be refused.
  bool past_end = tinyfw::WithResolver(tinyfw::kNumModels,
                                       [](const tflite::MicroOpResolver&) { return true; });
  std::printf("past_end=%d\n", past_end ? 1 : 0);
  return 0;
}
