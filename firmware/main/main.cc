// tinyfw: run every model tinyreport generated, check it against the host, time it, and print
// the results as tinyreport serial records (docs/reference/protocol.md).
//
// Set-up allocates the only heap buffer (an optional PSRAM probe arena); after that the program
// uses static storage and the stack. Records are printed with one write each; TFLM's own
// messages and ESP-IDF logs may appear between them and are skipped by the reader.
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "esp_app_desc.h"
#include "esp_chip_info.h"
#include "esp_flash.h"
#include "esp_heap_caps.h"
#include "esp_idf_version.h"
#include "esp_random.h"
#include "esp_rom_sys.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#if CONFIG_SPIRAM
#include "esp_psram.h"
#endif

#include "models.h"
#include "protocol.h"
#include "resolvers.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "vectors.h"

// The host test build (tests/firmware_host) defines these: its run says sim=1, board=host.
#ifndef TINYFW_SIMULATED
#define TINYFW_SIMULATED 0
#endif
#ifndef TINYFW_BOARD
#define TINYFW_BOARD "xiao_esp32s3"
#endif

namespace tinyfw {
namespace {

constexpr int kWarmupRuns = CONFIG_TINYFW_WARMUP_RUNS;
constexpr int kTimedRuns = CONFIG_TINYFW_TIMED_RUNS;
#if CONFIG_TINYFW_PROFILE
constexpr int kProfileRuns = CONFIG_TINYFW_PROFILE_RUNS;
#endif

// Each model gets this percentage of the arena tinyreport generated for it (100 normally;
// lower it to find the smallest arena that works on the device).
constexpr size_t kArenaPercent = CONFIG_TINYFW_ARENA_PERCENT;
constexpr size_t ArenaBytes(size_t generated) {
  return (generated * kArenaPercent / 100 + 15) / 16 * 16;
}

// One arena for all models, which run one after the other; each gets its own size of it.
alignas(16) uint8_t g_arena[ArenaBytes(kMaxArenaBytes)];
int32_t g_samples_us[kTimedRuns];
// A large PSRAM arena, used only to learn what a model that failed to allocate needs.
uint8_t* g_probe_arena = nullptr;
size_t g_probe_bytes = 0;

void WriteLine(const char* line, size_t n, void* /*context*/) {
  fwrite(line, 1, n, stdout);
  fflush(stdout);
}

// Time per operator, summed over profiled invokes (MicroInterpreter calls it around each op).
class OpProfiler : public tflite::MicroProfilerInterface {
 public:
  void StartInvoke() { next_ = 0; }
  void Clear() {
    for (size_t i = 0; i < kMaxOperators; i++) total_us_[i] = 0;
  }
  uint32_t BeginEvent(const char* tag) override {
    uint32_t handle = next_++;
    if (handle < kMaxOperators) {
      tags_[handle] = tag;
      start_us_[handle] = esp_timer_get_time();
    }
    return handle;
  }
  void EndEvent(uint32_t handle) override {
    if (handle < kMaxOperators) total_us_[handle] += esp_timer_get_time() - start_us_[handle];
  }
  size_t n_ops() const { return next_ < kMaxOperators ? next_ : kMaxOperators; }
  const char* tag(size_t i) const { return tags_[i] != nullptr ? tags_[i] : "UNKNOWN"; }
  int64_t total_us(size_t i) const { return total_us_[i]; }

