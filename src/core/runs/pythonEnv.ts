// Checks the Python environment before a training starts: interpreter, PyTorch, torchvision,
// CUDA, and that the bundled trainer imports. Every problem says exactly what to install or set.
import { execFile } from 'node:child_process';
import { TRAINER_MODULE, trainerEnv } from './python';

export interface PythonProblem {
  severity: 'error' | 'warning';
  message: string;
  /** A command to run or a setting to change, when there is one. */
  fix?: string;
}

export interface PythonEnvironment {
  python: string;
  pythonVersion?: string;
  torchVersion?: string;
  torchvisionVersion?: string;
  numpyVersion?: string;
  pillowVersion?: string;
  cudaAvailable: boolean;
  cudaVersion?: string;
  deviceCount: number;
  deviceNames: string[];
  trainerImports?: boolean;
  problems: PythonProblem[];
  /** True when nothing blocks a training (warnings allowed). */
  ok: boolean;
}

// Prints one JSON object; every import is guarded so one missing package still reports the rest.
const PROBE = `
import json, sys
out = {"python": sys.version.split()[0]}
try:
    import torch
    out["torch"] = torch.__version__.split("+")[0]
    out["cuda"] = bool(torch.cuda.is_available())
    out["cuda_version"] = torch.version.cuda
    out["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if out["cuda"] else []
except Exception as e:
    out["torch_error"] = f"{type(e).__name__}: {e}"
try:
    import torchvision
    out["torchvision"] = torchvision.__version__.split("+")[0]
except Exception as e:
    out["torchvision_error"] = f"{type(e).__name__}: {e}"
for mod, key in (("numpy", "numpy"), ("PIL", "pillow")):
    try:
        out[key] = __import__(mod).__version__
    except Exception as e:
        out[key + "_error"] = f"{type(e).__name__}: {e}"
if len(sys.argv) > 1:
    try:
        __import__(sys.argv[1])
        out["trainer"] = True
    except Exception as e:
        out["trainer_error"] = f"{type(e).__name__}: {e}"
print(json.dumps(out))
`;

interface ProbeOutput {
  python?: string;
  torch?: string;
  cuda?: boolean;
  cuda_version?: string | null;
  devices?: string[];
  torch_error?: string;
  torchvision?: string;
  torchvision_error?: string;
  trainer?: boolean;
  trainer_error?: string;
  numpy?: string;
  numpy_error?: string;
  pillow?: string;
  pillow_error?: string;
}

const versionTuple = (v: string): number[] => v.split('.').map((x) => parseInt(x, 10) || 0);
const atLeast = (v: string, min: number[]): boolean => {
  const t = versionTuple(v);
  for (let i = 0; i < min.length; i++) if ((t[i] ?? 0) !== min[i]) return (t[i] ?? 0) > min[i];
  return true;
};

export interface CheckOptions {
  /** Folder holding `pscl_trainer`: also checks that the trainer imports. */
  trainerPath?: string;
  /** Whether the user asked for GPU training (a missing GPU is then an error, not a warning). */
  requireCuda?: boolean;
  /** GPUs the user asked for (torchrun --nproc_per_node): more than are visible is an error. */
  gpus?: number;
  timeoutMs?: number;
  /** The trainer's module name ('pscl_trainer'). */
  trainerModule?: string;
}

const PIP_TORCH = 'python -m pip install torch torchvision';
const PIP_TORCH_CUDA = 'python -m pip install torch torchvision --index-url https://download.pytorch.org/whl/cu121';

