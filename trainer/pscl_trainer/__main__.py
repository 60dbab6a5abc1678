"""Command line: `python3 -m pscl_trainer train|eval|export|config ...` (see trainer/README.md).

Exit codes: 0 done, 1 internal failure, 2 config/usage error, 3 data error, 4 out of memory,
5 CUDA unavailable, 130 stopped by SIGTERM/SIGINT (after writing a checkpoint).
"""
import argparse
import json
import os
import sys
import traceback


def _cpu_threads():
    """PSCL_TRAINER_THREADS, else up to 2 per process. Set before torch loads so OpenBLAS, whose
    spinning threads otherwise fight torch's own for the cores, uses the same count, and so OpenMP
    reads its wait policy."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    n = int(os.environ.get("PSCL_TRAINER_THREADS", "0")) or max(1, min(2, (os.cpu_count() or 1) // world))
    os.environ["PSCL_TRAINER_THREADS"] = str(n)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(n))
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    # idle OpenMP threads sleep instead of spinning: on a busy machine (an editor, other jobs) spinning
    # threads fight for the cores and a step took 3-30x longer; measured: the same run, 1/3 of the CPU time
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


_cpu_threads()

from .errors import OutOfMemory, TrainerError  # noqa: E402
from .events import Events, log  # noqa: E402


def _parser():
    p = argparse.ArgumentParser(prog="python3 -m pscl_trainer", description="PSCL trainer")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train (or --resume) a run")
    t.add_argument("--cache", help="training cache folder (manifest.json); taken from the run on --resume")
    t.add_argument("--run", required=True, help="run folder (created if missing)")
    t.add_argument("--config", default="rn50", help="config name (configs/<name>.json) or JSON file")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key (JSON value)")
    t.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    t.add_argument("--deterministic", action="store_true", help="deterministic algorithms (exact resume)")
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    e = sub.add_parser("eval", help="evaluate a run's checkpoint (global branch) and write eval.json")
    e.add_argument("--run", required=True)
    e.add_argument("--cache", help="defaults to the run's cache")
    e.add_argument("--checkpoint", help="weights .safetensors (default: the last checkpoint)")
    e.add_argument("--split", help="split to evaluate (default: the config's eval_split)")
    e.add_argument("--out", help="file name in the run folder (default eval.json)")
    e.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    x = sub.add_parser("export", help="export the global branch to model.onnx + classes.json + preprocess.json")
    x.add_argument("--run", required=True)
    x.add_argument("--checkpoint", help="weights .safetensors (default: the last checkpoint)")
    x.add_argument("--out", help="output folder (default: the run folder)")
    x.add_argument("--opset", type=int, help="ONNX opset (default: 17 or the highest this torch writes)")
    f = sub.add_parser("preflight", help="estimate memory, time per step and ETA of a run before starting it")
    f.add_argument("--cache", help="training cache folder (manifest.json); taken from the run with --resume")
    f.add_argument("--config", default="rn50")
    f.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    f.add_argument("--run", help="run folder: the probe is kept in <run>/preflight.json for train to reuse")
    f.add_argument("--resume", action="store_true", help="estimate the run in --run with its own config")
    f.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    f.add_argument("--nproc", type=int, default=1, help="processes (GPUs) the run will use")
    f.add_argument("--allow-fallback", action="store_true",
                   help="on CPU, a run beyond --max-cpu-hours may switch to the CPU preset (verdict fallback)")
    f.add_argument("--max-cpu-hours", type=float, default=24.0)
    f.add_argument("--force", action="store_true", help="do not refuse a long CPU run (memory is always checked)")
    f.add_argument("--fetch", action="store_true", help="download missing ImageNet weights now")
    c = sub.add_parser("config", help="print a resolved config as JSON")
    c.add_argument("--config", default="rn50")
    c.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    return p


def _explain_oom(err, args):
    """(train turns its own out-of-memory into an OutOfMemory naming a smaller batch; this is for
    eval/export and anything before the config is known)"""
    return OutOfMemory(f"out of memory ({str(err).splitlines()[0][:200]}): lower batch_size or resolution, "
                       f"and raise grad_accum to keep the effective batch")


def main(argv=None):
    args = _parser().parse_args(argv)
    run_dir = getattr(args, "run", None)
    main_rank = os.environ.get("RANK", "0") == "0"
    if run_dir and main_rank:
        os.makedirs(run_dir, exist_ok=True)
    events = Events(run_dir if getattr(args, "command", None) != "preflight" else None, enabled=main_rank)
    try:
        if args.command == "train":
            from .train import train
            return train(args)
        if args.command == "eval":
            from .evaluate import run_eval
            return run_eval(args, events)
        if args.command == "export":
            from .export import run_export
            return run_export(args, events)
        if args.command == "preflight":
            from .preflight import run_preflight
            return run_preflight(args)
        from .config import load_config
        print(json.dumps(load_config(args.config, args.set), indent=2))
        return 0
    except TrainerError as err:
        return _fail(events, err, args)
    except KeyboardInterrupt:
        events.emit("error", kind="interrupted", message="interrupted before a checkpoint could be written; "
                    "run again with --resume to continue from the last one")
        events.emit("end", status="stopped", best_top1=None)
        return 130
    except Exception as err:  # noqa: BLE001 - reported as an event, never a bare traceback
        from .runtime import is_out_of_memory
        if is_out_of_memory(err):
            return _fail(events, _explain_oom(err, args), args)
        return _fail(events, err, args, detail=traceback.format_exc())


def _fail(events, err, args, detail=None):
    kind = getattr(err, "kind", "internal")
    message = str(err) if isinstance(err, TrainerError) else f"internal error: {type(err).__name__}: {err}"
    log(message)
    if detail:
        log(detail)
    events.emit("error", kind=kind, message=message, **({"detail": detail} if detail else {}))
    if args.command == "train":
        events.emit("end", status="failed", best_top1=None)
    return getattr(err, "exit_code", 1)


if __name__ == "__main__":
    sys.exit(main())
