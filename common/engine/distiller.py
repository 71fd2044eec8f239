"""The supervised distillation loop used by vision and NLP.

One epoch: for each batch, the method returns its loss terms (the teacher, if any, runs frozen in inference
mode inside the method), the weighted total is back-propagated into the student and the method's own
parameters, and the optimiser steps. On CUDA, and on CPUs with native bf16 (AVX512-BF16 / AMX), the forward
runs under bf16 autocast; on CUDA nothing syncs with the host except at logging points. At the end of each
epoch the optional ``evaluate`` callback runs, the record goes to metrics.json and TensorBoard, and
``last.pt`` (student, method, optimiser, scheduler, epoch, RNG; fp16's loss scale) is written atomically, so
``fit(resume=True)`` continues an interrupted run where its last finished epoch left it. A resumed run
trains with the settings it was given, not the saved ones: the optimiser keeps its own learning rate, weight
decay and momentum (the checkpoint gives its moments), and the learning-rate schedule built from the new
config is replayed to the saved step, or epoch, as it counts (so with a per-step schedule or a lookahead an epoch
must take as many steps as before: another batch size is refused); TensorBoard drops what the interrupted run
logged past the checkpoint. A non-finite loss stops the run with the step, the loss terms
and what to do (``resume_advice``), and leaves the last good checkpoint in place; a loss that grows a
thousandfold without turning NaN is reported (:class:`~kd.common.utils.loss_watch.LossGrowthWatch`).

With a ``lookahead`` (:class:`~kd.common.engine.lookahead.Lookahead`, airbench's lookahead EMA) every optimiser
step is followed by its ``step``, and at the end of the epoch that reaches its last step the weights become the
average (``finish``), before that epoch's evaluation, its ``last.pt`` and the model the caller saves; the average
is part of ``last.pt``.

Under torch.distributed (``torchrun``, see :mod:`kd.common.utils.distributed`) the same object runs on
every rank: the student and the method's own parameters train inside one DistributedDataParallel
wrapper (so a projector's gradients are averaged too), each rank reads its shard of the data, the
logged loss terms are means over all ranks' steps, only rank 0 logs and writes ``last.pt``, and every
rank resumes from the checkpoint rank 0 finds.
"""
from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from kd.common.engine.lookahead import Lookahead
from kd.common.engine.method import DistillationMethod
from kd.common.utils.checkpoint import (LAST_CHECKPOINT, atomic_save, load_optimizer_state, load_state_dict_checked,
                                        require_training_state, safe_load)
from kd.common.utils import distributed
from kd.common.utils.device import autocast, move_to
from kd.common.utils.errors import ConfigError, NonFiniteLossError
from kd.common.utils.loss_watch import LossGrowthWatch
from kd.common.utils.run_folder import RunFolder


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel / torch.compile wrapper."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or getattr(model, "_orig_mod")
    return model


class _StudentAndMethod(nn.Module):
    """Student and method as one module, so DDP averages the gradients of both (a projector's too)."""

    def __init__(self, student: nn.Module, method: DistillationMethod):
        super().__init__()
        self.student, self.method = student, method

    def forward(self, teacher: nn.Module | None, batch: Any) -> dict[str, torch.Tensor]:
        return self.method(self.student, teacher, batch)


