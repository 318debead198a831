// Host stand-ins for ESP-IDF (tests only): fixed board facts, a real clock, no RTOS.
#include <cstdlib>
#include <ctime>

#include "esp_shim.h"

extern "C" {
void esp_chip_info(esp_chip_info_t* out_info) {
  out_info->model = CHIP_HOST;
  out_info->features = 0;
  out_info->revision = 2;
  out_info->cores = 1;
}
esp_err_t esp_flash_get_size(esp_flash_t*, uint32_t* out_size) {
  *out_size = 8u << 20;
  return 0;
}
size_t esp_psram_get_size(void) { return 8u << 20; }
const esp_app_desc_t* esp_app_get_description(void) {
  static const esp_app_desc_t desc = {0, 0, {0, 0}, "host-harness", "tinyfw"};
  return &desc;
}
const char* esp_get_idf_version(void) { return "none"; }
uint32_t esp_random(void) { return 0x0badcafeu; }
uint32_t esp_rom_get_cpu_ticks_per_us(void) { return 0; }
esp_reset_reason_t esp_reset_reason(void) { return ESP_RST_UNKNOWN; }
int64_t esp_timer_get_time(void) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}
// 7 MiB of PSRAM free at the start, less what heap_caps_aligned_alloc took from it, so that the
// heap records show where the program allocates.
static size_t g_psram_taken = 0;
size_t heap_caps_get_free_size(uint32_t caps) {
  return caps & MALLOC_CAP_SPIRAM ? (7u << 20) - g_psram_taken : 300000;
}
size_t heap_caps_get_minimum_free_size(uint32_t) { return 290000; }
size_t heap_caps_get_largest_free_block(uint32_t) { return 200000; }
void* heap_caps_aligned_alloc(size_t alignment, size_t size, uint32_t caps) {
  if (caps & MALLOC_CAP_SPIRAM) g_psram_taken += size;
  return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}
void vTaskDelay(TickType_t) {}
}

namespace tinyfw {
void Run();
}

int main() {
  tinyfw::Run();
  return 0;
}
