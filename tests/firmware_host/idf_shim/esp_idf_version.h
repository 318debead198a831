// Host stand-in (tests only).
#pragma once
#include "esp_shim.h"
