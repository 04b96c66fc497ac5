"""Tune a tiny BERT's learning rate and weight decay with the Hugging Face Trainer, on the CPU.

The model is built from a config and learns a synthetic task (is the first token in the upper half of
the vocabulary?), so nothing is downloaded. ``SigOptCallback`` records each run's training arguments,
logs and evaluation metrics; a learning rate high enough to turn the loss NaN fails its run as
``diverged`` and stops its training. Needs ``pip install "sigopt-ai[transformers]" accelerate``.
"""

from __future__ import annotations

import tempfile

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

import sigopt_ai as sigopt
from sigopt_ai.integrations.transformers import SigOptCallback


def tokens(rows: int, seed: int) -> list[dict[str, torch.Tensor]]:
    ids = torch.randint(1, 50, (rows, 8), generator=torch.Generator().manual_seed(seed))
    return [{"input_ids": row, "labels": (row[0] >= 25).long()} for row in ids]


config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
experiment = sigopt.create_experiment(
    name="tiny-bert",
    project="transformers-example",
    parameters=[
        dict(name="learning_rate", type="double", bounds=dict(min=1e-4, max=1e6), transformation="log"),
        dict(name="weight_decay", type="double", bounds=dict(min=0.0, max=0.1)),
    ],
    metrics=[dict(name="eval_loss", objective="minimize")],
    budget=4,
)
with tempfile.TemporaryDirectory() as out:
    for run in experiment.loop():
        with run:
            torch.manual_seed(0)
            arguments = TrainingArguments(
                output_dir=out,
                report_to="none",
                use_cpu=True,
                save_strategy="no",
                max_steps=16,
                logging_steps=4,
                eval_strategy="steps",
                eval_steps=8,
                learning_rate=run.params.learning_rate,
                weight_decay=run.params.weight_decay,
            )
            model = BertForSequenceClassification(config)
            data = dict(train_dataset=tokens(64, 0), eval_dataset=tokens(32, 1))
            Trainer(model, arguments, **data, callbacks=[SigOptCallback()]).train()

print("failed runs by kind:", dict(experiment.progress.failed_by_kind))
for best in experiment.best_runs():
    tuned = {name: best.params[name] for name in ("learning_rate", "weight_decay")}
    print(f"best run {best.id}: eval_loss={best.metrics['eval_loss']:.4f} with {tuned}")
