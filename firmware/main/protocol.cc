// Print tinyreport serial records; see protocol.h.
#include "protocol.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace tinyfw {

uint32_t Crc32(const char* data, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= static_cast<uint8_t>(data[i]);
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

namespace {

// Room kept at the end of the line for " crc=xxxxxxxx".
constexpr size_t kCrcChars = 13;

bool IsPlain(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == ',' || c == ':' || c == '/' || c == '+' || c == '-';
}

bool IsKey(const char* key) {
  if (key == nullptr || !(key[0] >= 'a' && key[0] <= 'z')) return false;
  for (const char* c = key; *c != '\0'; ++c) {
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) return false;
  }
  return std::strcmp(key, "crc") != 0;
}

}  // namespace

Record::Record(const char* type, uint32_t seq) : len_(0), ok_(true) {
  buf_[0] = '\0';
  if (!IsKey(type)) ok_ = false;
  Printf("@TR1 %s seq=%lu", type == nullptr ? "" : type, static_cast<unsigned long>(seq));
}

void Record::Append(const char* text, size_t n) {
  if (!ok_) return;
  if (len_ + n + kCrcChars > kMaxChars) {
    ok_ = false;
    return;
  }
  std::memcpy(buf_ + len_, text, n);
  len_ += n;
  buf_[len_] = '\0';
}

void Record::Printf(const char* format, ...) {
  char tmp[kMaxChars + 1];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(tmp, sizeof tmp, format, args);
  va_end(args);
  if (n < 0 || static_cast<size_t>(n) >= sizeof tmp) {
    ok_ = false;
    return;
  }
  Append(tmp, static_cast<size_t>(n));
}

void Record::Key(const char* key) {
  if (!IsKey(key)) {
    ok_ = false;
    return;
  }
  Printf(" %s=", key);
}

Record& Record::Int(const char* key, long long value) {
  Key(key);
  Printf("%lld", value);
  return *this;
}

Record& Record::Float(const char* key, double value) {
  Key(key);
  if (std::isnan(value)) {
    Append("nan", 3);
  } else if (std::isinf(value)) {
    if (value < 0) {
      Append("-inf", 4);
    } else {
      Append("inf", 3);
    }
  } else {
    Printf("%.6g", value);
  }
  return *this;
}

Record& Record::Bool(const char* key, bool value) {
  Key(key);
  Append(value ? "1" : "0", 1);
  return *this;
}

Record& Record::Str(const char* key, const char* value) {
  Key(key);
  if (value == nullptr) return *this;
  for (const char* c = value; *c != '\0'; ++c) {
    if (IsPlain(*c)) {
      Append(c, 1);
    } else {
      Printf("%%%02X", static_cast<unsigned>(static_cast<uint8_t>(*c)));
    }
  }
  return *this;
}

Record& Record::Hex8(const char* key, uint32_t value) {
  Key(key);
  Printf("%08lx", static_cast<unsigned long>(value));
  return *this;
}

