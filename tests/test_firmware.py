"""The firmware generator and the generated sources, checked on the host (no ESP32 here).

The generated C++ is compiled with g++ -Wall -Wextra -Werror in a harness that links every
model array (TFLM's op resolver replaced by a stub that records what is registered) and dumps
the arrays, which are compared with the .tflite files, the test set and the host's TFLM.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from firmware_host.harness import FIRMWARE_MAIN, GENERATED, ROOT, have_gxx, run_models_harness
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyreport.analysis.tflite_reader import parse_model, read_model
from tinyreport.config import load_config, parse_config
from tinyreport.dataset import BUNDLED_MNIST, MNIST_SHA256, preprocess, quantize
from tinyreport.device import firmware

FIRMWARE = ROOT / "firmware"


def _test_set(k: int) -> tuple[np.ndarray, np.ndarray]:
    with np.load(BUNDLED_MNIST) as npz:
        return npz["x_test"][:k], npz["y_test"][:k]


def _expected_vectors(model, images: np.ndarray) -> np.ndarray:
    tensor = model.tensors[model.inputs[0]]
    x = preprocess(images)
    if tensor.dtype == "INT8":
        q = tensor.quantization
        x = quantize(x, q.scales[0], q.zero_points[0])
    return x.reshape(len(images), -1)


# --- pure helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [0.0, 1.0, -1.0, 1e-5, 0.00390625, 1 / 255, 3.4028234663852886e38, 1.4e-45, 0.1]
)
def test_c_float_reads_back_as_the_same_float32(value):
    text = firmware.c_float(value)
    assert text.endswith("f") and re.fullmatch(r"-?[0-9.]+(e[-+][0-9]+)?f", text), text
    assert np.float32(text[:-1]) == np.float32(value)


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_any_float32_reads_back_exactly(value):
    assert np.float32(firmware.c_float(value)[:-1]) == np.float32(value)


def test_c_float_refuses_non_finite_values():
    with pytest.raises(firmware.FirmwareError, match="non-finite"):
        firmware.c_float(float("nan"))


# --- the committed generated folder (no TensorFlow, no artifacts needed) ----------------------


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    assert have_gxx(), "g++ is required (scripts/test installs it)"
    return run_models_harness(GENERATED, tmp_path_factory.mktemp("committed"))


def _committed_results() -> dict:
    return json.loads((ROOT / "docs" / "data" / "results.json").read_text())


def test_committed_sources_embed_exactly_the_published_models(committed):
    """firmware/main/generated/ holds the .tflite files docs/data/results.json describes."""
    header, models = committed
    results = _committed_results()
    published = [
        (f"{m['name']}_{kind.removeprefix('tflite_')}", m["variants"][kind])
        for m in results["models"]
        for kind in firmware.VARIANTS
    ]
    assert [m.name for m in models] == [name for name, _ in published], (
        "firmware/main/generated/ is out of date: run `tinyreport firmware` and commit it"
    )
    assert int(header["n_models"]) == len(published)
    for m, (_, variant) in zip(models, published, strict=True):
        assert m.id == variant["sha256"], f"{m.name}: regenerate with `tinyreport firmware`"
        assert m.size == variant["size_bytes"] == len(m.data)
        assert hashlib.sha256(m.data).hexdigest() == m.id
        assert m.aligned16


def test_committed_resolvers_register_exactly_each_models_operators(committed):
    header, models = committed
    for m in models:
        model = parse_model(m.data, m.name)
        assert m.registered_ok
        assert m.ops == model.resolver_methods
        assert m.capacity == len(model.resolver_methods) == len(set(model.op_types))
        assert m.n_ops == len(model.operators)
    assert int(header["max_ops"]) == max(m.n_ops for m in models)
    assert header["past_end"] == "past_end=0"


def test_committed_arena_sizes_follow_the_planner_and_margin(committed, tmp_path):
    header, models = committed
    for m in models:
        path = tmp_path / f"{m.name}.tflite"
        path.write_bytes(m.data)
        arena = firmware.arena_size(path)
        assert (m.arena, m.planned) == (arena.given_bytes, arena.planned_bytes)
        assert m.arena >= m.planned + 1024 and m.arena % 1024 == 0
    assert int(header["max_arena"]) == max(m.arena for m in models)


def test_a_device_log_confirming_the_arena_drops_the_margin(committed, tmp_path):
    """The margin policy: a measured device run of the same model that used exactly the
    computed arena confirms it; a simulated run, another model or another figure does not."""
    _, models = committed
    m = models[0]
    path = tmp_path / f"{m.name}.tflite"
    path.write_bytes(m.data)
    target = m.planned

    def run(model_id=m.id, provenance="measured-device", used=target):
        return {
            "model_id": model_id,
            "provenance": provenance,
            "arena": {"status": "ok", "used_bytes": used},
            "source": {"path": "benchmarks/logs/x.log"},
        }

    unconfirmed = firmware.arena_size(path)
    for runs in (
        [],
        [run(provenance="simulated")],
        [run(model_id="0" * 64)],
        [run(used=target + 16)],
    ):
        assert firmware.arena_size(path, device_runs=runs) == unconfirmed
    confirmed = firmware.arena_size(path, device_runs=[run(provenance="simulated"), run()])
    assert confirmed.planned_bytes == target
    assert confirmed.given_bytes == -(-target // 1024) * 1024 < unconfirmed.given_bytes
    assert "confirmed by the device log benchmarks/logs/x.log" in confirmed.basis


def test_committed_vectors_are_the_test_set_and_the_host_tflm_outputs(committed, tmp_path):
    """Inputs: the first K test images through data.preprocess/quantize; outputs: host TFLM."""
    _, models = committed
    for m in models:
        model = parse_model(m.data, m.name)
        images, labels = _test_set(m.n_vectors)
        np.testing.assert_array_equal(m.inputs, _expected_vectors(model, images))
        np.testing.assert_array_equal(m.labels, labels)
        tin, tout = model.tensors[model.inputs[0]], model.tensors[model.outputs[0]]
        if tin.dtype == "INT8":
            assert m.input == ("int8", 784, pytest.approx(tin.quantization.scales[0]), -128)
            assert m.output[0] == "int8" and m.output[3] == tout.quantization.zero_points[0]
            assert m.tolerance == 0.0
        else:
            assert m.input == ("float32", 784, 0.0, 0) and m.output[0] == "float32"
            assert m.tolerance == pytest.approx(1e-5)
        path = tmp_path / f"{m.name}.tflite"
        path.write_bytes(m.data)
        batch = m.inputs.reshape(m.n_vectors, *tin.shape)
        np.testing.assert_array_equal(
            firmware.host_outputs(path, batch).reshape(m.outputs.shape), m.outputs
        )
        # The classes the firmware will expect are the ones LiteRT predicts for the same file
        # and images (what the published accuracy was measured with), image for image.
        from tinyreport.pipeline.evaluate import tflite_predict

        np.testing.assert_array_equal(
            m.outputs.argmax(axis=1), tflite_predict(m.data, preprocess(images))
        )


# --- the generator end to end on small models built here (TensorFlow) -------------------------


SMALL = """\
[dataset]
n_train = 100
n_test = 100
[models.tiny]
kind = "cnn"
filters = [8, 16]
dense = 32
"""


def _small_project(tmp_path: Path) -> Path:
    """A project whose results file lists a seeded CNN (float and int8) built by tests/graphs."""
    from graphs import build_all

    root = tmp_path / "project"
    built = build_all(root / "artifacts", ["mnist_cnn"])
    (root / "tinyreport.toml").write_text(SMALL)
    variants = {}
    for kind, key in (("tflite_int8", "mnist_cnn_int8"), ("tflite_float", "mnist_cnn_float")):
        path = built[key]
        variants[kind] = {
            "path": path.relative_to(root).as_posix(),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "size_bytes": path.stat().st_size,
        }
    results = {
        "format": 2,
        "dataset": {"sha256": MNIST_SHA256},
        "models": [{"name": "tiny", "variants": variants}],
    }
    (root / "docs" / "data").mkdir(parents=True)
    (root / "docs" / "data" / "results.json").write_text(json.dumps(results))
    return root


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = _small_project(tmp_path_factory.mktemp("small"))
    config = load_config(root / "tinyreport.toml")
    summary = firmware.generate(config, n_vectors=4)
    return root, config, summary


@pytest.mark.slow
def test_generate_writes_the_folder_and_is_deterministic(small, tmp_path):
    root, config, summary = small
    out = root / "firmware" / "main" / "generated"
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "model_tiny_float.cc",
        "model_tiny_int8.cc",
        "models.cc",
        "models.h",
        "resolvers.h",
        "sources.cmake",
    ]
    assert summary.startswith("2 models with 4 test vectors each: tiny_int8 (")
    before = {name: (out / name).read_bytes() for name in names}
    # Same inputs, same bytes: again in place (nothing rewritten) and into a fresh folder.
    assert firmware.generate(config, n_vectors=4).endswith(f"0 file(s) changed in {out}")
    firmware.generate(config, n_vectors=4, out=tmp_path / "again")
    for name in names:
        assert (out / name).read_bytes() == before[name] == (tmp_path / "again" / name).read_bytes()
    for text in before.values():
        assert text.decode().startswith(
            firmware.MARKER.replace("//", "#", 1)
        ) or text.decode().startswith(firmware.MARKER)


@pytest.mark.slow
def test_generated_sources_compile_and_hold_the_models_bytes(small, tmp_path):
    root, _, _ = small
    header, models = run_models_harness(root / "firmware" / "main" / "generated", tmp_path)
    results = json.loads((root / "docs" / "data" / "results.json").read_text())
    variants = results["models"][0]["variants"]
    assert [m.name for m in models] == ["tiny_int8", "tiny_float"]
    for m, kind in zip(models, ("tflite_int8", "tflite_float"), strict=True):
        path = root / variants[kind]["path"]
        assert m.data == path.read_bytes() and m.aligned16
        assert m.id == variants[kind]["sha256"]
        model = read_model(path)
        assert m.registered_ok and m.ops == model.resolver_methods
        assert {"AddConv2D", "AddMaxPool2D", "AddFullyConnected", "AddSoftmax"} <= set(m.ops)
        assert m.capacity == len(m.ops) == len(set(model.op_types))
        assert m.arena == firmware.arena_size(path).given_bytes
        images, labels = _test_set(4)
        np.testing.assert_array_equal(m.inputs, _expected_vectors(model, images))
        np.testing.assert_array_equal(m.labels, labels)
    assert header["n_models"] == "2"


@pytest.mark.slow
def test_expected_outputs_agree_with_tflite(small, tmp_path):
    """The host TFLM outputs embedded as expected values agree with the TFLite interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    root, _, _ = small
    _, models = run_models_harness(root / "firmware" / "main" / "generated", tmp_path)
    for m in models:
        interpreter = Interpreter(model_content=m.data)
        interpreter.allocate_tensors()
        (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
        for x, want in zip(m.inputs, m.outputs, strict=True):
            interpreter.set_tensor(inp["index"], x.reshape(inp["shape"]))
            interpreter.invoke()
            got = interpreter.get_tensor(out["index"]).reshape(-1)
            if m.output[0] == "int8":
                assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
            else:
                np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.slow
def test_cli_writes_the_folder(small, tmp_path):
    import subprocess
    import sys

    root, _, _ = small
    proc = subprocess.run(
        [sys.executable, "-m", "tinyreport", "firmware", "--vectors", "3", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("2 models with 3 test vectors each: tiny_int8 (")
    assert "const uint8_t kLabels[3] = {" in (tmp_path / "model_tiny_int8.cc").read_text()


@pytest.mark.slow
def test_stale_generated_files_go_and_others_stay(small, tmp_path):
    root, config, _ = small
    out = tmp_path / "gen"
    out.mkdir()
    (out / "model_old_int8.cc").write_text(firmware.MARKER + "\n// a model no longer listed\n")
    (out / "README.md").write_text("mine\n")
    firmware.generate(config, n_vectors=4, out=out)
    assert not (out / "model_old_int8.cc").exists()
    assert (out / "README.md").read_text() == "mine\n"


@pytest.mark.slow
def test_generate_stamps_the_components_cmakelists_or_says_to_clean(small, tmp_path):
    _, config, _ = small
    main = tmp_path / "main"
    main.mkdir()
    shutil.copy(FIRMWARE_MAIN / "CMakeLists.txt", main)
    summary = firmware.generate(config, n_vectors=4, out=main / "generated")
    sources = (main / "generated" / "sources.cmake").read_text()
    assert firmware.cmake_stamp(sources) in (main / "CMakeLists.txt").read_text().splitlines()
    assert summary.endswith("updated for the new file list, so that `pio run` re-runs CMake")
    again = firmware.generate(config, n_vectors=4, out=main / "generated")
    assert again.endswith(f"0 file(s) changed in {main / 'generated'}")
    # A folder whose parent has no stamped CMakeLists.txt: the user is told to clean.
    other = firmware.generate(config, n_vectors=4, out=tmp_path / "elsewhere" / "generated")
    assert other.endswith(
        "run `pio run -t fullclean` before the next `pio run` (idf.py notices by itself)"
    )


# --- bad input: one sentence, no traceback -----------------------------------------------------


def _config(tmp_path: Path):
    return parse_config({"models": {"mlp": {"kind": "mlp"}}}, root=tmp_path)


def test_no_results_file_says_run_collect_first(tmp_path):
    with pytest.raises(firmware.FirmwareError, match=r"run `tinyreport collect` first\.$"):
        firmware.generate(_config(tmp_path))


def test_missing_artifact_says_run_collect_first(tmp_path):
    results = tmp_path / "docs" / "data" / "results.json"
    results.parent.mkdir(parents=True)
    variant = {"path": "artifacts/mlp/int8.tflite", "sha256": "0" * 64}
    results.write_text(
        json.dumps(
            {
                "format": 2,
                "dataset": {"sha256": MNIST_SHA256},
                "models": [{"name": "mlp", "variants": {"tflite_int8": variant}}],
            }
        )
    )
    with pytest.raises(
        firmware.FirmwareError, match=r"artifacts/mlp/int8\.tflite .*does not exist; run"
    ):
        firmware.generate(_config(tmp_path))


def test_vector_count_is_checked(tmp_path):
    with pytest.raises(firmware.FirmwareError, match="--vectors must be between 1 and 100"):
        firmware.generate(_config(tmp_path), n_vectors=0)


def test_cli_reports_a_missing_results_file(tmp_path):
    import subprocess
    import sys

    (tmp_path / "tinyreport.toml").write_text('[models.mlp]\nkind = "mlp"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "tinyreport", "firmware", "--config", "tinyreport.toml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("tinyreport: error: There is no results file at ")
    assert proc.stderr.rstrip().endswith("run `tinyreport collect` first.")
    assert "Traceback" not in proc.stderr


# --- the ESP-IDF / PlatformIO project files ---------------------------------------------------


def _partitions() -> list[dict]:
    rows = []
    for line in (FIRMWARE / "partitions.csv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, ptype, subtype, offset, size = (c.strip() for c in line.split(",")[:5])
            rows.append(
                {"name": name, "type": ptype, "subtype": subtype,
                 "offset": int(offset, 0), "size": int(size, 0)}
            )  # fmt: skip
    return rows


def _sdkconfig_defaults() -> dict[str, str]:
    values = {}
    for line in (FIRMWARE / "sdkconfig.defaults").read_text().splitlines():
        m = re.fullmatch(r"(CONFIG_\w+)=(.*)", line.strip())
        if m:
            values[m[1]] = m[2]
        m = re.fullmatch(r"# (CONFIG_\w+) is not set", line.strip())
        if m:
            values[m[1]] = "n"
    return values


def test_partition_table_fits_the_flash_and_the_models():
    sdk = _sdkconfig_defaults()
    table_offset = int(sdk["CONFIG_PARTITION_TABLE_OFFSET"], 0)
    rows = _partitions()
    assert rows[0]["offset"] >= table_offset + 0x1000  # the table itself takes 4 KB
    end = table_offset + 0x1000
    for row in rows:
        assert row["offset"] >= end, f"{row['name']} overlaps the partition before it"
        if row["type"] == "app":
            assert row["offset"] % 0x10000 == 0  # app partitions are 64 KB aligned
        end = row["offset"] + row["size"]
    assert end <= 8 * 1024 * 1024  # the XIAO ESP32-S3's 8 MB flash
    (app,) = [r for r in rows if r["type"] == "app"]
    model_bytes = sum(
        m["variants"][k]["size_bytes"] for m in _committed_results()["models"]
        for k in firmware.VARIANTS
    )  # fmt: skip
    # The models plus 1.5 MB for TFLM, ESP-NN and ESP-IDF (about 0.5 MB in esp-tflite-micro's
    # examples) fit, with room to spare.
    assert model_bytes + 1536 * 1024 <= app["size"]


def test_sdkconfig_defaults_describe_the_xiao_esp32s3():
    sdk = _sdkconfig_defaults()
    expected = {
        "CONFIG_IDF_TARGET": '"esp32s3"',
        "CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_240": "y",
        "CONFIG_ESPTOOLPY_FLASHSIZE_8MB": "y",
        "CONFIG_SPIRAM": "y",
        "CONFIG_SPIRAM_MODE_OCT": "y",
        "CONFIG_ESP_CONSOLE_USB_SERIAL_JTAG": "y",
        "CONFIG_PARTITION_TABLE_CUSTOM": "y",
        "CONFIG_PARTITION_TABLE_CUSTOM_FILENAME": '"partitions.csv"',
        "CONFIG_NEWLIB_NANO_FORMAT": "n",
    }
    assert {k: sdk.get(k) for k in expected} == expected
    assert int(sdk["CONFIG_ESP_MAIN_TASK_STACK_SIZE"]) >= 8192


def test_component_manifest_and_cmake_files_agree():
    manifest = (FIRMWARE_MAIN / "idf_component.yml").read_text()
    assert re.search(r'^  idf: ">=5\.3"$', manifest, re.M)
    top = (FIRMWARE / "CMakeLists.txt").read_text()
    assert "include($ENV{IDF_PATH}/tools/cmake/project.cmake)" in top
    main = (FIRMWARE_MAIN / "CMakeLists.txt").read_text()
    assert "include(${CMAKE_CURRENT_LIST_DIR}/generated/sources.cmake)" in main
    listed = set(re.findall(r'"([\w/]+\.cc)"', main))
    assert listed == {p.name for p in FIRMWARE_MAIN.glob("*.cc")}
    sources = (GENERATED / "sources.cmake").read_text()
    assert set(re.findall(r'"generated/([\w.]+\.cc)"', sources)) == {
        p.name for p in GENERATED.glob("*.cc")
    }


def test_components_are_pinned_to_the_releases_the_planner_models():
    """esp-tflite-micro and esp-nn are pinned to exact releases, the ones
    tinyreport/analysis/arena.py's ESP32-S3 profile and its docs were written from:
    esp-tflite-micro 1.3.8 accepts any esp-nn from 1.1.1 on, and a newer esp-nn asks for more
    convolution scratch than the planner plans."""
    from tinyreport.analysis import arena as memory

    manifest = (FIRMWARE_MAIN / "idf_component.yml").read_text()
    pins = dict(re.findall(r'^  espressif/([\w-]+): "==(\d+\.\d+\.\d+)"$', manifest, re.M))
    assert pins == {
        "esp-tflite-micro": memory.ESP_TFLITE_MICRO_VERSION,
        "esp-nn": memory.ESP_NN_VERSION,
    }, manifest
    sources = {
        "tinyreport/analysis/arena.py": Path(memory.__file__).read_text(),
        "docs/reference/analysis.md": (ROOT / "docs" / "reference" / "analysis.md").read_text(),
        "docs/firmware.md": (ROOT / "docs" / "firmware.md").read_text(),
    }
    assert "esp-nn v" + pins["esp-nn"] in memory.esp_nn_scratch.__doc__
    assert f"esp-tflite-micro {memory.ESP_TFLITE_MICRO_VERSION} with ESP-NN" in (
        memory.ESP32S3.description
    )
    for component, pin in pins.items():
        for where, text in sources.items():
            named = set(re.findall(rf"{component} v?(\d+(?:\.\d+)+)", text))
            assert pin in named, f"{where} does not name {component} {pin}"
            if where == "tinyreport/analysis/arena.py":
                # The planner names no other release ("esp-tflite-micro 1.3" is the pinned one's).
                assert all(pin == v or pin.startswith(v + ".") for v in named), named


def test_main_cmakelists_names_the_committed_file_list():
    """`tinyreport firmware` keeps this line; a commit of new generated sources without it
    would leave PlatformIO building the old file list."""
    sources = (GENERATED / "sources.cmake").read_text()
    main = (FIRMWARE_MAIN / "CMakeLists.txt").read_text().splitlines()
    assert firmware.cmake_stamp(sources) in main
    assert main.index(firmware.cmake_stamp(sources)) + 1 == main.index(
        "include(${CMAKE_CURRENT_LIST_DIR}/generated/sources.cmake)"
    )


def test_a_new_file_list_makes_platformio_reconfigure(tmp_path):
    """platform-espressif32 re-runs CMake when main/CMakeLists.txt is newer than CMakeCache.txt
    (builder/frameworks/espidf.py, is_cmake_reconfigure_required): a new file list must make it
    so, the same list must not."""
    cmakelists, cache = tmp_path / "CMakeLists.txt", tmp_path / "CMakeCache.txt"
    shutil.copy(FIRMWARE_MAIN / "CMakeLists.txt", cmakelists)
    cache.write_text("")
    os.utime(cmakelists, (1_000_000, 1_000_000))
    os.utime(cache, (2_000_000, 2_000_000))
    sources = (GENERATED / "sources.cmake").read_text()
    assert firmware.stamp_cmakelists(cmakelists, sources) is False
    assert cmakelists.stat().st_mtime < cache.stat().st_mtime
    fewer = re.sub(r'^    "generated/model_cnn_float\.cc"\n', "", sources, flags=re.M)
    assert fewer != sources
    assert firmware.stamp_cmakelists(cmakelists, fewer) is True
    assert cmakelists.stat().st_mtime > cache.stat().st_mtime
    text = cmakelists.read_text()
    assert firmware.cmake_stamp(fewer) in text.splitlines()
    assert (
        text.replace(firmware.cmake_stamp(fewer), firmware.cmake_stamp(sources))
        == (FIRMWARE_MAIN / "CMakeLists.txt").read_text()
    )  # only the stamp line changed
    # No file, or no stamp line: nothing is written, and generate() says to clean instead.
    assert firmware.stamp_cmakelists(tmp_path / "missing.txt", sources) is None
    (tmp_path / "plain.txt").write_text("project(x)\n")
    assert firmware.stamp_cmakelists(tmp_path / "plain.txt", fewer) is None
    assert (tmp_path / "plain.txt").read_text() == "project(x)\n"


def test_every_kconfig_option_the_program_uses_is_declared():
    kconfig = (FIRMWARE_MAIN / "Kconfig.projbuild").read_text()
    declared = set(re.findall(r"^    config (TINYFW_\w+)$", kconfig, re.M))
    used = set(re.findall(r"CONFIG_(TINYFW_\w+)", (FIRMWARE_MAIN / "main.cc").read_text()))
    assert used and used <= declared


# esp_reset_reason_t in components/esp_system/include/esp_system.h of ESP-IDF v5.3, in order.
RESET_REASONS_IDF_5_3 = (
    "UNKNOWN", "POWERON", "EXT", "SW", "PANIC", "INT_WDT", "TASK_WDT", "WDT", "DEEPSLEEP",
    "BROWNOUT", "SDIO", "USB", "JTAG", "EFUSE", "PWR_GLITCH", "CPU_LOCKUP",
)  # fmt: skip


def test_every_reset_reason_of_esp_idf_5_3_is_printed_by_its_name():
    """USB above all: it is what `idf.py flash` and `capture --reset` give on the ESP32-S3."""
    main = (FIRMWARE_MAIN / "main.cc").read_text()
    cases = re.findall(r'case ESP_RST_(\w+): return "(\w+)";', main)
    assert all(name == printed for name, printed in cases), cases
    assert sorted(name for name, _ in cases) == sorted(RESET_REASONS_IDF_5_3)
    assert 'default: return "OTHER";' in main  # a value a later ESP-IDF adds
    # The host build's stand-in declares the same enumerators, so main.cc compiles against it.
    shim = (ROOT / "tests" / "firmware_host" / "idf_shim" / "esp_shim.h").read_text()
    declared = re.search(r"typedef enum \{([^}]*)\} esp_reset_reason_t;", shim)[1]
    assert re.findall(r"ESP_RST_(\w+)", declared) == list(RESET_REASONS_IDF_5_3)


def test_platformio_shares_the_idf_sources():
    ini = (FIRMWARE / "platformio.ini").read_text()
    for line in (
        "src_dir = main",
        "framework = espidf",
        "board = seeed_xiao_esp32s3",
        "board_build.partitions = partitions.csv",
    ):
        assert re.search(rf"^{re.escape(line)}$", ini, re.M), line


def test_generated_folder_is_not_ignored_by_git():
    """The decision recorded in docs/firmware.md: the generated sources are committed."""
    import subprocess

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for name in ("models.h", "model_mlp_int8.cc", "sources.cmake"):
        proc = subprocess.run(
            ["git", "check-ignore", "-q", f"firmware/main/generated/{name}"], cwd=ROOT
        )
        assert proc.returncode == 1, f"firmware/main/generated/{name} is ignored by git"
