#!/usr/bin/env python3
"""qcc's GPTQ against its peers' on the CPU: same model, same calibration windows, same run.

    /work/peers-venv/bin/python bench/gptq_peers.py [--model DIR] [--calib TEXT]
        [--samples 128] [--ctx 512] [--seed 0] [--qcc BIN] [--out DIR]
        [--tools qcc,llmcompressor,gptqmodel] [--dtype float32] [--md FILE]
        [--parallel] [--reuse]

Tools, each run end to end (load, calibrate, quantize, save) in a fresh process:
  qcc            qcc MODEL --calib TEXT --calib-samples N --calib-ctx CTX --seed SEED
                 --method=gptq --format=gguf:Q4_0 -o OUT/qcc.gguf
  llmcompressor  llmcompressor.oneshot with GPTQModifier(scheme="W4A16", targets="Linear",
                 ignore=["lm_head"]): int4, symmetric, group 128; compressed-tensors save
  gptqmodel      GPTQModel.load(MODEL, QuantizeConfig(bits=4, group_size=128,
                 desc_act=False, sym=True), device="cpu").quantize(windows).save(OUT)

The windows are the ones qcc draws: the text tokenized with the model's tokenizer.json,
then N offsets from std::mt19937_64(SEED) (reimplemented below), each `off = rng() %
(len - body + 1)`, BOS first when the tokenizer adds one (debtext's does not). The peers
get them as pre-tokenized input_ids, so all three see the same 128 x 512 tokens.

Each tool's wall time (its whole process, Python imports included), CPU time (user + sys
of that process, from wait4) and peak RSS are measured here; the peers also report
their own phases (import, load, calibrate+quantize, save). The table's ratios are peer /
qcc. A tool that fails is reported with the last lines of its error. --parallel starts the
tools at once (CPU seconds stay comparable, wall times then share the cores); every tool
that finishes leaves OUT/result-TOOL.json, which --reuse takes instead of running it again.
"""
import argparse
import json
import os
import subprocess
import sys
import time

MASK64 = (1 << 64) - 1

# --scheme: what every tool is asked for. "gguf-q4_0" is the speed comparison (qcc writes
# a Q4_0 GGUF, the peers their default W4 g128 sym GPTQ); the others are the GPU-format
# quality comparisons, each tool writing its own checkpoint directory at the same settings.
SCHEMES = {
    "gguf-q4_0": dict(method="gptq", bits=4, sym=True, act=False),
    "gptq-w4g128-act": dict(method="gptq", bits=4, sym=True, act=True),
    "gptq-w3g128-act": dict(method="gptq", bits=3, sym=True, act=True),
    "awq-w4g128": dict(method="awq", bits=4, sym=False, act=False),
}


class MT19937_64:
    """The 64-bit Mersenne Twister with the parameters std::mt19937_64 uses."""

    N, M = 312, 156
    A = 0xB5026F5AA96619E9
    UPPER, LOWER = 0xFFFFFFFF80000000, 0x7FFFFFFF

    def __init__(self, seed: int):
        self.mt = [0] * self.N
        self.mt[0] = seed & MASK64
        for i in range(1, self.N):
            prev = self.mt[i - 1]
            self.mt[i] = (6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64
        self.i = self.N

    def _twist(self):
        mt = self.mt
        for k in range(self.N):
            y = (mt[k] & self.UPPER) | (mt[(k + 1) % self.N] & self.LOWER)
            v = mt[(k + self.M) % self.N] ^ (y >> 1)
            if y & 1:
                v ^= self.A
            mt[k] = v
        self.i = 0

    def __call__(self) -> int:
        if self.i >= self.N:
            self._twist()
        y = self.mt[self.i]
        self.i += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & MASK64


def calibration_windows(model_dir, text_path, samples, ctx, seed):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    cfg_path = os.path.join(model_dir, "tokenizer_config.json")
    cfg = json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}
    with open(text_path, encoding="utf-8") as fh:
        ids = tok.encode(fh.read(), add_special_tokens=False).ids
    bos_id = None
    if cfg.get("add_bos_token") and cfg.get("bos_token"):
        b = cfg["bos_token"]
        bos_id = tok.token_to_id(b if isinstance(b, str) else b.get("content"))
    body = ctx - (1 if bos_id is not None else 0)
    if len(ids) < body:
        sys.exit(f"{text_path}: {len(ids)} tokens, fewer than a window of {body}")
    rng = MT19937_64(seed)
    span = len(ids) - body + 1
    out = []
    for _ in range(samples):
        off = rng() % span
        out.append(([bos_id] if bos_id is not None else []) + ids[off : off + body])
    return out, len(ids)


