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
    recipe = GPTQModifier(targets="Linear", scheme="W4A16", ignore=["lm_head"], dampening_frac=0.01)
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
    qc = QuantizeConfig(bits=4, group_size=128, desc_act=False, sym=True, damp_percent=0.01)
    model = GPTQModel.load(a.model, qc, device="cpu", dtype=getattr(torch, a.dtype))
    t["load"] = time.perf_counter()
    data = [{"input_ids": w, "attention_mask": [1] * len(w)} for w in windows]
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
    r = dict(wall=wall, cpu=cpu, rss=rss, rc=rc, phases=phases, samples=a.samples, ctx=a.ctx,
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
            if r.get("samples") == a.samples and r.get("ctx") == a.ctx:
                rows[tool] = r
                print(f"== {tool}: reusing {saved} (measured {r['when']})", file=sys.stderr)
                continue
        if tool == "qcc":
            cmd = [a.qcc, a.model, "--calib", a.calib, "--calib-samples", str(a.samples),
                   "--calib-ctx", str(a.ctx), "--seed", str(a.seed), "--method=gptq",
                   "--format=gguf:Q4_0", "--no-progress", "-o", os.path.join(a.out, "qcc.gguf")]
            env = dict(os.environ, QCC_CALIB_TIMING="1")
        else:
            cmd = [sys.executable, sys.argv[0], "--worker", tool, "--model", a.model,
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
