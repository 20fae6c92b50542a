"""Training and measuring autoencoders: ``TrainConfig``, ``train()`` yielding events (it never
prints), the MLP's autograd-free training step, test-set metrics (BCE, MSE, the PCA baseline,
kNN accuracy of the codes), a model's reference assets and its model-card images.

Uses ``fmae.data`` and ``fmae.models``.
"""

from fmae.training.card_images import write_card_images
from fmae.training.config import MAX_BATCH, MAX_EPOCHS, TrainConfig
from fmae.training.events import DoneEvent, EpochEvent, StepEvent, TrainEvent
from fmae.training.metrics import encode_images, evaluate, image_losses, knn_accuracy, pca_baseline
from fmae.training.reference import PCA_IMAGES, compute_assets, dataset_pca, fit_pca, per_image_errors
from fmae.training.trainer import (
    initial_model,
    make_optimizer,
    reconstruction_loss,
    resolve_device,
    seed_everything,
    train,
    train_to_end,
)

__all__ = [
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
    "encode_images",
    "evaluate",
    "fit_pca",
    "image_losses",
    "initial_model",
    "knn_accuracy",
    "make_optimizer",
    "pca_baseline",
    "per_image_errors",
    "reconstruction_loss",
    "resolve_device",
    "seed_everything",
    "train",
    "train_to_end",
    "write_card_images",
]