# ----------------------------------------------------------------------------- workers
# Each runs in its own process: `gptq_peers.py --worker TOOL --model M --windows W.json --out D`;
# it prints one JSON line `PHASES {...}` with its own phase times.


def worker_llmcompressor(a, windows):
    t = {"start": time.perf_counter()}
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import GPTQModifier

    t["import"] = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=getattr(torch, a.dtype))
    tok = AutoTokenizer.from_pretrained(a.model)
    ds = Dataset.from_dict({"input_ids": windows, "attention_mask": [[1] * len(w) for w in windows]})
    t["load"] = time.perf_counter()
    sc = SCHEMES[a.scheme]
    if sc["method"] == "awq":
        from llmcompressor.modifiers.awq import AWQModifier

        if not torch.cuda.is_available():
            # llm-compressor 0.14's AWQ pins its cached activations (pin_memory) for faster
            # host-to-GPU copies, which needs a CUDA driver; without a GPU nothing is copied,
            # so pinning is skipped. The algorithm is unchanged.
            from llmcompressor.pipelines.cache import IntermediatesCache

            IntermediatesCache.pin_memory = lambda self, *args, **kwargs: None
        recipe = AWQModifier(targets=["Linear"], scheme="W4A16_ASYM", ignore=["lm_head"])
    elif a.scheme == "gguf-q4_0":
        recipe = GPTQModifier(targets="Linear", scheme="W4A16", ignore=["lm_head"], dampening_frac=0.01)
    else:
        from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme

        w = QuantizationArgs(num_bits=sc["bits"], type="int", symmetric=sc["sym"], strategy="group",
                             group_size=128, actorder="static" if sc["act"] else None)
        recipe = GPTQModifier(config_groups={"group_0": QuantizationScheme(targets=["Linear"], weights=w)},
                              ignore=["lm_head"], dampening_frac=0.01,
                              actorder="static" if sc["act"] else None)
    oneshot(
        model=model,
        dataset=ds,
        recipe=recipe,
        max_seq_length=a.ctx,
        num_calibration_samples=len(windows),
        shuffle_calibration_samples=False,
    )
    t["quantize"] = time.perf_counter()
    model.save_pretrained(a.out, save_compressed=True)
    tok.save_pretrained(a.out)
    t["save"] = time.perf_counter()
    return t


def worker_gptqmodel(a, windows):
    t = {"start": time.perf_counter()}
    import torch
    from gptqmodel import GPTQModel, QuantizeConfig

    t["import"] = time.perf_counter()
    sc = SCHEMES[a.scheme]
    if sc["method"] == "awq":
        qc = QuantizeConfig(bits=4, group_size=128, sym=False, method="awq", format="gemm")
    else:
        qc = QuantizeConfig(bits=sc["bits"], group_size=128, desc_act=sc["act"], sym=sc["sym"],
                            damp_percent=0.01)
    # GPTQModel's AWQ modules (AwqTorchLinear) accept only fp16 / bf16 models.
    dtype = torch.bfloat16 if sc["method"] == "awq" and a.dtype == "float32" else getattr(torch, a.dtype)
    model = GPTQModel.load(a.model, qc, device="cpu", dtype=dtype)
    t["load"] = time.perf_counter()
    data = [{"input_ids": w, "attention_mask": [1] * len(w)} for w in windows]
    if sc["method"] == "awq":
        # GPTQModel picks its CUDA AWQ GEMM kernel for packing unless told otherwise; its
        # portable torch kernel (BACKEND.TORCH -> AWQ_TORCH) runs on the CPU.
        from gptqmodel import BACKEND

        model.quantize(data, batch_size=1, backend=BACKEND.TORCH)
    else:
        model.quantize(data, batch_size=1)
    t["quantize"] = time.perf_counter()
    model.save(a.out)
    t["save"] = time.perf_counter()
    return t


def run_worker(a):
    windows = json.load(open(a.windows))
    fn = {"llmcompressor": worker_llmcompressor, "gptqmodel": worker_gptqmodel}[a.worker]
    t = fn(a, windows)
    keys = ["start", "import", "load", "quantize", "save"]
    phases = {k: round(t[k] - t[p], 2) for p, k in zip(keys, keys[1:])}
    print("PHASES " + json.dumps(phases), flush=True)


# ----------------------------------------------------------------------------- driver


def launch(cmd, log_path, env=None):
    log = open(log_path, "w")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log, time.perf_counter()


