"""Build and run the host harnesses for the firmware sources (g++, no ESP-IDF, no TFLM)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyreport.analysis.tflite_reader import RESOLVER_METHODS

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
FIRMWARE_MAIN = ROOT / "firmware" / "main"
GENERATED = FIRMWARE_MAIN / "generated"
# What ESP-IDF asks of main (-Wall -Wextra, warnings as errors) and a little more.
GXX = ["g++", "-std=c++17", "-O0", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wdouble-promotion"]


def have_gxx() -> bool:
    return shutil.which("g++") is not None


def stub_resolver_header() -> str:
    """A stand-in for TFLM's micro_mutable_op_resolver.h that records what is registered.

    It has every `Add*` method the model reader knows, and refuses an operator registered twice
    or one more than the resolver's capacity, as TFLM does.
    """
    methods = "\n".join(
        f'  TfLiteStatus {m}() {{ return Add("{m}"); }}'
        for m in sorted(set(RESOLVER_METHODS.values()))
    )
    return f"""// Host stub of TFLM's MicroMutableOpResolver: records the operators registered.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

typedef enum {{ kTfLiteOk = 0, kTfLiteError = 1 }} TfLiteStatus;

namespace tflite {{
namespace stub {{
inline std::vector<std::string>& Registered() {{
  static std::vector<std::string> names;
  return names;
}}
}}  // namespace stub

class MicroOpResolver {{
 public:
  virtual ~MicroOpResolver() = default;
  virtual size_t capacity() const = 0;
}};

template <unsigned int tOpCount>
class MicroMutableOpResolver : public MicroOpResolver {{
 public:
  size_t capacity() const override {{ return tOpCount; }}
{methods}

 private:
  TfLiteStatus Add(const char* name) {{
    for (const std::string& seen : mine_) {{
      if (seen == name) return kTfLiteError;
    }}
    if (mine_.size() >= tOpCount) return kTfLiteError;
    mine_.push_back(name);
    stub::Registered().push_back(name);
    return kTfLiteOk;
  }}
  std::vector<std::string> mine_;
}};
}}  // namespace tflite
"""


def compile_cxx(sources: list[Path], includes: list[Path], out: Path) -> Path:
    """Compile and link with the strict flags; fail the test with the compiler's output."""
    cmd = [*GXX, *(f"-I{p}" for p in includes), *map(str, sources), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"g++ failed:\n{' '.join(cmd)}\n{proc.stderr}")
    return out


@dataclass
class HarnessModel:
    """What the models harness read back from one compiled ModelEntry."""

    index: int
    name: str
    id: str
    size: int
    aligned16: bool
    arena: int
    planned: int
    n_ops: int
    input: tuple[str, int, float, int]
    output: tuple[str, int, float, int]
    n_vectors: int
    tolerance: float
    capacity: int
    registered_ok: bool
    ops: tuple[str, ...]
    data: bytes
    inputs: np.ndarray
    outputs: np.ndarray
    labels: np.ndarray


_LINE = re.compile(
    r"(?P<i>\d+) (?P<name>\S+) (?P<id>\S+) size=(?P<size>\d+) align16=(?P<align>[01]) "
    r"arena=(?P<arena>\d+) planned=(?P<planned>\d+) n_ops=(?P<n_ops>\d+) in=(?P<inp>\S+) "
    r"out=(?P<out>\S+) vectors=(?P<vectors>\d+) tol=(?P<tol>\S+) capacity=(?P<cap>\d+) "
    r"ops=(?P<ok>ok|FAILED)(?P<ops>(?: \w+)*)$"
)


def _tensor(text: str) -> tuple[str, int, float, int]:
    dtype, n, scale, zp = text.split(":")
    return dtype, int(n), float(scale), int(zp)


def run_models_harness(generated: Path, work: Path) -> tuple[dict, list[HarnessModel]]:
    """Compile `generated` with the models harness, run it, and read back every model."""
    stub = work / "stub" / "tensorflow" / "lite" / "micro"
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "micro_mutable_op_resolver.h").write_text(stub_resolver_header())
    sources = [HERE / "models_host.cc", *sorted(generated.glob("*.cc"))]
    exe = compile_cxx(sources, [work / "stub", FIRMWARE_MAIN, generated], work / "models_host")
    dump = work / "dump"
    dump.mkdir(exist_ok=True)
    proc = subprocess.run([str(exe), str(dump)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = dict(kv.split("=", 1) for kv in lines[0].split())
    header["past_end"] = lines[-1]
    models = []
    for line in lines[1:-1]:
        m = _LINE.match(line)
        assert m is not None, line
        i = int(m["i"])
        inp, out = _tensor(m["inp"]), _tensor(m["out"])
        in_dtype = np.int8 if inp[0] == "int8" else np.float32
        out_dtype = np.int8 if out[0] == "int8" else np.float32
        n_vec = int(m["vectors"])
        models.append(
            HarnessModel(
                index=i,
                name=m["name"],
                id=m["id"],
                size=int(m["size"]),
                aligned16=m["align"] == "1",
                arena=int(m["arena"]),
                planned=int(m["planned"]),
                n_ops=int(m["n_ops"]),
                input=inp,
                output=out,
                n_vectors=n_vec,
                tolerance=float(m["tol"]),
                capacity=int(m["cap"]),
                registered_ok=m["ok"] == "ok",
                ops=tuple(m["ops"].split()),
                data=(dump / f"{i}.model").read_bytes(),
                inputs=np.fromfile(dump / f"{i}.inputs", dtype=in_dtype).reshape(n_vec, inp[1]),
                outputs=np.fromfile(dump / f"{i}.outputs", dtype=out_dtype).reshape(n_vec, out[1]),
                labels=np.fromfile(dump / f"{i}.labels", dtype=np.uint8),
            )
        )
    return header, models


def build_protocol_harness(work: Path) -> Path:
    """Compile the protocol printer and vector check with their host harness."""
    sources = [
        HERE / "protocol_host.cc",
        FIRMWARE_MAIN / "protocol.cc",
        FIRMWARE_MAIN / "vectors.cc",
    ]
    return compile_cxx(sources, [FIRMWARE_MAIN], work / "protocol_host")
