"""Measure how archdoc copes with torchvision, timm and Hugging Face transformers models.

Not part of the test suite or CI: torchvision, timm and transformers are not
dependencies of archdoc, and this script downloads nothing (every model is built
with random weights). Run it in a throwaway environment, never the project's own:

    python -m venv /tmp/hub && /tmp/hub/bin/pip install torch==2.14.1 torchvision==0.29.1 timm transformers
    /tmp/hub/bin/pip install --no-deps -e . && /tmp/hub/bin/pip install click jinja2 torchinfo numpy
    (cd tests/js && npm ci)          # mermaid 11 + jsdom, for the real Mermaid parser
    nice -n 10 /tmp/hub/bin/python scripts/hub_coverage.py /tmp/hub-results.json            # everything
    nice -n 10 /tmp/hub/bin/python scripts/hub_coverage.py /tmp/hub-results.json 'tv:resnet*' 'timm:*vit*'

Patterns match ``GROUP:NAME`` (groups: tv, timm, hf, devices, rss). Each model runs in
a subprocess of its own with a time limit, so a crash or a hang costs one row. For each
model the script records whether archdoc traced it (on meta, and on the CPU when the
meta attempt's error asks for that), whether ``render_page`` rendered, whether every
Mermaid diagram on the page passes mermaid's own parser (``tests/js/parse.mjs``), the
parameter count against the model built on the CPU (``parameters()`` counts a shared
tensor once) and, for torchvision, against the figures its weights publish
(``meta["num_params"]`` and ``meta["_ops"]``, compared with archdoc's mult-adds / 1e9),
the error's first line and the time. timm ships no table of GMACs in its wheel; its
models are compared with ``torch.utils.flop_counter.FlopCounterMode`` run on the real
CPU model (half its FLOPs), which checks the meta pass against a real pass but counts
with the same FLOP formulas archdoc uses, so it is a consistency check only.

The JSON written holds one record per model; a table is printed at the end.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PARSER = ROOT / "tests" / "js" / "parse.mjs"
TIME_LIMIT = 900  # seconds per model subprocess

# --------------------------------------------------------------------------- jobs

TIMM_MODELS = """
resnet18 resnet18d resnetv2_50 seresnext26d_32x4d legacy_seresnet18 res2net50_14w_8s skresnet18 resnest14d
ecaresnet26t efficientnet_b0 tf_efficientnet_b0 tf_efficientnetv2_b0 mobilenetv2_050 mobilenetv3_small_100
tf_mobilenetv3_small_100 mobilenetv4_conv_small fbnetc_100 lcnet_050 mnasnet_small hardcorenas_a
convnext_atto convnextv2_atto vit_tiny_patch16_224 deit_tiny_distilled_patch16_224 swin_tiny_patch4_window7_224
swinv2_tiny_window8_256 regnetx_002 regnety_002 regnetz_b16 densenet121 inception_v3 inception_v4
inception_resnet_v2 xception41 legacy_xception mixer_s16_224 gmlp_ti16_224 resmlp_12_224 beit_base_patch16_224
cait_xxs24_224 coat_lite_tiny coat_tiny levit_128s poolformer_s12 poolformerv2_s12 efficientformer_l1
efficientformerv2_s0 maxvit_tiny_tf_224 coatnet_0_rw_224 maxxvit_rmlp_nano_rw_256 edgenext_xx_small
ghostnet_100 ghostnetv2_100 hrnet_w18_small dla34 dpn68 nfnet_l0 dm_nfnet_f0 nf_resnet26 rexnet_100
cspresnet50 cspdarknet53 cs3darknet_s darknet53 ese_vovnet19b_dw efficientvit_b0 fastvit_t8 mobilevit_xxs
mobilevitv2_050 pit_ti_224 twins_svt_small xcit_nano_12_p16_224 crossvit_tiny_240 convit_tiny gcvit_xxtiny
nest_tiny_jx pvt_v2_b0 repvgg_a0 mobileone_s0 selecsls42b tresnet_m hgnetv2_b0 vgg11 eva02_tiny_patch14_224
focalnet_tiny_srf davit_tiny inception_next_tiny mvitv2_tiny repvit_m1 tiny_vit_5m_224 visformer_tiny
sequencer2d_s halonet26t botnet26t_256 caformer_s18 hiera_tiny_224 starnet_s1 mambaout_femto
""".split()

HF_MODELS = [
    # (label, class, config import call, inputs)
    ("BertModel (BertConfig())", "BertModel", "transformers:BertConfig()", "128:int64"),
    ("BertModel (2 layers)", "BertModel", "transformers:BertConfig(num_hidden_layers=2)", "128:int64"),
    ("GPT2Model", "GPT2Model", "transformers:GPT2Config()", "128:int64"),
    ("GPT2LMHeadModel", "GPT2LMHeadModel", "transformers:GPT2Config()", "128:int64"),
    ("T5Model", "T5Model", "transformers:T5Config()", {"input_ids": "128:int64", "decoder_input_ids": "128:int64"}),
    ("ViTModel", "ViTModel", "transformers:ViTConfig()", "3x224x224"),
    ("Wav2Vec2Model", "Wav2Vec2Model", "transformers:Wav2Vec2Config()", "16000"),
]


def torchvision_jobs() -> list[dict[str, Any]]:
    import inspect

    import torchvision.models as M

    jobs = []
    tasks = [("classification", M), ("segmentation", M.segmentation), ("detection", M.detection),
             ("video", M.video), ("optical_flow", M.optical_flow)]
    for task, module in tasks:
        for name in M.list_models(module=module):
            weights = list(M.get_model_weights(name))[0]
            transforms = weights.transforms()
            crop = getattr(transforms, "crop_size", None)
            side = crop[0] if crop else None
            kwargs: dict[str, Any] = {"weights": None}
            params = inspect.signature(M.get_model_builder(name)).parameters
            if "weights_backbone" in params:
                kwargs["weights_backbone"] = None  # the default would download backbone weights
            notes = []
            if task == "classification":
                inputs: Any = f"3x{side or 224}x{side or 224}"
                if name.startswith("vit_") and side and side != 224:
                    kwargs["image_size"] = side  # the first weights (SWAG E2E) are at their own size
                    notes.append(f"image_size={side} as the first weights")
                if name == "googlenet":
                    kwargs["aux_logits"] = False  # as the published weights (num_params without aux heads)
                    notes.append("aux_logits=False as the published weights")
            elif task == "segmentation":
                inputs = "3x520x520"
                if "aux_loss" in params:
                    kwargs["aux_loss"] = True  # the published weights have the auxiliary head
                    notes.append("aux_loss=True as the published weights")
            elif task == "detection":
                inputs = "3x800x800"
            elif task == "video":
                inputs = f"3x16x{side}x{side}"
            else:
                inputs = ["3x360x640", "3x360x640"]
            jobs.append({
                "group": "tv", "task": task, "name": name, "model": f"{module.__name__}:{name}",
                "kwargs": kwargs, "inputs": inputs, "notes": notes,
                "published_params": weights.meta.get("num_params"), "published_gmacs": weights.meta.get("_ops"),
                "weights": weights.name,
            })
    return jobs


def all_jobs() -> list[dict[str, Any]]:
    jobs = torchvision_jobs()
    for name in TIMM_MODELS:
        jobs.append({"group": "timm", "task": "classification", "name": name, "model": "timm:create_model",
                     "kwargs": {"model_name": name, "pretrained": False}, "inputs": None, "notes": []})
    for label, cls, config, inputs in HF_MODELS:
        jobs.append({"group": "hf", "task": "transformers", "name": label, "model": f"transformers:{cls}",
                     "kwargs": {}, "config": config, "inputs": inputs, "notes": []})
    # MACs of the same model traced on meta and on the CPU (attention runs a fused kernel on the CPU).
    jobs.append({"group": "devices", "task": "cpu-vs-meta", "name": "BertModel (BertConfig())",
                 "model": "transformers:BertModel", "kwargs": {}, "config": "transformers:BertConfig()",
                 "inputs": "128:int64", "notes": []})
    jobs.append({"group": "devices", "task": "cpu-vs-meta", "name": "vit_b_16", "model": "torchvision.models:vit_b_16",
                 "kwargs": {"weights": None}, "inputs": "3x224x224", "notes": []})
    # Peak memory of a builder that reads values (built on the CPU first, one parameter at a time).
    jobs.append({"group": "rss", "task": "peak-rss", "name": "regnet_y_128gf", "model": "torchvision.models:regnet_y_128gf",
                 "kwargs": {"weights": None}, "inputs": "3x384x384", "notes": []})
    return jobs


# --------------------------------------------------------------------------- worker (one model, own process)

MERMAID = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def rss_mib() -> float:
    """Peak RSS of this process. The driver imports no torch, so the peak that Linux carries
    over from the forked parent into ru_maxrss across exec is only the driver's few MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hwm_mib() -> float | None:
    """VmHWM from /proc (reset at exec), as a cross-check of ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def builder_kwargs(job: dict[str, Any]) -> dict[str, Any]:
    import archdoc

    kwargs = dict(job["kwargs"])
    if job.get("config"):
        kwargs["config"] = archdoc.import_call(job["config"])
    return kwargs


def timm_input(name: str) -> str:
    import timm

    cfg = timm.get_pretrained_cfg(name)
    size = tuple(cfg.input_size) if cfg is not None else (3, 224, 224)
    return "x".join(map(str, size))


def attempt_trace(job: dict[str, Any], rec: dict[str, Any]) -> Any:
    """Trace on meta; when that fails with an error that asks for the CPU, trace there too."""
    import archdoc

    start = time.perf_counter()
    try:
        trace = archdoc.trace(job["model"], job["inputs"], device="meta", **builder_kwargs(job))
        rec.update(traced=True, device="meta", trace_s=round(time.perf_counter() - start, 2))
        return trace
    except Exception as exc:  # noqa: BLE001 - any failure is a result
        rec.update(meta_error=first_line(exc), trace_s=round(time.perf_counter() - start, 2))
        if "cpu" not in str(exc).lower():
            rec["error"] = rec["meta_error"]
            return None
    start = time.perf_counter()
    try:
        trace = archdoc.trace(job["model"], job["inputs"], device="cpu", **builder_kwargs(job))
        rec.update(traced=True, device="cpu", cpu_trace_s=round(time.perf_counter() - start, 2))
        return trace
    except Exception as exc:  # noqa: BLE001
        rec.update(cpu_error=first_line(exc), error=first_line(exc), cpu_trace_s=round(time.perf_counter() - start, 2))
        return None


def reference(job: dict[str, Any], rec: dict[str, Any]) -> None:
    """The real model built on the CPU: its parameter count (and, for timm, FlopCounterMode's count)."""
    import torch

    torch.manual_seed(0)
    if job["group"] == "tv":
        import torchvision

        model = torchvision.models.get_model(job["name"], **job["kwargs"])
    elif job["group"] == "timm":
        import timm

        model = timm.create_model(**job["kwargs"])
    else:
        import importlib

        module, _, attr = job["model"].partition(":")
        model = getattr(importlib.import_module(module), attr)(config=plain_call(job["config"]))
    rec["ref_params"] = sum(p.numel() for p in model.parameters())
    if job["task"] == "detection":
        # With weights=None and weights_backbone=None the backbone gets BatchNorm2d (weights and biases
        # are parameters); the published count is of FrozenBatchNorm2d (buffers only).
        norms = [m for m in model.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        rec["backbone_bn_params"] = sum(p.numel() for m in norms for p in m.parameters(recurse=False))
    if job["group"] == "timm":
        from torch.nn.attention import SDPBackend, sdpa_kernel
        from torch.utils.flop_counter import FlopCounterMode

        model.eval()
        x = torch.randn(1, *map(int, job["inputs"].split("x")))
        counter = FlopCounterMode(display=False)
        # The math backend runs attention as matmuls that the counter sees; the fused CPU kernel
        # (flash attention for CPU) has no FLOP formula in PyTorch's counter and would count 0.
        try:
            with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter:
                model(x)
        except AssertionError:
            # FlopCounterMode's module tracker fails under no_grad on some models (CaiT, PiT):
            # "Expected gradient function to be set"; with autograd on it counts the same ops.
            counter = FlopCounterMode(display=False)
            with sdpa_kernel(SDPBackend.MATH), counter:
                model(x)
        rec["ref_macs"] = counter.get_total_flops() // 2
        rec["ref_macs_source"] = "FlopCounterMode on CPU (math attention) / 2"


def plain_call(text: str) -> Any:
    """``package:Name(key=literal, ...)`` made without archdoc, for the reference model."""
    import ast
    import importlib

    module, _, call = text.partition(":")
    node = ast.parse(call, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args
    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    return getattr(importlib.import_module(module), node.func.id)(**kwargs)


def worker(job: dict[str, Any], out: Path) -> None:
    rec: dict[str, Any] = {"group": job["group"], "task": job["task"], "name": job["name"], "traced": False,
                           "page_ok": False, "diagrams": [], "notes": job.get("notes", [])}
    start = time.perf_counter()
    diagrams: list[str] = []

    def save() -> None:
        rec["time_s"] = round(time.perf_counter() - start, 2)
        out.write_text(json.dumps({"record": rec, "diagrams": diagrams}))

    try:
        import archdoc

        if job["group"] == "timm":
            job["inputs"] = timm_input(job["name"])
        rec["inputs"] = job["inputs"]
        rec["rss_before_torch_mib"] = round(rss_mib(), 1)
        if job["group"] == "rss":
            t0 = time.perf_counter()
            trace = archdoc.trace(job["model"], job["inputs"], **builder_kwargs(job))
            rec.update(traced=True, device="meta", trace_s=round(time.perf_counter() - t0, 2),
                       peak_rss_mib=round(rss_mib(), 1), vm_hwm_mib=hwm_mib(), params=trace.total_params, macs=trace.mult_adds,
                       built_with_values=trace.built_with_values)
            save()
            return
        if job["group"] == "devices":
            for device in ("meta", "cpu"):
                t0 = time.perf_counter()
                trace = archdoc.trace(job["model"], job["inputs"], device=device, **builder_kwargs(job))
                rec[f"macs_{device}"] = trace.mult_adds
                rec[f"params_{device}"] = trace.total_params
                rec[f"{device}_s"] = round(time.perf_counter() - t0, 2)
            rec["traced"] = True
            rec["equal"] = rec["macs_meta"] == rec["macs_cpu"]
            save()
            return

        trace = attempt_trace(job, rec)
        save()
        if trace is None:
            return
        rec.update(params=trace.total_params, shared_params=trace.shared_params, macs=trace.mult_adds,
                   output_shapes=[list(s) for s in trace.output_shapes], built_with_values=trace.built_with_values,
                   minimum_input=trace.minimum_input, peak_rss_after_trace_mib=round(rss_mib(), 1))
        try:
            page = archdoc.render_page(trace)
            rec.update(page_ok=True, page_chars=len(page))
            diagrams = MERMAID.findall(page)
        except Exception as exc:  # noqa: BLE001
            rec["page_error"] = first_line(exc)
            rec.setdefault("error", rec["page_error"])
            try:
                from archdoc.diagram import network_diagram

                diagrams = [network_diagram(trace)]
            except Exception as exc2:  # noqa: BLE001
                rec["diagram_error"] = first_line(exc2)
        save()
        try:
            reference(job, rec)
        except Exception as exc:  # noqa: BLE001
            rec["ref_error"] = first_line(exc)
        save()
    except Exception as exc:  # noqa: BLE001
        rec.setdefault("error", first_line(exc))
        rec["traceback_tail"] = traceback.format_exc().strip().splitlines()[-3:]
        save()


# --------------------------------------------------------------------------- driver


def run_job(job: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        log = Path(tmp) / "log.txt"
        start = time.perf_counter()
        with open(log, "wb") as stream:
            proc = subprocess.Popen([sys.executable, __file__, "--worker", json.dumps(job), str(out)],
                                    stdout=stream, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp)
            try:
                code = proc.wait(timeout=TIME_LIMIT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                code = None
        wall = round(time.perf_counter() - start, 2)
        if out.exists():
            data = json.loads(out.read_text())
            rec, diagrams = data["record"], data["diagrams"]
        else:
            rec, diagrams = {"group": job["group"], "task": job["task"], "name": job["name"], "traced": False,
                             "page_ok": False, "diagrams": []}, []
        if code is None:
            rec["error"] = rec.get("error") or f"killed after the {TIME_LIMIT} s time limit"
        elif code != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
            rec["error"] = rec.get("error") or f"worker exited with {code}: {tail[0][:200]}"
        rec["wall_s"] = wall
        return rec, diagrams


def parse_diagrams(texts: list[str]) -> list[dict[str, Any]]:
    if not texts:
        return []
    if not (PARSER.parent / "node_modules" / "mermaid").exists():
        raise SystemExit(f"no mermaid under {PARSER.parent}/node_modules: run (cd tests/js && npm ci)")
    feed = "".join(json.dumps(t) + "\n" for t in texts)
    done = subprocess.run(["node", str(PARSER)], input=feed, capture_output=True, text=True, check=True)
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if len(answers) != len(texts):
        raise SystemExit(f"mermaid parser answered {len(answers)} of {len(texts)} diagrams: {done.stderr[-500:]}")
    return answers


def rel(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return (a - b) / b


def finish(rec: dict[str, Any]) -> None:
    """Derived comparisons."""
    params = rec.get("params")
    rec["params_equal"] = params is not None and params == rec.get("ref_params")
    if rec.get("published_params") is not None and params is not None:
        rec["params_equal_published"] = params == rec["published_params"]
        if rec.get("backbone_bn_params"):
            rec["params_equal_published_frozen_bn"] = params - rec["backbone_bn_params"] == rec["published_params"]
    macs = rec.get("macs")
    if rec.get("published_gmacs") and macs is not None:
        rec["macs_rel_diff"] = rel(macs / 1e9, rec["published_gmacs"])
    elif rec.get("ref_macs") and macs is not None:
        rec["macs_rel_diff"] = rel(macs, rec["ref_macs"])
    d = rec.get("macs_rel_diff")
    rec["macs_within_1pct"] = None if d is None else abs(d) <= 0.01
    if rec.get("published_gmacs") and macs is not None:
        # torchvision publishes GFLOPS to three decimals: 0.040 stands for anything in [0.0395, 0.0405].
        rec["macs_within_1pct_or_rounding"] = rec["macs_within_1pct"] or abs(macs / 1e9 - rec["published_gmacs"]) <= 0.0005
    n = len(rec.get("diagram_results", []))
    rec["diagrams_ok"] = n > 0 and all(r["ok"] for r in rec["diagram_results"])


def fmt_table(records: list[dict[str, Any]]) -> str:
    rows = [("group", "model", "trace", "page", "mmd", "params", "ref params", "eq", "GMACs", "ref", "diff", "s", "error")]
    for r in records:
        if r["group"] in ("devices", "rss"):
            continue
        d = r.get("macs_rel_diff")
        ref_g = r.get("published_gmacs") or (r["ref_macs"] / 1e9 if r.get("ref_macs") else None)
        nd = len(r.get("diagram_results", []))
        ok = sum(x["ok"] for x in r.get("diagram_results", []))
        rows.append((
            r["group"], r["name"][:34], r.get("device", "-") if r["traced"] else "FAIL",
            "ok" if r["page_ok"] else "-", f"{ok}/{nd}",
            f"{r['params']:,}" if r.get("params") is not None else "-",
            f"{r['ref_params']:,}" if r.get("ref_params") is not None else "-",
            "=" if r.get("params_equal") else "≠",
            f"{r['macs'] / 1e9:.3f}" if r.get("macs") is not None else "-",
            f"{ref_g:.3f}" if ref_g else "-",
            f"{d:+.2%}" if d is not None else "-",
            f"{r.get('wall_s', 0):.0f}", (r.get("error") or "")[:90],
        ))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def summary(records: list[dict[str, Any]]) -> str:
    lines = []
    for group in ("tv", "timm", "hf"):
        rs = [r for r in records if r["group"] == group]
        if not rs:
            continue
        macs = [r for r in rs if r.get("macs_within_1pct") is not None]
        lines.append(
            f"{group}: {len(rs)} tried, {sum(r['traced'] for r in rs)} traced "
            f"({sum(r.get('device') == 'meta' for r in rs)} on meta), {sum(r['page_ok'] for r in rs)} pages, "
            f"{sum(r['diagrams_ok'] for r in rs)} with every diagram parsed, "
            f"{sum(r['params_equal'] for r in rs)} params equal to the CPU model"
            + (f", {sum(r.get('params_equal_published', False) for r in rs)} to the published" if group == "tv" else "")
            + f", MACs within 1 %: {sum(r['macs_within_1pct'] for r in macs)}/{len(macs)} compared"
            + (f" ({sum(r.get('macs_within_1pct_or_rounding', False) for r in macs)} within 1 % or the published rounding)"
               if group == "tv" else "")
        )
    for r in records:
        if r["group"] == "devices":
            lines.append(f"cpu vs meta {r['name']}: meta {r.get('macs_meta')} cpu {r.get('macs_cpu')} "
                         f"equal={r.get('equal')} {r.get('error') or ''}")
        if r["group"] == "rss":
            lines.append(f"peak RSS {r['name']}: {r.get('peak_rss_mib')} MiB (VmHWM {r.get('vm_hwm_mib')} MiB), "
                         f"trace {r.get('trace_s')} s, process {r.get('wall_s')} s {r.get('error') or ''}")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if not argv or argv[0].startswith("-"):
        raise SystemExit(__doc__)
    out, patterns = Path(argv[0]), argv[1:]
    if os.nice(0) < 10:
        os.nice(10 - os.nice(0))
    # The job list needs torchvision; build it in a subprocess so that this driver stays small
    # (a worker's ru_maxrss starts from its forked parent's peak).
    listed = subprocess.run([sys.executable, __file__, "--list-jobs"], capture_output=True, text=True, check=True)
    jobs = [j for j in json.loads(listed.stdout.splitlines()[-1]) if not patterns or any(fnmatch.fnmatchcase(f"{j['group']}:{j['name']}", p) for p in patterns)]
    records, texts, owners = [], [], []
    started = time.perf_counter()
    for i, job in enumerate(jobs, 1):
        rec, diagrams = run_job(job)
        for key in ("published_params", "published_gmacs", "weights"):
            if key in job:
                rec[key] = job[key]
        rec.setdefault("inputs", job["inputs"])
        for text in diagrams:
            texts.append(text)
            owners.append(len(records))
        records.append(rec)
        print(f"[{i}/{len(jobs)}] {job['group']}:{job['name']} traced={rec['traced']} page={rec['page_ok']} "
              f"{rec.get('wall_s')}s {rec.get('error') or ''}", flush=True)
        out.write_text(json.dumps(records, indent=1, default=str))
    for rec in records:
        rec["diagram_results"] = []
    for owner, text, answer in zip(owners, texts, parse_diagrams(texts)):
        records[owner]["diagram_results"].append({"chars": len(text), **answer})
    for rec in records:
        rec.pop("diagrams", None)
        finish(rec)
    out.write_text(json.dumps({"torch_run_s": round(time.perf_counter() - started, 1), "records": records},
                              indent=1, default=str))
    print(fmt_table(records))
    print()
    print(summary(records))
    print(f"\nwrote {out} ({len(records)} models, {len(texts)} diagrams) in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    if sys.argv[1:] == ["--list-jobs"]:
        print(json.dumps(all_jobs()))
    elif len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(json.loads(sys.argv[2]), Path(sys.argv[3]))
    else:
        main(sys.argv[1:])