def reap(p, log, t0):
    """Wait for p; wall seconds, CPU seconds (user+sys), peak RSS MiB, exit code."""
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    log.close()
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def finish(rows, a, tool, log, saved, proc):
    wall, cpu, rss, rc = reap(*proc)
    phases = ""
    for line in open(log, errors="replace"):
        if line.startswith("PHASES "):
            phases = ", ".join(f"{k} {v:.1f}" for k, v in json.loads(line[7:]).items())
        elif line.startswith("qcc-calibrate: eval ") and " stats " in line:
            phases = line.split(":", 1)[1].strip()  # the phase line, not the per-op lines
    r = dict(wall=wall, cpu=cpu, rss=rss, rc=rc, phases=phases, samples=a.samples, ctx=a.ctx, scheme=a.scheme,
             parallel=a.parallel, when=time.strftime("%Y-%m-%d %H:%M:%S"))
    rows[tool] = r
    if rc == 0:
        json.dump(r, open(saved, "w"))
    msg = f"   {tool}: rc {rc}, wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {rss:.0f} MiB"
    print(msg if rc == 0 else msg + "\n   " + "\n   ".join(tail(log)), file=sys.stderr, flush=True)


def tail(path, n=6):
    with open(path, errors="replace") as fh:
        lines = [l.rstrip() for l in fh if l.strip()]
    return lines[-n:]


