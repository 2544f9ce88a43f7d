# -*- Python -*-
import os
import shutil
import sys

import lit.formats

config.name = "qcc"
# Real bash so tests can check exact exit statuses.
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qcc_obj_root, "test")
config.excludes = ["oracle", "unit", "Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in"]

config.environment["PATH"] = os.pathsep.join(
    [os.path.join(config.qcc_tools_dir, "qcc"), os.path.join(config.qcc_tools_dir, "qcc-opt"),
     config.llvm_tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))])
for var in ["HOME", "OMP_NUM_THREADS", "PYTHONPATH", "LANG", "LC_ALL",
            "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]

config.substitutions.append(("%shared", config.shared_dir))
import random as _random
_random.seed(1)
config.substitutions.append(("%{ids}", ",".join(str(_random.randrange(40)) for _ in range(256))))
config.substitutions.append(("%{gptq_check}", os.path.join(config.qcc_obj_root, "test", "gptq-check")))
config.substitutions.append(("%{ggml_blocks}", os.path.join(config.qcc_obj_root, "test", "ggml-blocks")))
config.substitutions.append(("%oracle", os.path.join(config.qcc_src_root, "test", "oracle")))
python = getattr(config, "python_executable", "") or sys.executable
config.substitutions.append(("%python", python))

# Tests that need the shared models / data or the Python oracles say so.
if os.path.isdir(os.path.join(config.shared_dir, "models")):
    config.available_features.add("shared-models")
import subprocess
if subprocess.run([python, "-c", "import numpy, tokenizers, sentencepiece"],
                  capture_output=True).returncode == 0:
    config.available_features.add("oracles")

# --target=cuda: nvcc (the build found it) builds the GPU binaries and the
# cubins the tests inspect; a visible NVIDIA device changes what a binary
# does at start (tests that check the no-GPU message say UNSUPPORTED).
nvcc = getattr(config, "nvcc", "")
if nvcc and not nvcc.endswith("NOTFOUND") and os.path.exists(nvcc):
    config.available_features.add("nvcc")
    config.substitutions.append(("%nvcc", nvcc))
config.substitutions.append(("%qcc_src", config.qcc_src_root))
if os.path.exists("/dev/nvidia0"):
    config.available_features.add("cuda-device")

# The real clients of GPTQ / AWQ / compressed-tensors checkpoints (torch,
# transformers, compressed-tensors, gptqmodel): a Python that has them, named
# by QCC_HF_PYTHON (e.g. a venv made by bench/gptq_peers.sh), enables the
# tests that load qcc's files with them.
hf_python = os.environ.get("QCC_HF_PYTHON", "")
if hf_python and subprocess.run(
        [hf_python, "-c", "import torch, transformers, compressed_tensors, gptqmodel"],
        capture_output=True).returncode == 0:
    config.available_features.add("hf-clients")
    config.substitutions.append(("%hfpython", hf_python))
config.environment["QCC_HF_PYTHON"] = hf_python