 private:
  const char* tags_[kMaxOperators] = {};
  int64_t start_us_[kMaxOperators] = {};
  int64_t total_us_[kMaxOperators] = {};
  uint32_t next_ = 0;
};

HeapInfo Heap(const char* at, const char* id) {
  const uint32_t internal = MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT;
  HeapInfo info{};
  info.at = at;
  info.id = id;
  info.free_internal_bytes = heap_caps_get_free_size(internal);
  info.free_psram_bytes = heap_caps_get_free_size(MALLOC_CAP_SPIRAM);
  info.min_free_internal_bytes = heap_caps_get_minimum_free_size(internal);
  info.largest_internal_block_bytes = heap_caps_get_largest_free_block(internal);
  return info;
}

// Every esp_reset_reason_t of ESP-IDF 5.3, named without its ESP_RST_ prefix; OTHER only for a
// value a later ESP-IDF adds. On the ESP32-S3, a reset through the USB-Serial-JTAG (idf.py
// flash, tinyreport capture --reset) is USB.
const char* ResetReason() {
  switch (esp_reset_reason()) {
    case ESP_RST_UNKNOWN: return "UNKNOWN";
    case ESP_RST_POWERON: return "POWERON";
    case ESP_RST_EXT: return "EXT";
    case ESP_RST_SW: return "SW";
    case ESP_RST_PANIC: return "PANIC";
    case ESP_RST_INT_WDT: return "INT_WDT";
    case ESP_RST_TASK_WDT: return "TASK_WDT";
    case ESP_RST_WDT: return "WDT";
    case ESP_RST_DEEPSLEEP: return "DEEPSLEEP";
    case ESP_RST_BROWNOUT: return "BROWNOUT";
    case ESP_RST_SDIO: return "SDIO";
    case ESP_RST_USB: return "USB";
    case ESP_RST_JTAG: return "JTAG";
    case ESP_RST_EFUSE: return "EFUSE";
    case ESP_RST_PWR_GLITCH: return "PWR_GLITCH";
    case ESP_RST_CPU_LOCKUP: return "CPU_LOCKUP";
    default: return "OTHER";
  }
}

size_t ElementBytes(TensorType type) { return type == TensorType::kInt8 ? 1 : sizeof(float); }

bool Matches(const TfLiteTensor* t, const TensorInfo& info) {
  TfLiteType want = info.type == TensorType::kInt8 ? kTfLiteInt8 : kTfLiteFloat32;
  return t != nullptr && t->type == want && t->bytes == info.n_elements * ElementBytes(info.type);
}

// What AllocateTensors() needs, learnt in the PSRAM probe arena; 0 when unknown.
size_t NeededBytes(const tflite::Model* model, const tflite::MicroOpResolver& resolver) {
  if (g_probe_arena == nullptr) return 0;
  tflite::MicroInterpreter probe(model, resolver, g_probe_arena, g_probe_bytes);
  if (probe.AllocateTensors() != kTfLiteOk) return 0;
  return probe.arena_used_bytes();
}

// Run one model from load to vector check; return true when it ran to the end.
bool RunModel(Printer& p, const ModelEntry& m, const tflite::MicroOpResolver& resolver) {
  const size_t arena_bytes = ArenaBytes(m.arena_bytes);
  PrintModel(p, m.id, m.name, m.size_bytes, arena_bytes, "internal");
  const tflite::Model* model = tflite::GetModel(m.data);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    PrintErr(p, m.id, "load", "model schema version is not the one TFLM supports");
    return false;
  }
  PrintHeap(p, Heap("before_alloc", m.id));

  VectorTally tally;
  {
    tflite::MicroInterpreter interpreter(model, resolver, g_arena, arena_bytes);
    if (interpreter.AllocateTensors() != kTfLiteOk) {
      PrintAllocFail(p, m.id, arena_bytes, NeededBytes(model, resolver));
      PrintErr(p, m.id, "alloc", "AllocateTensors() failed");
      return false;
    }
    PrintAllocOk(p, m.id, arena_bytes, interpreter.arena_used_bytes());
    PrintHeap(p, Heap("after_alloc", m.id));

    TfLiteTensor* input = interpreter.input(0);
    TfLiteTensor* output = interpreter.output(0);
    if (!Matches(input, m.input) || !Matches(output, m.output)) {
      PrintErr(p, m.id, "load", "input or output tensor differs from the generated vectors");
      return false;
    }
    const size_t in_bytes = input->bytes;
    const size_t out_bytes = output->bytes;
    const uint8_t* inputs = static_cast<const uint8_t*>(m.vector_inputs);
    const uint8_t* expected = static_cast<const uint8_t*>(m.vector_outputs);

    // The test vectors: the host's inputs, the device's outputs against the host's.
    for (size_t v = 0; v < m.n_vectors; v++) {
      memcpy(input->data.raw, inputs + v * in_bytes, in_bytes);
      if (interpreter.Invoke() != kTfLiteOk) {
        PrintErr(p, m.id, "invoke", "Invoke() failed on a test vector");
        return false;
      }
      AddVector(tally, m.output.type, output->data.raw, expected + v * out_bytes,
                m.output.n_elements, m.tolerance, m.labels[v]);
    }

    // Warm-up, then timed invokes, all on the first test vector.
    memcpy(input->data.raw, inputs, in_bytes);
    for (int i = 0; i < kWarmupRuns; i++) {
      if (interpreter.Invoke() != kTfLiteOk) {
        PrintErr(p, m.id, "invoke", "Invoke() failed during warm-up");
        return false;
      }
    }
    PrintWarmup(p, m.id, kWarmupRuns);
    for (int i = 0; i < kTimedRuns; i++) {
      int64_t start = esp_timer_get_time();
      TfLiteStatus status = interpreter.Invoke();
      int64_t end = esp_timer_get_time();
      if (status != kTfLiteOk) {
        PrintErr(p, m.id, "invoke", "Invoke() failed during timing");
        return false;
      }
      g_samples_us[i] = static_cast<int32_t>(end - start);
    }
    PrintLatency(p, m.id, g_samples_us, kTimedRuns);
    PrintHeap(p, Heap("after_invoke", m.id));
  }

#if CONFIG_TINYFW_PROFILE
  {
    // A second interpreter with a profiler, so that the timed invokes above carry no
    // profiling overhead.
    OpProfiler profiler;
    tflite::MicroInterpreter interpreter(model, resolver, g_arena, arena_bytes, nullptr,
                                         &profiler);
    if (interpreter.AllocateTensors() != kTfLiteOk) {
      PrintErr(p, m.id, "alloc", "AllocateTensors() failed for the profiled run");
      return false;
    }
    memcpy(interpreter.input(0)->data.raw, m.vector_inputs, interpreter.input(0)->bytes);
    profiler.StartInvoke();
    if (interpreter.Invoke() != kTfLiteOk) {  // warm-up
      PrintErr(p, m.id, "invoke", "Invoke() failed during profiling");
      return false;
    }
    profiler.Clear();
    for (int i = 0; i < kProfileRuns; i++) {
      profiler.StartInvoke();
      if (interpreter.Invoke() != kTfLiteOk) {
        PrintErr(p, m.id, "invoke", "Invoke() failed during profiling");
        return false;
      }
    }
    for (size_t i = 0; i < profiler.n_ops(); i++) {
      double mean_us = static_cast<double>(profiler.total_us(i)) / kProfileRuns;
      PrintOp(p, m.id, static_cast<int>(i), profiler.tag(i), mean_us, kProfileRuns);
    }
  }
#endif