def judge(a, path):
    """Exact dequantization to an F32 GGUF, then llama.cpp's KLD against the F32 model."""
    import re

    gguf = path + ".f32.gguf"
    subprocess.run([a.qcc, path, "--format=gguf:F32", "-o", gguf, "--quiet"], check=True)
    log = gguf + ".log"
    with open(log, "w") as fh:
        subprocess.run([os.path.join(a.judge, "llama-perplexity"), "-m", gguf, "--kl-divergence-base",
                        a.base_kld, "--kl-divergence", "-c", "512", "--chunks", str(a.chunks), "-t",
                        str(os.cpu_count() or 1)], stdout=fh, stderr=subprocess.STDOUT, check=True)
    t = open(log, errors="replace").read()
    get = lambda pat: (float(m.group(1)) if (m := re.search(pat, t)) else None)
    return dict(ppl=get(r"Mean PPL\(Q\)\s*:\s*([0-9.]+)"), kld=get(r"Mean\s+KLD:\s*([0-9.]+)"),
                top1=get(r"Same top p:\s*([0-9.]+)"))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(here, "../../shared/models/debtext-29m"))
    ap.add_argument("--calib", default=os.path.join(here, "../../shared/data/calib/calib_debtext.txt"))
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--qcc", default=os.path.join(here, "../build/tools/qcc/qcc"))
    ap.add_argument("--out", default="/tmp/gptq-peers")
    ap.add_argument("--tools", default="qcc,llmcompressor,gptqmodel")
    ap.add_argument("--dtype", default="float32", help="torch dtype the peers load the model in")
    ap.add_argument("--md", default=None, help="also append the table to this markdown file")
    ap.add_argument("--parallel", action="store_true",
                    help="run the tools at the same time (CPU seconds stay comparable; wall times share the cores)")
    ap.add_argument("--reuse", action="store_true",
                    help="take a tool's result from OUT/result-TOOL.json when one with the same windows exists")
    ap.add_argument("--scheme", default="gguf-q4_0", choices=sorted(SCHEMES),
                    help="what every tool is asked for (default: the speed comparison)")
    ap.add_argument("--judge", default=None, metavar="LLAMA_BIN_DIR",
                    help="score each output with llama-perplexity --kl-divergence after exact "
                         "dequantization (qcc DIR --format=gguf:F32); needs --base-kld")
    ap.add_argument("--base-kld", default=None, help="llama-perplexity --kl-divergence-base file of the F32 model")
    ap.add_argument("--text", default=os.path.join(here, "../../shared/data/wikitext-2-raw-v1/wikitext2_test_joined.txt"))
    ap.add_argument("--chunks", type=int, default=100)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--windows", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return run_worker(a)

    a.model = os.path.abspath(a.model)
    os.makedirs(a.out, exist_ok=True)
    windows, ntok = calibration_windows(a.model, a.calib, a.samples, a.ctx, a.seed)
    wpath = os.path.join(a.out, "windows.json")
    json.dump(windows, open(wpath, "w"))
    print(f"calibration: {a.calib}: {ntok} tokens; {a.samples} windows x {a.ctx} (seed {a.seed})", file=sys.stderr)

    tools = a.tools.split(",")
    rows, running = {}, []
    for tool in tools:
        log = os.path.join(a.out, f"{tool}.log")
        saved = os.path.join(a.out, f"result-{tool}.json")
        if a.reuse and os.path.exists(saved):
            r = json.load(open(saved))
            if r.get("samples") == a.samples and r.get("ctx") == a.ctx and r.get("scheme", "gguf-q4_0") == a.scheme:
                rows[tool] = r
                print(f"== {tool}: reusing {saved} (measured {r['when']})", file=sys.stderr)
                continue
        if tool == "qcc" or tool.startswith("qcc:"):
            # "qcc:METHOD" runs qcc with another --method at the scheme's settings.
            sc = SCHEMES[a.scheme]
            method = tool.split(":", 1)[1] if ":" in tool else sc["method"]
            cmd = [a.qcc, a.model, "--calib", a.calib, "--calib-samples", str(a.samples),
                   "--calib-ctx", str(a.ctx), "--seed", str(a.seed), "--method=" + method, "--no-progress"]
            if a.scheme == "gguf-q4_0":
                cmd += ["--format=gguf:Q4_0", "-o", os.path.join(a.out, "qcc.gguf")]
            else:
                cmd += ["--format=" + ("awq" if sc["method"] == "awq" else "gptq"), "--bits", str(sc["bits"]),
                        "--group", "128", "--sym" if sc["sym"] else "--asym", "-o", os.path.join(a.out, tool)]
                if sc["act"]:
                    cmd.append("--act-order")
            env = dict(os.environ, QCC_CALIB_TIMING="1")
        else:
            cmd = [sys.executable, sys.argv[0], "--worker", tool, "--scheme", a.scheme, "--model", a.model,
                   "--windows", wpath, "--ctx", str(a.ctx), "--dtype", a.dtype,
                   "--out", os.path.join(a.out, tool)]
            env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TOKENIZERS_PARALLELISM="false")
            if tool == "gptqmodel":
                # GPTQModel 7.6 sizes its CPU pool as (cores + 1) // 2 workers, then asks for a
                # 2-worker loader pool inside it: on 2 cores that dies with "Virtual pool
                # 'model_loader:cpu' requests 2 workers but parent 'cpu' only has 1".
                env.setdefault("GPTQMODEL_CPU_WORKERS", str(max(2, ((os.cpu_count() or 1) + 1) // 2)))
        print(f"== {tool}: {' '.join(cmd)}", file=sys.stderr, flush=True)
        running.append((tool, log, saved, launch(cmd, log, env)))
        if not a.parallel:
            finish(rows, a, *running.pop())
    for job in running:
        finish(rows, a, *job)
    rows = {t: rows[t] for t in tools if t in rows}
    if a.judge and a.scheme != "gguf-q4_0":
        for tool, r in rows.items():
            if r["rc"] == 0:
                r.update(judge(a, os.path.join(a.out, tool)))
        ok = [r["kld"] for t, r in rows.items() if not t.startswith("qcc") and r.get("kld") is not None]
        best = min(ok) if ok else None
        q = rows.get("qcc")
        lines = [f"{a.scheme}: {a.samples} windows x {a.ctx} tokens of {os.path.basename(a.calib)}, "
                 f"{os.path.basename(a.model)}; llama-perplexity --kl-divergence, {a.chunks} x 512 of "
                 f"{os.path.basename(a.text)}, after exact dequantization (qcc DIR --format=gguf:F32)", "",
                 "| tool | PPL | mean KLD | top-1 % | KLD / best peer | wall s | CPU s |",
                 "| --- | --- | --- | --- | --- | --- | --- |"]
        for tool, r in rows.items():
            k = r.get("kld")
            ratio = f"{k / best:.3f}" if (k is not None and best) else "-"
            lines.append(f"| {tool} | {r.get('ppl', '-')} | {k if k is not None else '-'} | {r.get('top1', '-')} | "
                         f"{ratio} | {r['wall']:.1f} | {r['cpu']:.1f} |")
        table = "\n".join(lines)
        print(table)
        if a.md:
            with open(a.md, "a") as fh:
                fh.write(table + "\n\n")
        return

    q = rows.get("qcc")
    lines = [
        f"{a.samples} windows x {a.ctx} tokens, {os.path.basename(a.model)}, peers in torch {a.dtype} on the CPU"
        + (", tools run in parallel" if a.parallel else ", tools run one after another"),
        "",
        "| tool | rc | wall s | CPU s | peak RSS MiB | wall / qcc | CPU / qcc | phases (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for tool, r in rows.items():
        ok = q and q["rc"] == 0 and r["rc"] == 0
        wr = f"{r['wall'] / q['wall']:.2f}" if ok else "-"
        cr = f"{r['cpu'] / q['cpu']:.2f}" if ok else "-"
        lines.append(f"| {tool} | {r['rc']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss']:.0f} | {wr} | {cr} | {r['phases']} |")
    table = "\n".join(lines)
    print(table)
    if a.md:
        with open(a.md, "a") as fh:
            fh.write(table + "\n\n")


if __name__ == "__main__":
    main()
