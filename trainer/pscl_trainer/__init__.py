"""PSCL trainer: the PyTorch model, losses, training loop, evaluation and ONNX export.

Run as `python3 -m pscl_trainer train|eval|export ...` with `trainer/` on PYTHONPATH.
"""

__version__ = "0.1.0"
