// Print tinyreport serial records (protocol version 1, docs/reference/protocol.md).
//
// Plain C++ with no ESP-IDF or TFLM dependency: the same code runs on the board and in the
// host test harness, whose output tinyreport's own parser reads back.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinyfw {

// CRC-32 (IEEE 802.3, reflected, as zlib) of `n` bytes.
uint32_t Crc32(const char* data, size_t n);

// One record line being built: "@TR1 <type> seq=<n> key=value ... crc=<8 hex>\n".
class Record {
 public:
  static constexpr size_t kMaxChars = 480;  // before the newline, crc field included

  Record(const char* type, uint32_t seq);

  Record& Int(const char* key, long long value);
  Record& Float(const char* key, double value);  // printf("%.6g"); nan, inf, -inf
  Record& Bool(const char* key, bool value);
  Record& Str(const char* key, const char* value);  // percent-encodes all but [A-Za-z0-9_.,:/+-]
  Record& Hex8(const char* key, uint32_t value);
  Record& Hex64(const char* key, const char* hex);  // a sha256 as 64 lowercase hex digits
  Record& Ints(const char* key, const int32_t* values, size_t n);

  // Append the CRC field and the newline; return the line length, or 0 when something did not
  // fit or a value was invalid (nothing may then be printed).
  size_t Finish();
  const char* line() const { return buf_; }
  bool ok() const { return ok_; }

 private:
  void Key(const char* key);
  void Append(const char* text, size_t n);
  void Printf(const char* format, ...) __attribute__((format(printf, 2, 3)));

  char buf_[kMaxChars + 2];  // + '\n' + '\0'
  size_t len_;
  bool ok_;
};

// Writes whole lines with one call each, so other output cannot land inside a record.
using WriteFn = void (*)(const char* line, size_t n, void* context);

// Numbers records from 0 (the boot record) and writes them.
class Printer {
 public:
  Printer(WriteFn write, void* context) : write_(write), context_(context) {}

  Record Begin(const char* type) { return Record(type, seq_++); }
  // Finish and write `record`; when it cannot be printed, write an err record in its place
  // (same seq) so that the reader sees no gap. Returns whether `record` itself was written.
  bool Emit(Record& record);
  uint32_t next_seq() const { return seq_; }

 private:
  WriteFn write_;
  void* context_;
  uint32_t seq_ = 0;
};

struct BootInfo {
  uint32_t run;  // random id of this boot
  const char* chip;
  const char* rev;  // nullptr: not printed
  int cores;
  int cpu_mhz;
  unsigned long long flash_bytes;
  unsigned long long psram_bytes;
  const char* idf;
  const char* fw;
  bool esp_nn;
  const char* board;  // nullptr: not printed
  const char* reset;  // nullptr: not printed
  int n_models;       // < 0: not printed
  bool sim;           // true only in simulators and host tests, never in real firmware
};

struct HeapInfo {
  const char* at;  // boot, before_alloc, after_alloc, after_invoke, end
  const char* id;  // nullptr for boot-wide figures
  unsigned long long free_internal_bytes;
  unsigned long long free_psram_bytes;
  unsigned long long min_free_internal_bytes;
  unsigned long long largest_internal_block_bytes;
};

struct VecInfo {
  size_t n;
  size_t n_match;
  double max_abs_diff;
  double tol;
  const char* unit;  // "q" or "f"
  size_t n_top1;
};

// At most this many latency samples go in one lat record.
constexpr size_t kSamplesPerRecord = 32;

void PrintBoot(Printer& p, const BootInfo& info);
void PrintHeap(Printer& p, const HeapInfo& info);
void PrintModel(Printer& p, const char* id, const char* name, size_t size_bytes,
                size_t arena_given_bytes, const char* arena_caps);
void PrintAllocOk(Printer& p, const char* id, size_t arena_given_bytes, size_t arena_used_bytes);
// needed_bytes == 0: not known, not printed.
void PrintAllocFail(Printer& p, const char* id, size_t arena_given_bytes, size_t needed_bytes);
void PrintWarmup(Printer& p, const char* id, int n);
// Every sample, in lat records of at most kSamplesPerRecord samples each.
void PrintLatency(Printer& p, const char* id, const int32_t* samples_us, size_t n);
void PrintOp(Printer& p, const char* id, int index, const char* op, double mean_us, int n);
void PrintVec(Printer& p, const char* id, const VecInfo& info);
// id may be nullptr. stage: load, alloc, invoke, vec, other.
void PrintErr(Printer& p, const char* id, const char* stage, const char* msg);
void PrintDone(Printer& p, int n_models, int n_ok);

}  // namespace tinyfw
