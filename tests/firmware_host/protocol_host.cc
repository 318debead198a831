// Host harness for the firmware's protocol printer and vector check (firmware/main/protocol.cc,
// vectors.cc), built by tests/test_firmware_protocol.py with g++ -Wall -Wextra -Werror.
//
//   protocol_host spec      read records from stdin, one per line, and print them
//   protocol_host session   print a fixed session through the Print* functions
//   protocol_host overflow  print a record too long for one line, then one more
//   protocol_host vectors   run AddVector on fixed outputs and print the tallies
//
// spec lines: <type> TAB <seq> then TAB-separated fields <kind>:<key>:<value>, where kind is
// int, float (C hex float or nan/inf/-inf), bool (0/1), str (hex of the UTF-8 bytes),
// hex8 (decimal), hex64 (as is) or ints (comma-separated).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "protocol.h"
#include "vectors.h"

namespace {

void WriteStdout(const char* line, size_t n, void* /*context*/) {
  fwrite(line, 1, n, stdout);
  fflush(stdout);
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

std::string Unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::strtoul(hex.substr(i, 2).c_str(), nullptr, 16)));
  }
  return out;
}

int Spec() {
  char buf[1 << 16];
  while (std::fgets(buf, sizeof buf, stdin) != nullptr) {
    std::string line(buf);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> parts = Split(line, '\t');
    tinyfw::Record r(parts[0].c_str(), static_cast<uint32_t>(std::strtoul(parts[1].c_str(),
                                                                             nullptr, 10)));
    for (size_t i = 2; i < parts.size(); i++) {
      size_t a = parts[i].find(':');
      size_t b = parts[i].find(':', a + 1);
      std::string kind = parts[i].substr(0, a);
      std::string key = parts[i].substr(a + 1, b - a - 1);
      std::string value = parts[i].substr(b + 1);
      if (kind == "int") {
        r.Int(key.c_str(), std::strtoll(value.c_str(), nullptr, 10));
      } else if (kind == "float") {
        r.Float(key.c_str(), std::strtod(value.c_str(), nullptr));
      } else if (kind == "bool") {
        r.Bool(key.c_str(), value == "1");
      } else if (kind == "str") {
        r.Str(key.c_str(), Unhex(value).c_str());
      } else if (kind == "hex8") {
        r.Hex8(key.c_str(), static_cast<uint32_t>(std::strtoul(value.c_str(), nullptr, 10)));
      } else if (kind == "hex64") {
        r.Hex64(key.c_str(), value.c_str());
      } else if (kind == "ints") {
        std::vector<int32_t> values;
        for (const std::string& v : Split(value, ',')) {
          values.push_back(static_cast<int32_t>(std::strtol(v.c_str(), nullptr, 10)));
        }
        r.Ints(key.c_str(), values.data(), values.size());
      } else {
        std::fprintf(stderr, "unknown kind %s\n", kind.c_str());
        return 2;
      }
    }
    size_t n = r.Finish();
    if (n == 0) {
      std::printf("NOT PRINTED\n");
    } else {
      std::fwrite(r.line(), 1, n, stdout);
    }
  }
  return 0;
}

const char kIdA[] = "3f1c0a9e5b7d24c86e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
const char kIdB[] = "a04cbb18f1e6d29c0b7a35e2c9d8f10e6b3a2f4c5d6e7f8091a2b3c4d5e6f7a8";

