"""Training progress: a rich bar with loss and ETA, the loss history, and its plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["ProgressCallback", "loss_history", "write_loss_plot"]


class ProgressCallback:
    """A transformers TrainerCallback (by duck typing) that drives a rich progress bar."""

    def __init__(self, *, enabled: bool = True):
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None
        self.loss: float | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("on_"):  # every other Trainer event: nothing to do
            return lambda *args, **kwargs: None
        raise AttributeError(name)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self.enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "train", total=state.max_steps, completed=state.global_step, loss="-"
        )

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self.loss = float(logs["loss"])
        if self._progress is not None:
            shown = f"{self.loss:.3f}" if self.loss is not None else "-"
            self._progress.update(self._task, completed=state.global_step, loss=shown)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=state.global_step)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def loss_history(log_history: list[dict[str, Any]]) -> list[dict[str, float]]:
    """(step, loss, learning rate) of every logged training step, resumed runs included."""
    return [
        {"step": int(e["step"]), "loss": float(e["loss"]), "lr": float(e.get("learning_rate", 0))}
        for e in log_history
        if "loss" in e and "step" in e
    ]


def write_loss_plot(history: list[dict[str, float]], path: Path) -> Path | None:
    """loss.png: the training loss per step; None when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.5), dpi=100, layout="constrained")
    axes = figure.subplots()
    axes.plot([h["step"] for h in history], [h["loss"] for h in history], color="#2563eb")
    axes.set_xlabel("step")
    axes.set_ylabel("training loss (answer tokens)")
    axes.grid(alpha=0.3)
    figure.savefig(path)
    return path