  VecInfo vec{};
  vec.n = tally.n;
  vec.n_match = tally.n_match;
  vec.max_abs_diff = tally.max_abs_diff;
  vec.tol = m.tolerance;
  vec.unit = m.output.type == TensorType::kInt8 ? "q" : "f";
  vec.n_top1 = tally.n_top1;
  PrintVec(p, m.id, vec);
  return true;
}

}  // namespace

void Run() {
  Printer p(WriteLine, nullptr);

  esp_chip_info_t chip;
  esp_chip_info(&chip);
  char rev[16];
  snprintf(rev, sizeof rev, "%d.%d", chip.revision / 100, chip.revision % 100);
  uint32_t flash_bytes = 0;
  esp_flash_get_size(nullptr, &flash_bytes);
  size_t psram_bytes = 0;
#if CONFIG_SPIRAM
  psram_bytes = esp_psram_get_size();
#endif
  char fw[96];
  snprintf(fw, sizeof fw, "tinyfw-%s+m%s", esp_app_get_description()->version, kModelSetId);

  BootInfo boot{};
  boot.run = esp_random();
  boot.chip = CONFIG_IDF_TARGET;
  boot.rev = rev;
  boot.cores = chip.cores;
  boot.cpu_mhz = static_cast<int>(esp_rom_get_cpu_ticks_per_us());
  boot.flash_bytes = flash_bytes;
  boot.psram_bytes = psram_bytes;
  boot.idf = esp_get_idf_version();
  boot.fw = fw;
#if CONFIG_NN_OPTIMIZED
  boot.esp_nn = true;
#else
  boot.esp_nn = false;
#endif
  boot.board = TINYFW_BOARD;
  boot.reset = ResetReason();
  boot.n_models = static_cast<int>(kNumModels);
  boot.sim = TINYFW_SIMULATED != 0;
  PrintBoot(p, boot);
  // The free memory at boot, before the program's one heap allocation (the probe buffer below):
  // later heap records show PSRAM lower by that buffer.
  PrintHeap(p, Heap("boot", nullptr));

#if CONFIG_TINYFW_PROBE_ARENA_KB > 0 && CONFIG_SPIRAM
  g_probe_bytes = static_cast<size_t>(CONFIG_TINYFW_PROBE_ARENA_KB) * 1024;
  g_probe_arena = static_cast<uint8_t*>(heap_caps_aligned_alloc(16, g_probe_bytes,
                                                                MALLOC_CAP_SPIRAM));
  if (g_probe_arena == nullptr) g_probe_bytes = 0;
#endif

  int n_ok = 0;
  for (size_t i = 0; i < kNumModels; i++) {
    const ModelEntry& m = *kModels[i];
    bool ran = false;
    bool registered = WithResolver(i, [&](const tflite::MicroOpResolver& resolver) {
      ran = RunModel(p, m, resolver);
      return true;
    });
    if (!registered) {
      PrintModel(p, m.id, m.name, m.size_bytes, ArenaBytes(m.arena_bytes), "internal");
      PrintErr(p, m.id, "load", "registering the model's operators failed");
    }
    if (ran) n_ok++;
    vTaskDelay(1);  // let the idle task run between models
  }
  PrintHeap(p, Heap("end", nullptr));
  PrintDone(p, static_cast<int>(kNumModels), n_ok);
}

}  // namespace tinyfw

extern "C" void app_main(void) {
  // Time to open the serial port after a reset (tinyreport capture --reset needs none).
  vTaskDelay(pdMS_TO_TICKS(CONFIG_TINYFW_START_DELAY_MS));
  tinyfw::Run();
  while (true) vTaskDelay(pdMS_TO_TICKS(1000));
}