class Distiller:
    """Trains ``student`` on the loss terms of ``method`` (teacher frozen), with checkpoints and logs.

    Args:
        student: the model being trained (may be wrapped in DDP).
        method: a :class:`DistillationMethod`; its parameters are trained too (add them to ``optimizer``).
        optimizer: over ``student`` and ``method`` parameters.
        teacher: frozen teacher (``None`` for plain supervised training or offline soft labels).
        scheduler: an LR scheduler, stepped each epoch (``scheduler_interval="epoch"``) or each step.
        run: the run folder for metrics, TensorBoard and checkpoints (``None``: no files written).
        precision: ``auto`` (bf16 on GPUs and CPUs with native bf16, else fp32), ``bf16``, ``fp16`` or ``fp32``.
        is_main: whether this process logs and writes files; default: rank 0 under torch.distributed.
        resume_advice: how to continue after the loss diverged, ending the NaN error and the growth warning,
            e.g. ``"lower the learning rate: --resume runs/x student.lr=<lower>"`` (the caller knows its config).
        lookahead: a :class:`~kd.common.engine.lookahead.Lookahead` over the student (and the method), built with
            the run's total optimiser steps; ``None``: plain optimiser steps.

    When a process group of several ranks is initialised and ``student`` is not already wrapped in
    DDP, the student and the method are wrapped together in DistributedDataParallel.
    """

    def __init__(self, student: nn.Module, method: DistillationMethod, optimizer: torch.optim.Optimizer, *,
                 device: torch.device, teacher: nn.Module | None = None, scheduler: Any = None,
                 scheduler_interval: str = "epoch", run: RunFolder | None = None, precision: str = "auto",
                 grad_clip: float | None = None, log_every: int = 50, progress: bool = True,
                 is_main: bool | None = None, resume_advice: str = "lower the learning rate and continue from the "
                                                                   "last checkpoint with --resume RUN_DIR",
                 lookahead: Lookahead | None = None):
        self.student, self.method, self.optimizer = student, method, optimizer
        self.lookahead = lookahead
        self.teacher, self.scheduler, self.scheduler_interval = teacher, scheduler, scheduler_interval
        self.device, self.run, self.precision = device, run, precision
        self.grad_clip, self.log_every, self.progress = grad_clip, log_every, progress
        self.is_main = distributed.is_main() if is_main is None else is_main
        self.resume_advice = resume_advice
        self.growth = LossGrowthWatch(resume_advice, enabled=self.is_main)
        self.world_size = distributed.get_world_size()
        self._ddp = None
        if self.world_size > 1 and not isinstance(student, nn.parallel.DistributedDataParallel):
            self._ddp = distributed.wrap_ddp(_StudentAndMethod(student, method), device)
        self.scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
        self.epoch = 0  # epochs completed
        self.global_step = 0
        self._resumed = False  # set by load_state_dict until fit has checked the steps per epoch
        if teacher is not None:
            teacher.eval().requires_grad_(False)
        # On CPU a per-step finiteness check costs nothing; on CUDA it would sync every step.
        self._check_every = 1 if device.type != "cuda" else max(1, log_every)

    # ----------------------------------------------------------------------------------- checkpoints
    @property
    def checkpoint_path(self) -> Path | None:
        return self.run.checkpoints / LAST_CHECKPOINT if self.run is not None else None

    def state_dict(self) -> dict:
        state = {
            "student": unwrap(self.student).state_dict(),
            "method": self.method.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "torch_rng": torch.get_rng_state(),
        }
        if self.scheduler is not None:
            state["scheduler"] = self.scheduler.state_dict()
        if self.lookahead is not None:
            state["lookahead"] = self.lookahead.state_dict()
        if self.scaler is not None:  # fp16: the loss scale it has settled on
            state["grad_scaler"] = self.scaler.state_dict()
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict, source: str = "the checkpoint") -> None:
        """Continue from ``state``: weights, optimiser moments, position and RNG from it; the optimiser's
        settings and the schedule from how this Distiller was built (the resumed run's config). Weights that do not
        fit (a run of another version of the code) are one line naming ``source``."""
        load_state_dict_checked(unwrap(self.student), state["student"], source=f"{source} (student)")
        load_state_dict_checked(self.method, state["method"], source=f"{source} (the method's own parameters)")
        load_optimizer_state(self.optimizer, state["optimizer"])
        if self.lookahead is not None:
            if "lookahead" in state:
                self.lookahead.load_state_dict(state["lookahead"])
            else:  # a run saved without one: the average starts from the resumed weights, of the tensors chosen
                self.lookahead.restart()  # when it was built (a new Lookahead would leave out a model frozen now)
            if state["global_step"] < self.lookahead.total_steps:  # a finished run given more epochs: the weights
                self.lookahead.finished = False  # become the average again at the new last step
        if self.scheduler is not None:
            # the new schedule's position, counted as it counts: steps, or epochs (the saved run may have had another
            # schedule, counting the other way, or none, when --resume changed it)
            self._replay_schedule(state["global_step"] if self.scheduler_interval == "step" else state["epoch"])
        if self.scaler is not None and "grad_scaler" in state:
            self.scaler.load_state_dict(state["grad_scaler"])
        self.epoch, self.global_step = state["epoch"], state["global_step"]
        self._resumed = True
        torch.set_rng_state(state["torch_rng"])
        if "cuda_rng" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    def _replay_schedule(self, steps: int) -> None:
        """Step the freshly built scheduler to where the saved one was, so the learning rate is the new
        config's at that point (a saved scheduler would bring back the old base rate and horizon)."""
        with warnings.catch_warnings():  # "lr_scheduler.step() before optimizer.step()": intended here
            warnings.simplefilter("ignore", UserWarning)
            while self.scheduler.last_epoch < steps:
                self.scheduler.step()

    def save_checkpoint(self) -> None:
        if self.is_main and self.checkpoint_path is not None:
            atomic_save(self.state_dict(), self.checkpoint_path)
        distributed.barrier()  # no rank runs ahead of a checkpoint that is still being written

    def try_resume(self) -> bool:
        """Load ``last.pt`` from the run folder if there is one; return whether it did.

        Under torch.distributed every rank loads the file rank 0 found, so all resume from one state.
        """
        found = self.checkpoint_path if self.checkpoint_path is not None and self.checkpoint_path.is_file() else None
        found = distributed.broadcast_object(str(found) if found is not None else None)
        if found is None:
            return False
        # onto the CPU: torch.set_rng_state takes only a CPU tensor, and the weights and moments are copied from
        # there into the model's and the optimiser's own tensors, wherever they live
        self.load_state_dict(require_training_state(safe_load(found, map_location="cpu"), found), source=found)
        return True

    def _refuse_other_steps_per_epoch(self, loader) -> None:
        """After a resume, a ConfigError when an epoch of ``loader`` takes another number of steps than the saved
        run's did (another batch size): a per-step schedule and the lookahead were built from the new count, so the
        saved step would fall at another point of them."""
        resumed, self._resumed = self._resumed, False
        counts_steps = (self.scheduler is not None and self.scheduler_interval == "step") or self.lookahead is not None
        if not (resumed and counts_steps and self.epoch and hasattr(loader, "__len__")):
            return
        if self.global_step != self.epoch * len(loader):
            raise ConfigError(f"--resume cannot change the steps of an epoch ({self.global_step // self.epoch} "
                              f"saved, {len(loader)} now): the learning-rate schedule counts steps; resume with the "
                              f"run's batch size (and number of processes), or start a new run")

    # -------------------------------------------------------------------------------------- training
    def train_step(self, batch: Any) -> dict[str, torch.Tensor]:
        """One optimiser step; returns the detached loss terms plus ``loss`` (the weighted total)."""
        batch = move_to(batch, self.device)
        with autocast(self.device, self.precision):
            if self._ddp is not None:
                terms = self._ddp(self.teacher, batch)
            else:
                terms = self.method(self.student, self.teacher, batch)
            loss = self.method.total(terms)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.grad_clip:
            params = [p for g in self.optimizer.param_groups for p in g["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()
        self.global_step += 1
        if self.lookahead is not None:
            self.lookahead.step(self.global_step)
        return {"loss": loss.detach(), **{k: v.detach() for k, v in terms.items()}}

    def fit(self, train_loader, epochs: int, evaluate: Callable[[int], dict] | None = None,
            resume: bool = False) -> list[dict]:
        """Train until ``epochs`` epochs are complete; returns the run's history (one record per epoch)."""
        if resume and self.try_resume():
            if self.is_main and self.run is not None:  # TensorBoard drops what was logged past the checkpoint
                self.run.resume_logging_after(self.global_step)
            if self.is_main:
                print(f"resumed from {self.checkpoint_path} after epoch {self.epoch}")
        self._refuse_other_steps_per_epoch(train_loader)
        self._finish_lookahead_if_done()  # a run resumed with fewer epochs than it has trained: none run below
        self.student.train()
        self.method.train()
        history: list[dict] = []  # without a run folder (or off rank 0) the history lives here
        while self.epoch < epochs:
            record = self._train_epoch(train_loader, epochs)
            self.epoch += 1
            self._finish_lookahead_if_done()  # before this epoch's evaluation and last.pt
            if self.scheduler is not None and self.scheduler_interval == "epoch":
                self.scheduler.step()
            if evaluate is not None:
                record.update(evaluate(self.epoch))
                self.student.train()
                self.method.train()
            record = {"epoch": self.epoch, **record}
            if self.is_main and self.run is not None:
                self.run.log_epoch(record)
            else:
                history.append(record)
            self.save_checkpoint()
        return self.run.history if self.is_main and self.run is not None else history

    def _finish_lookahead_if_done(self) -> None:
        """At the lookahead's last step the weights become the average (once: ``finish`` does nothing after)."""
        if self.lookahead is not None and self.global_step >= self.lookahead.total_steps:
            self.lookahead.finish()

    def _train_epoch(self, loader, epochs: int) -> dict[str, float]:
        sampler = getattr(loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.epoch)
        batch_sampler = getattr(loader, "batch_sampler", None)
        if hasattr(batch_sampler, "set_epoch"):
            batch_sampler.set_epoch(self.epoch)
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(self.epoch)
        if hasattr(self.method, "set_epoch"):  # e.g. a loss warm-up (DKD); 0-based index of this epoch
            self.method.set_epoch(self.epoch)
        sums: dict[str, torch.Tensor] = {}
        window: dict[str, torch.Tensor] = {}
        n_steps, window_steps = 0, 0
        start = time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {self.epoch + 1}/{epochs}", leave=False,
                   disable=not (self.progress and self.is_main), dynamic_ncols=True)
        for batch in bar:
            terms = self.train_step(batch)
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + value
                window[name] = window.get(name, 0.0) + value
            n_steps += 1
            window_steps += 1
            if n_steps % self._check_every == 0 or self.growth.first is None:
                self._check_finite(terms)
            if n_steps % self.log_every == 0:
                means = {k: v.item() for k, v in distributed.reduce_means(window, window_steps).items()}
                bar.set_postfix({k: f"{v:.4f}" for k, v in means.items()})
                if self.is_main and self.run is not None:
                    self.run.log_scalars(self.global_step, means, prefix="train/")
                window, window_steps = {}, 0
        if n_steps:
            self._check_finite(terms)
        means = distributed.reduce_means(sums, n_steps)  # over every rank's steps
        record = {k if k.startswith("loss") else f"loss_{k}": v.item() for k, v in means.items()}
        record["lr"] = self.optimizer.param_groups[0]["lr"]
        record["epoch_seconds"] = time.perf_counter() - start
        return record

    def _check_finite(self, terms: dict[str, torch.Tensor]) -> None:
        """Raise on a non-finite loss; under torch.distributed every rank raises when any rank's is."""
        if self.world_size > 1:
            bad = distributed.all_reduce_sum((~torch.isfinite(terms["loss"])).float()).item() > 0
        else:
            bad = not math.isfinite(terms["loss"].item())
        where = f"epoch {self.epoch + 1}, step {self.global_step}"
        if not bad:
            self.growth(terms["loss"].item(), where)
            return
        values = ", ".join(f"{k}={v.item():.4g}" for k, v in terms.items())
        kept = (f"the last good checkpoint is {self.checkpoint_path}"
                if self.checkpoint_path is not None and self.checkpoint_path.is_file()
                else "no checkpoint was written yet")
        raise NonFiniteLossError(f"loss became non-finite at {where} ({values}); {kept}; {self.resume_advice}")