int Session() {
  tinyfw::Printer p(WriteStdout, nullptr);
  std::printf("I (301) main_task: Calling app_main()\n");  // ordinary log output in between

  tinyfw::BootInfo boot{};
  boot.run = 0x5a17c0deu;
  boot.chip = "esp32s3";
  boot.rev = "0.2";
  boot.cores = 2;
  boot.cpu_mhz = 240;
  boot.flash_bytes = 8388608;
  boot.psram_bytes = 8388608;
  boot.idf = "v5.3.1";
  boot.fw = "tinyfw-v0.1.0-3-gabc1234+m40dbb0c6";
  boot.esp_nn = true;
  boot.board = "xiao_esp32s3";
  boot.reset = "POWERON";
  boot.n_models = 2;
  boot.sim = true;
  tinyfw::PrintBoot(p, boot);
  tinyfw::PrintHeap(p, {"boot", nullptr, 351232, 8321024, 350000, 300000});

  // Model A runs to the end: 70 samples make three lat records (32 + 32 + 6).
  tinyfw::PrintModel(p, kIdA, "cnn_int8", 21600, 11008, "internal");
  tinyfw::PrintHeap(p, {"before_alloc", kIdA, 351000, 8321024, 349000, 299000});
  tinyfw::PrintAllocOk(p, kIdA, 11008, 9904);
  tinyfw::PrintHeap(p, {"after_alloc", kIdA, 340000, 8321024, 339000, 290000});
  tinyfw::PrintWarmup(p, kIdA, 5);
  int32_t samples[70];
  for (int i = 0; i < 70; i++) samples[i] = 1800 + (i * 37) % 101;
  tinyfw::PrintLatency(p, kIdA, samples, 70);
  tinyfw::PrintHeap(p, {"after_invoke", kIdA, 340000, 8321024, 338000, 290000});
  tinyfw::PrintOp(p, kIdA, 0, "CONV_2D", 912.5, 10);
  tinyfw::PrintOp(p, kIdA, 1, "MAX_POOL_2D", 88.2, 10);
  tinyfw::PrintOp(p, kIdA, 2, "FULLY_CONNECTED", 1.0 / 3.0, 10);
  tinyfw::VecInfo vec{10, 9, 1.0, 0.0, "q", 8};
  tinyfw::PrintVec(p, kIdA, vec);

  // Model B does not fit its arena.
  tinyfw::PrintModel(p, kIdB, "mlp_float", 440572, 4096, "internal");
  tinyfw::PrintHeap(p, {"before_alloc", kIdB, 351000, 8321024, 338000, 299000});
  tinyfw::PrintAllocFail(p, kIdB, 4096, 8464);
  tinyfw::PrintErr(p, kIdB, "alloc", "AllocateTensors() failed");

  tinyfw::PrintHeap(p, {"end", nullptr, 351232, 8321024, 338000, 300000});
  tinyfw::PrintDone(p, 2, 1);
  return 0;
}

int Overflow() {
  tinyfw::Printer p(WriteStdout, nullptr);
  std::string msg(300, ' ');  // 300 spaces are 900 characters once percent-encoded
  tinyfw::PrintErr(p, nullptr, "other", msg.c_str());
  tinyfw::PrintDone(p, 0, 0);
  return 0;
}

int Vectors() {
  using tinyfw::TensorType;
  const int8_t want_q[3][4] = {{-128, 5, 127, 0}, {1, 2, 3, 4}, {9, 9, 9, 9}};
  const int8_t got_q[3][4] = {{-128, 5, 127, 0}, {1, 2, 5, 4}, {9, 10, 9, 9}};
  const int labels[3] = {2, 3, 0};
  tinyfw::VectorTally exact, loose;
  for (int v = 0; v < 3; v++) {
    tinyfw::AddVector(exact, TensorType::kInt8, got_q[v], want_q[v], 4, 0.0f, labels[v]);
    tinyfw::AddVector(loose, TensorType::kInt8, got_q[v], want_q[v], 4, 1.0f, labels[v]);
  }
  const float want_f[2][3] = {{0.25f, 0.5f, 0.25f}, {0.1f, 0.2f, 0.7f}};
  const float got_f[2][3] = {{0.25f, 0.5f, 0.25f}, {0.1f, 0.2f, 0.75f}};
  const int labels_f[2] = {1, 0};
  tinyfw::VectorTally floats;
  for (int v = 0; v < 2; v++) {
    tinyfw::AddVector(floats, TensorType::kFloat32, got_f[v], want_f[v], 3, 1e-5f, labels_f[v]);
  }
  for (const tinyfw::VectorTally* t : {&exact, &loose, &floats}) {
    std::printf("n=%zu match=%zu top1=%zu max_abs_diff=%.9g\n", t->n, t->n_match, t->n_top1,
                t->max_abs_diff);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "spec") return Spec();
  if (mode == "session") return Session();
  if (mode == "overflow") return Overflow();
  if (mode == "vectors") return Vectors();
  std::fprintf(stderr, "usage: protocol_host spec|session|overflow|vectors\n");
  return 2;
}
