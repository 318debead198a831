// Host stand-in for ESP-IDF's generated sdkconfig.h (tests only).
#pragma once
#define CONFIG_IDF_TARGET "host"
#define CONFIG_SPIRAM 1
#define CONFIG_TINYFW_START_DELAY_MS 0
#define CONFIG_TINYFW_WARMUP_RUNS 2
#define CONFIG_TINYFW_TIMED_RUNS 40
#define CONFIG_TINYFW_PROFILE 1
#define CONFIG_TINYFW_PROFILE_RUNS 3
#define CONFIG_TINYFW_PROBE_ARENA_KB 1024
#ifndef CONFIG_TINYFW_ARENA_PERCENT  // the tests set it to make allocations fail
#define CONFIG_TINYFW_ARENA_PERCENT 100
#endif
// CONFIG_NN_OPTIMIZED is not set: the host library has TFLM's reference kernels.