export async function checkPythonEnvironment(python: string, options: CheckOptions = {}): Promise<PythonEnvironment> {
  const env: PythonEnvironment = { python, cudaAvailable: false, deviceCount: 0, deviceNames: [], problems: [], ok: false };
  const problems = env.problems;
  let stdout: string;
  try {
    stdout = await new Promise<string>((resolve, reject) => {
      const childEnv = options.trainerPath ? trainerEnv(options.trainerPath) : process.env;
      execFile(python, ['-c', PROBE, ...(options.trainerPath ? [options.trainerModule ?? TRAINER_MODULE] : [])], { timeout: options.timeoutMs ?? 60_000, env: childEnv }, (err, out, errOut) => {
        if (err) reject(Object.assign(err, { stderr: errOut }));
        else resolve(out);
      });
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
    if (e.code === 'ENOENT') {
      problems.push({ severity: 'error', message: `Python interpreter "${python}" was not found.`, fix: 'Install Python 3.9 or later and set "pscl.python" to its path (or select an interpreter with the Python extension).' });
    } else if (e.killed) {
      problems.push({ severity: 'error', message: `"${python}" did not answer within ${(options.timeoutMs ?? 60_000) / 1000} s while importing torch.`, fix: 'Run the interpreter in a terminal to see what hangs.' });
    } else {
      problems.push({ severity: 'error', message: `"${python}" failed to run: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`, fix: 'Set "pscl.python" to a working Python 3 interpreter.' });
    }
    return env;
  }
  let probe: ProbeOutput;
  try {
    probe = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ProbeOutput;
  } catch {
    problems.push({ severity: 'error', message: `"${python}" printed something unexpected instead of the environment report: ${stdout.slice(0, 200)}` });
    return env;
  }
  env.pythonVersion = probe.python;
  env.torchVersion = probe.torch;
  env.torchvisionVersion = probe.torchvision;
  env.numpyVersion = probe.numpy;
  env.pillowVersion = probe.pillow;
  env.cudaAvailable = probe.cuda === true;
  env.cudaVersion = probe.cuda_version ?? undefined;
  env.deviceNames = probe.devices ?? [];
  env.deviceCount = env.deviceNames.length;
  env.trainerImports = options.trainerPath ? probe.trainer === true : undefined;

  if (probe.python && !atLeast(probe.python, [3, 9])) {
    problems.push({ severity: 'error', message: `Python ${probe.python} is too old: the trainer needs 3.9 or later.`, fix: 'Install Python 3.9+ and set "pscl.python" to it.' });
  }
  if (!probe.torch) {
    problems.push({
      severity: 'error',
      message: `PyTorch is not importable from ${python} (${probe.torch_error ?? 'not installed'}).`,
      fix: `${PIP_TORCH}   (for an NVIDIA GPU: ${PIP_TORCH_CUDA})`,
    });
  } else if (!atLeast(probe.torch, [1, 13])) {
    problems.push({ severity: 'error', message: `PyTorch ${probe.torch} is too old: the trainer needs 1.13 or later.`, fix: `${PIP_TORCH} --upgrade` });
  }
  if (probe.torch && !probe.torchvision) {
    problems.push({ severity: 'error', message: `torchvision is not importable (${probe.torchvision_error ?? 'not installed'}): the backbones come from it.`, fix: `python -m pip install torchvision (the release matching torch ${probe.torch})` });
  }
  const missing = [!probe.numpy && 'numpy', !probe.pillow && 'pillow'].filter(Boolean) as string[];
  if (missing.length > 0) {
    problems.push({ severity: 'error', message: `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not importable: the trainer reads images and checkpoints with ${missing.length > 1 ? 'them' : 'it'}.`, fix: `python -m pip install ${missing.join(' ')}` });
  }
  if (probe.torch && !env.cudaAvailable) {
    problems.push({
      severity: options.requireCuda ? 'error' : 'warning',
      message: probe.cuda_version
        ? `PyTorch was built with CUDA ${probe.cuda_version} but sees no GPU: check the NVIDIA driver (nvidia-smi). Training will use the CPU (slow).`
        : 'This PyTorch has no CUDA support: training will use the CPU (slow; fine for a tiny backbone).',
      fix: probe.cuda_version ? 'Run nvidia-smi; install or update the NVIDIA driver.' : PIP_TORCH_CUDA,
    });
  }
  if (options.gpus && options.gpus > 1 && env.cudaAvailable && options.gpus > env.deviceCount) {
    problems.push({ severity: 'error', message: `${options.gpus} GPUs were asked for but PyTorch sees ${env.deviceCount} (${env.deviceNames.join(', ')}).`, fix: `Choose at most ${env.deviceCount} GPUs, or check CUDA_VISIBLE_DEVICES.` });
  }
  if (options.trainerPath && probe.torch && !probe.trainer) {
    problems.push({ severity: 'error', message: `The bundled trainer does not import from ${options.trainerPath}: ${probe.trainer_error ?? 'unknown error'}.`, fix: 'Reinstall the extension; if the error names a package, install it with python -m pip install <package>.' });
  }
  env.ok = !problems.some((p) => p.severity === 'error');
  return env;
}
