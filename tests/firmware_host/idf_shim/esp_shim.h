// Host stand-ins for the few ESP-IDF functions firmware/main/main.cc calls (tests only).
// Signatures follow ESP-IDF 5.3; the values are fixed so that a host run is recognisable.
#pragma once
#include <cstddef>
#include <cstdint>

typedef int esp_err_t;
typedef struct esp_flash_t esp_flash_t;
typedef uint32_t TickType_t;

typedef enum { CHIP_HOST = 0 } esp_chip_model_t;
typedef struct {
  esp_chip_model_t model;
  uint32_t features;
  uint16_t revision;
  uint8_t cores;
} esp_chip_info_t;

// esp_system.h of ESP-IDF v5.3, in its order.
typedef enum {
  ESP_RST_UNKNOWN, ESP_RST_POWERON, ESP_RST_EXT, ESP_RST_SW, ESP_RST_PANIC, ESP_RST_INT_WDT,
  ESP_RST_TASK_WDT, ESP_RST_WDT, ESP_RST_DEEPSLEEP, ESP_RST_BROWNOUT, ESP_RST_SDIO, ESP_RST_USB,
  ESP_RST_JTAG, ESP_RST_EFUSE, ESP_RST_PWR_GLITCH, ESP_RST_CPU_LOCKUP
} esp_reset_reason_t;

typedef struct {
  uint32_t magic_word;
  uint32_t secure_version;
  uint32_t reserv1[2];
  char version[32];
  char project_name[32];
} esp_app_desc_t;

#define MALLOC_CAP_8BIT (1 << 2)
#define MALLOC_CAP_SPIRAM (1 << 10)
#define MALLOC_CAP_INTERNAL (1 << 11)
#define pdMS_TO_TICKS(ms) ((TickType_t)(ms))

extern "C" {
void esp_chip_info(esp_chip_info_t* out_info);
esp_err_t esp_flash_get_size(esp_flash_t* chip, uint32_t* out_size);
size_t esp_psram_get_size(void);
const esp_app_desc_t* esp_app_get_description(void);
const char* esp_get_idf_version(void);
uint32_t esp_random(void);
uint32_t esp_rom_get_cpu_ticks_per_us(void);
esp_reset_reason_t esp_reset_reason(void);
int64_t esp_timer_get_time(void);
size_t heap_caps_get_free_size(uint32_t caps);
size_t heap_caps_get_minimum_free_size(uint32_t caps);
size_t heap_caps_get_largest_free_block(uint32_t caps);
void* heap_caps_aligned_alloc(size_t alignment, size_t size, uint32_t caps);
void vTaskDelay(TickType_t ticks);
}
