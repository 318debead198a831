#!/usr/bin/env bash
# Build a host (i386 by default) static library of TFLM with its reference kernels from an
# esp-tflite-micro checkout, for tests/test_firmware_tflm.py:
#
#   tests/firmware_host/build_tflm.sh ESP_TFLITE_MICRO_DIR [CXXFLAGS...]
#   TINYREPORT_TFLM_DIR=ESP_TFLITE_MICRO_DIR pytest tests/test_firmware_tflm.py
#
# The library lands in ESP_TFLITE_MICRO_DIR/gen/host/lib/libtensorflow-microlite.a. ESP-NN's
# kernels are left out (they need the Xtensa build); error strings are kept so that the
# interpreter calls the profiler.
set -euo pipefail
src=$(cd "$1" && pwd)
shift
flags=("${@:--m32}")
out="$src/gen/host"
mkdir -p "$out/obj" "$out/lib"
micro="$src/tensorflow/lite/micro"
files=(
  "$micro"/*.cc
  "$micro"/kernels/*.cc
  "$micro"/tflite_bridge/*.cc
  "$micro"/memory_planner/greedy_memory_planner.cc
  "$micro"/memory_planner/linear_memory_planner.cc
  "$micro"/arena_allocator/*.cc
  "$src"/tensorflow/lite/kernels/kernel_util.cc
  "$src"/tensorflow/lite/core/c/common.cc
  "$src"/tensorflow/lite/core/api/flatbuffer_conversions.cc
  "$src"/tensorflow/lite/core/api/tensor_utils.cc
  "$src"/tensorflow/lite/kernels/internal/common.cc
  "$src"/tensorflow/lite/kernels/internal/quantization_util.cc
  "$src"/tensorflow/lite/kernels/internal/portable_tensor_utils.cc
  "$src"/tensorflow/lite/kernels/internal/tensor_utils.cc
  "$src"/tensorflow/lite/kernels/internal/tensor_ctypes.cc
  "$src"/tensorflow/lite/kernels/internal/reference/portable_tensor_utils.cc
  "$src"/tensorflow/compiler/mlir/lite/core/api/error_reporter.cc
  "$src"/tensorflow/compiler/mlir/lite/schema/schema_utils.cc
)
compile() {
  local f=$1
  case "$f" in *_test.cc | *test_helper*.cc | *fake_micro_context.cc | */mock_*.cc) return 0 ;; esac
  [ -f "$f" ] || return 0
  local o="$out/obj/$(echo "${f#"$src"/}" | tr / _).o"
  [ "$o" -nt "$f" ] && return 0  # already built
  # As esp-tflite-micro builds it: no exceptions (TFLM's placement news need that), no RTTI.
  g++ "${flags[@]}" -std=c++17 -O1 -fno-exceptions -fno-rtti -fno-threadsafe-statics \
    -DTF_LITE_STATIC_MEMORY -DTF_LITE_DISABLE_X86_NEON \
    -w -I"$src" -I"$src/third_party/flatbuffers/include" -I"$src/third_party/gemmlowp" \
    -I"$src/third_party/ruy" -c "$f" -o "$o"
}
export -f compile
export src out
export flags_str="${flags[*]}"
printf '%s\n' "${files[@]}" | xargs -P 2 -I{} bash -c 'flags=($flags_str); compile "$1"' _ {}
rm -f "$out/lib/libtensorflow-microlite.a"
ar rcs "$out/lib/libtensorflow-microlite.a" "$out"/obj/*.o
echo "$out/lib/libtensorflow-microlite.a"
