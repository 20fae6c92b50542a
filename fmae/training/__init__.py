"""Training and measuring autoencoders: ``TrainConfig``, ``train()`` yielding events (it never
prints; a run whose numbers stop being finite ends keeping its last good weights), the MLP's
autograd-free training step, test-set metrics (BCE, MSE, the PCA baseline,
kNN accuracy of the codes), a model's reference assets and its model-card images; ``distributed``:
data-parallel training under torchrun.

Uses ``fmae.data`` and ``fmae.models``.
"""

from fmae.training import distributed
from fmae.training.card_images import write_card_images
from fmae.training.config import MAX_BATCH, MAX_EPOCHS, TrainConfig
from fmae.training.events import DoneEvent, EpochEvent, StepEvent, TrainEvent
from fmae.training.metrics import (
    encode_images,
    evaluate,
    image_losses,
    knn_accuracy,
    pca_baseline,
    test_losses,
)
from fmae.training.reference import PCA_IMAGES, compute_assets, dataset_pca, fit_pca, per_image_errors
from fmae.training.report import measure_result, result_info, result_notes
from fmae.training.trainer import (
    GOOD_EVERY,
    initial_model,
    make_optimizer,
    reconstruction_loss,
    resolve_device,
    seed_everything,
    train,
    train_to_end,
)
from fmae.training.zerogpu import on_zero_gpu

__all__ = [
    "GOOD_EVERY",
    "MAX_BATCH",
    "MAX_EPOCHS",
    "PCA_IMAGES",
    "DoneEvent",
    "EpochEvent",
    "StepEvent",
    "TrainConfig",
    "TrainEvent",
    "compute_assets",
    "dataset_pca",
    "distributed",
    "encode_images",
    "evaluate",
    "fit_pca",
    "image_losses",
    "initial_model",
    "knn_accuracy",
    "make_optimizer",
    "measure_result",
    "on_zero_gpu",
    "pca_baseline",
    "per_image_errors",
    "reconstruction_loss",
    "resolve_device",
    "result_info",
    "result_notes",
    "seed_everything",
    "test_losses",
    "train",
    "train_to_end",
    "write_card_images",
]
