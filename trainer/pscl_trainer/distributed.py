"""DDP set-up from torchrun's environment (env:// rendezvous): NCCL on GPU, gloo on CPU."""
import os

import torch
import torch.distributed as dist


class Dist:
    def __init__(self, rank=0, world=1, local_rank=0, active=False):
        self.rank, self.world, self.local_rank, self.active = rank, world, local_rank, active

    @property
    def main(self):
        return self.rank == 0

    def barrier(self):
        if self.active:
            dist.barrier()

    def sum(self, values):
        """Element-wise sum of a list of numbers over all ranks (NCCL needs the tensor on the GPU)."""
        if not self.active:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64)
        if dist.get_backend() == "nccl":
            t = t.cuda()
        dist.all_reduce(t)
        return t.cpu().tolist()

    def any_flag(self, flag):
        """True on every rank when any rank has `flag` set (a stop request seen by one rank)."""
        return self.sum([1.0 if flag else 0.0])[0] > 0 if self.active else flag

    def close(self):
        if self.active and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed(device_type):
    """Join the process group when started by torchrun (WORLD_SIZE > 1), else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend, init_method="env://")
    return Dist(rank, world, local_rank, True)
