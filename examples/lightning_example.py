"""Tune a tiny Lightning MLP with an experiment; SigOptLogger records each run (runs in seconds on a CPU).

python examples/lightning_example.py
"""

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

import sigopt_ai as sigopt
from sigopt_ai.integrations.lightning import SigOptLogger


class Regressor(pl.LightningModule):
    def __init__(self, lr: float, width: int) -> None:
        super().__init__()
        self.save_hyperparameters()  # recorded as the run's parameters by the logger
        self.net = torch.nn.Sequential(torch.nn.Linear(8, width), torch.nn.ReLU(), torch.nn.Linear(width, 1))

    def training_step(self, batch, index):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, index):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


x = torch.randn(512, 8, generator=torch.Generator().manual_seed(0))
y = (x[:, :4].sum(1) - x[:, 4:].prod(1)).unsqueeze(1)
train, valid = DataLoader(TensorDataset(x[:384], y[:384]), batch_size=64), DataLoader(TensorDataset(x[384:], y[384:]))

exp = sigopt.create_experiment(
    name="lightning-example",
    parameters=[
        dict(name="lr", type="double", bounds=dict(min=1e-3, max=10.0), transformation="log"),  # large ones diverge
        dict(name="width", type="int", bounds=dict(min=4, max=64)),
    ],
    metrics=[dict(name="val_loss", objective="minimize")],
    budget=6,
)
for run in exp.loop():
    with run:
        logger = SigOptLogger()  # records into the loop's run: params, checkpoints, val_loss at the end
        quiet = dict(enable_checkpointing=False, enable_model_summary=False, enable_progress_bar=False)
        trainer = pl.Trainer(max_epochs=3, logger=logger, **quiet)
        trainer.fit(Regressor(run.params.lr, run.params.width), train, valid)

best = exp.best_runs()[0]
chosen = {name: best.params[name] for name in ("lr", "width")}
print(f"best run {best.id}: val_loss={best.metrics['val_loss']:.4f} with {chosen}")
print(f"failed by kind: {dict(exp.progress.failed_by_kind)}")
