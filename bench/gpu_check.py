"""GPU check for the trainer: a short mixed-precision training (with an fp32 baseline in the same
run), torchrun over every GPU (DDP, NCCL), the ONNX export, and the exported model in onnxruntime
(the CUDA execution provider when installed, CPU as the baseline); prints one JSON object per line
on stdout, throughput in images/s.

On a machine without CUDA it runs the same steps with the tiny configuration on CPU (2 gloo
processes) and says so. Run it through bench/gpu-check.sh.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "trainer", "tests"))
sys.path.insert(0, os.path.join(ROOT, "trainer"))


def emit(**fields):
    print(json.dumps(fields), flush=True)


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.path.join(ROOT, "trainer") + os.pathsep + e.get("PYTHONPATH", "")
    return e


def read_events(run):
    with open(os.path.join(run, "events.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def throughput(events, images_per_step):
    """Images/s between the first and the last progress event (skips the warm-up before the first)."""
    prog = [e for e in events if e["type"] == "progress"]
    if len(prog) < 2:
        return None
    steps = prog[-1]["step"] - prog[0]["step"]
    return round(steps * images_per_step / max(prog[-1]["time"] - prog[0]["time"], 1e-9), 2)


def train(python, cache, run, config, device, sets, launcher=()):
    cmd = [*launcher] if launcher else [python]
    cmd += ["-m", "pscl_trainer", "train", "--cache", cache, "--run", run, "--config", config, "--device", device]
    for s in sets:
        cmd += ["--set", s]
    t = time.time()
    proc = subprocess.run(cmd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"training failed ({' '.join(cmd)}): exit {proc.returncode}")
    return read_events(run), time.time() - t


def onnx_runtime(onnx, resolution, cuda):
    """model.onnx in onnxruntime-node (what Classify Image runs): the CUDA provider when it loads,
    and CPU as the baseline; bench/onnx-throughput.ts prints one JSON line per provider."""
    script = os.path.join(ROOT, "bench", "onnx-throughput.ts")
    results = {}
    for provider in (["cuda", "cpu"] if cuda else ["auto", "cpu"]):
        proc = subprocess.run(["node", "--import", "tsx", script, "--model", onnx, "--size", str(resolution),
                               "--provider", provider, "--batch", "32" if cuda else "8"],
                              cwd=ROOT, capture_output=True, text=True)
        line = (proc.stdout.strip().splitlines() or ["{}"])[-1]
        try:
            results[provider] = json.loads(line)
        except ValueError:
            results[provider] = {"error": (proc.stderr or line)[-1000:]}
    first = results.get("cuda") or results.get("auto") or {}
    cpu = results.get("cpu") or {}
    emit(check="onnx_runtime", provider=first.get("provider"), reason=first.get("reason"),
         images_per_s=first.get("images_per_s"), cpu_images_per_s=cpu.get("images_per_s"),
         ratio_vs_cpu=round(first["images_per_s"] / cpu["images_per_s"], 3)
         if first.get("images_per_s") and cpu.get("images_per_s") else None,
         error=first.get("error") or cpu.get("error"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", help="trainer config (default: rn50 on CUDA, tiny on CPU)")
    ap.add_argument("--steps", type=int, help="optimiser steps per training (default 40 on CUDA, 30 on CPU)")
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--resolution", type=int)
    ap.add_argument("--work", help="folder for the generated dataset and runs (default: a temp folder, removed at the end)")
    args = ap.parse_args()

    import torch
    from fixtures import make_cache

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    gpus = torch.cuda.device_count() if cuda else 0
    config = args.config or ("rn50" if cuda else "tiny")
    steps = args.steps or (40 if cuda else 30)
    work = args.work or tempfile.mkdtemp(prefix="pscl-gpu-check-")
    cache = make_cache(os.path.join(work, "data"), train_per_class=64, test_per_class=4)
    python = sys.executable
    # throughput does not depend on the weights: no download (the machine may be offline)
    common = [f"max_steps={steps}", "epochs=100", "log_every=5", "eval_every=0", "num_workers=4" if cuda else "num_workers=0",
              "backbone_weights=\"none\""]
    if args.batch_size:
        common.append(f"batch_size={args.batch_size}")
    if args.resolution:
        common.append(f"resolution={args.resolution}")
    from pscl_trainer.config import load_config
    cfg = load_config(config, common)
    batch = cfg["batch_size"] * cfg["grad_accum"]
    emit(check="environment", device=device, gpus=gpus, gpu=torch.cuda.get_device_name(0) if cuda else None,
         torch=torch.__version__, cuda=torch.version.cuda, config=config, resolution=cfg["resolution"],
         batch_size=cfg["batch_size"], steps=steps,
         note=None if cuda else "no CUDA here: ran the tiny configuration on CPU (AMP is CUDA-only)")

    base_events, _ = train(python, cache, os.path.join(work, "fp32"), config, device, common + ["amp=false"])
    amp_events, _ = train(python, cache, os.path.join(work, "amp"), config, device, common + ["amp=true"])
    fp32_ips, amp_ips = throughput(base_events, batch), throughput(amp_events, batch)
    emit(check="amp_train", device=device, amp=cuda, images_per_s=amp_ips, fp32_images_per_s=fp32_ips,
         ratio_vs_fp32=round(amp_ips / fp32_ips, 3) if amp_ips and fp32_ips else None,
         final_loss=next(e["loss"] for e in reversed(amp_events) if e["type"] == "progress"),
         status=amp_events[-1]["status"])

    # every GPU, one process each (NCCL); with fewer than two, 2 gloo processes on CPU check the
    # DDP path itself (NCCL cannot share one GPU)
    ddp_device = "cuda" if gpus >= 2 else "cpu"
    nproc = gpus if ddp_device == "cuda" else 2
    ddp_config = config if ddp_device == "cuda" else "tiny"
    ddp_sets = common if ddp_device == "cuda" else [s for s in common if not s.startswith(("resolution", "batch_size"))]
    launcher = [python, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
                "--redirects", "2", "--tee", "1", "--log_dir", os.path.join(work, "ddp-logs")]
    ddp_events, _ = train(python, cache, os.path.join(work, "ddp"), ddp_config, ddp_device, ddp_sets, launcher)
    ddp_batch = load_config(ddp_config, ddp_sets)["batch_size"] * nproc
    logs = subprocess.run(["grep", "-rh", "param checksum", os.path.join(work, "ddp-logs")], capture_output=True, text=True).stdout
    digests = sorted(set(line.split("sha256 ")[1].split()[0] for line in logs.splitlines() if "sha256 " in line))
    ddp_ips = throughput(ddp_events, ddp_batch)
    emit(check="torchrun_ddp", device=ddp_device, processes=nproc, backend="nccl" if ddp_device == "cuda" else "gloo",
         config=ddp_config, amp=ddp_device == "cuda", images_per_s=ddp_ips,
         scaling_vs_one_process=round(ddp_ips / amp_ips, 3) if ddp_device == "cuda" and ddp_ips and amp_ips else None,
         ranks_agree=len(digests) == 1, status=ddp_events[-1]["status"],
         note=None if ddp_device == "cuda" else f"{gpus} GPU(s): the DDP check ran 2 gloo processes on CPU")

    t = time.time()
    proc = subprocess.run([python, "-m", "pscl_trainer", "export", "--run", os.path.join(work, "amp")],
                          env=env(), capture_output=True, text=True)
    export_s = time.time() - t
    onnx = os.path.join(work, "amp", "model.onnx")
    from pscl_trainer.model import GlobalBranch
    from pscl_trainer.runs import model_from_run
    model, _, _ = model_from_run(os.path.join(work, "amp"))
    branch = GlobalBranch(model).to(device).eval()
    x = torch.randn(32, 3, cfg["resolution"], cfg["resolution"], device=device)
    with torch.no_grad():
        branch(x)
        if cuda:
            torch.cuda.synchronize()
        t, n = time.time(), 0
        while time.time() - t < 3 or n < 2:
            branch(x)
            n += 1
        if cuda:
            torch.cuda.synchronize()
        infer_ips = round(n * 32 / (time.time() - t), 2)
    emit(check="onnx_export", ok=proc.returncode == 0, seconds=round(export_s, 2),
         bytes=os.path.getsize(onnx) if os.path.exists(onnx) else None,
         global_branch_images_per_s=infer_ips, device=device, work=args.work,
         error=None if proc.returncode == 0 else proc.stderr[-2000:])
    if proc.returncode == 0:
        onnx_runtime(onnx, cfg["resolution"], cuda)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
