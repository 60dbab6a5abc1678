"""PSCL model: backbone -> PLM (with ReSAF) -> MMBPR -> VLCL-MG heads."""
from .pscl import PSCLModel, GlobalBranch  # noqa: F401