Record& Record::Hex64(const char* key, const char* hex) {
  Key(key);
  size_t n = hex == nullptr ? 0 : std::strlen(hex);
  bool valid = n == 64;
  for (size_t i = 0; valid && i < n; i++) {
    valid = (hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f');
  }
  if (!valid) {
    ok_ = false;
    return *this;
  }
  Append(hex, n);
  return *this;
}

Record& Record::Ints(const char* key, const int32_t* values, size_t n) {
  Key(key);
  if (n == 0) ok_ = false;  // an ints value holds at least one number
  for (size_t i = 0; i < n; i++) {
    Printf(i == 0 ? "%ld" : ",%ld", static_cast<long>(values[i]));
  }
  return *this;
}

size_t Record::Finish() {
  if (!ok_) return 0;
  uint32_t crc = Crc32(buf_, len_);
  int n = std::snprintf(buf_ + len_, sizeof buf_ - len_, " crc=%08lx\n",
                        static_cast<unsigned long>(crc));
  if (n != static_cast<int>(kCrcChars) + 1) {
    ok_ = false;
    return 0;
  }
  len_ += static_cast<size_t>(n);
  return len_;
}

bool Printer::Emit(Record& record) {
  size_t n = record.Finish();
  if (n > 0) {
    write_(record.line(), n, context_);
    return true;
  }
  // The record could not be printed: say so under its seq, so no record looks lost.
  Record err("err", seq_ - 1);
  err.Str("stage", "other").Str("msg", "record too long or invalid; not printed");
  n = err.Finish();
  if (n > 0) write_(err.line(), n, context_);
  return false;
}

void PrintBoot(Printer& p, const BootInfo& info) {
  Record r = p.Begin("boot");
  r.Hex8("run", info.run).Str("chip", info.chip);
  if (info.rev != nullptr) r.Str("rev", info.rev);
  r.Int("cores", info.cores)
      .Int("cpu_mhz", info.cpu_mhz)
      .Int("flash_bytes", static_cast<long long>(info.flash_bytes))
      .Int("psram_bytes", static_cast<long long>(info.psram_bytes))
      .Str("idf", info.idf)
      .Str("fw", info.fw)
      .Bool("esp_nn", info.esp_nn);
  if (info.board != nullptr) r.Str("board", info.board);
  if (info.reset != nullptr) r.Str("reset", info.reset);
  if (info.n_models >= 0) r.Int("n_models", info.n_models);
  if (info.sim) r.Bool("sim", true);
  p.Emit(r);
}

void PrintHeap(Printer& p, const HeapInfo& info) {
  Record r = p.Begin("heap");
  if (info.id != nullptr) r.Hex64("id", info.id);
  r.Str("at", info.at)
      .Int("free_internal_bytes", static_cast<long long>(info.free_internal_bytes))
      .Int("free_psram_bytes", static_cast<long long>(info.free_psram_bytes))
      .Int("min_free_internal_bytes", static_cast<long long>(info.min_free_internal_bytes))
      .Int("largest_internal_block_bytes",
           static_cast<long long>(info.largest_internal_block_bytes));
  p.Emit(r);
}

void PrintModel(Printer& p, const char* id, const char* name, size_t size_bytes,
                size_t arena_given_bytes, const char* arena_caps) {
  Record r = p.Begin("model");
  r.Hex64("id", id)
      .Str("name", name)
      .Int("size_bytes", static_cast<long long>(size_bytes))
      .Int("arena_given_bytes", static_cast<long long>(arena_given_bytes));
  if (arena_caps != nullptr) r.Str("arena_caps", arena_caps);
  p.Emit(r);
}

void PrintAllocOk(Printer& p, const char* id, size_t arena_given_bytes, size_t arena_used_bytes) {
  Record r = p.Begin("alloc");
  r.Hex64("id", id)
      .Str("status", "ok")
      .Int("arena_given_bytes", static_cast<long long>(arena_given_bytes))
      .Int("arena_used_bytes", static_cast<long long>(arena_used_bytes));
  p.Emit(r);
}

void PrintAllocFail(Printer& p, const char* id, size_t arena_given_bytes, size_t needed_bytes) {
  Record r = p.Begin("alloc");
  r.Hex64("id", id).Str("status", "fail").Int("arena_given_bytes",
                                               static_cast<long long>(arena_given_bytes));
  if (needed_bytes > 0) r.Int("arena_needed_bytes", static_cast<long long>(needed_bytes));
  p.Emit(r);
}

void PrintWarmup(Printer& p, const char* id, int n) {
  Record r = p.Begin("warmup");
  r.Hex64("id", id).Int("n", n);
  p.Emit(r);
}

void PrintLatency(Printer& p, const char* id, const int32_t* samples_us, size_t n) {
  for (size_t start = 0; start < n; start += kSamplesPerRecord) {
    size_t count = n - start < kSamplesPerRecord ? n - start : kSamplesPerRecord;
    Record r = p.Begin("lat");
    r.Hex64("id", id)
        .Int("i", static_cast<long long>(start))
        .Ints("us", samples_us + start, count);
    p.Emit(r);
  }
}

void PrintOp(Printer& p, const char* id, int index, const char* op, double mean_us, int n) {
  Record r = p.Begin("op");
  r.Hex64("id", id).Int("i", index).Str("op", op).Float("us", mean_us).Int("n", n);
  p.Emit(r);
}

void PrintVec(Printer& p, const char* id, const VecInfo& info) {
  Record r = p.Begin("vec");
  r.Hex64("id", id)
      .Int("n", static_cast<long long>(info.n))
      .Int("match", static_cast<long long>(info.n_match))
      .Float("max_abs_diff", info.max_abs_diff)
      .Float("tol", info.tol)
      .Str("unit", info.unit)
      .Int("top1", static_cast<long long>(info.n_top1));
  p.Emit(r);
}

void PrintErr(Printer& p, const char* id, const char* stage, const char* msg) {
  Record r = p.Begin("err");
  if (id != nullptr) r.Hex64("id", id);
  r.Str("stage", stage).Str("msg", msg);
  p.Emit(r);
}

void PrintDone(Printer& p, int n_models, int n_ok) {
  Record r = p.Begin("done");
  r.Int("n_models", n_models).Int("n_ok", n_ok);
  p.Emit(r);
}

}  // namespace tinyfw
