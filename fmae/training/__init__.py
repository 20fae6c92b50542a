"""Training and measuring autoencoders: ``TrainConfig``, ``train()`` yielding events (it never
prints; a run whose numbers stop being finite ends keeping its last good weights), the MLP's
autograd-free training step, input noise for denoising runs, frames of the latent map while a
model trains and the pause/step control of a run, test-set metrics (BCE, MSE, the PCA baseline,
kNN accuracy of the codes), a model's reference assets and its model-card images; ``distributed``:
data-parallel training under torchrun.

Uses ``fmae.data`` and ``fmae.models``.
"""

from fmae.training import distributed
from fmae.training.card_images import write_card_images
from fmae.training.config import MAX_BATCH, MAX_BETA, MAX_EPOCHS, VAE_MODELS, TrainConfig
from fmae.training.control import RunControl
from fmae.training.events import DoneEvent, EpochEvent, FrameEvent, StepEvent, TrainEvent
from fmae.training.frames import (
    FRAME_EVERY_S,
    MAX_FRAMES,
    N_RECON,
    PROBE_SIZE,
    FrameRecorder,
    LatentFrame,
    Probe,
    frame_drift,
    make_probe,
    plane_positions,
)
from fmae.training.metrics import (
    denoising_mse,
    encode_images,
    evaluate,
    image_losses,
    knn_accuracy,
    pca_baseline,
    test_loss_terms,
    test_losses,
)
from fmae.training.noise import NOISE_KINDS, Noise, corrupt, parse_noise
from fmae.training.reference import PCA_IMAGES, compute_assets, dataset_pca, fit_pca, per_image_errors
from fmae.training.report import measure_result, result_info, result_notes
from fmae.training.steps import make_optimizer
from fmae.training.trainer import (
    GOOD_EVERY,
    initial_model,
    reconstruction_loss,
    resolve_device,
    seed_everything,
    train,
    train_to_end,
)
from fmae.training.zerogpu import on_zero_gpu

__all__ = [
    "FRAME_EVERY_S",
    "GOOD_EVERY",
    "MAX_BATCH",
    "MAX_BETA",
    "MAX_EPOCHS",
    "MAX_FRAMES",
    "NOISE_KINDS",
    "N_RECON",
    "PCA_IMAGES",
    "PROBE_SIZE",
    "VAE_MODELS",
    "DoneEvent",
    "EpochEvent",
    "FrameEvent",
    "FrameRecorder",
    "LatentFrame",
    "Noise",
    "Probe",
    "RunControl",
    "StepEvent",
    "TrainConfig",
    "TrainEvent",
    "compute_assets",
    "corrupt",
    "dataset_pca",
    "denoising_mse",
    "distributed",
    "encode_images",
    "evaluate",
    "fit_pca",
    "frame_drift",
    "image_losses",
    "initial_model",
    "knn_accuracy",
    "make_optimizer",
    "make_probe",
    "measure_result",
    "on_zero_gpu",
    "parse_noise",
    "pca_baseline",
    "per_image_errors",
    "plane_positions",
    "reconstruction_loss",
    "resolve_device",
    "result_info",
    "result_notes",
    "seed_everything",
    "test_loss_terms",
    "test_losses",
    "train",
    "train_to_end",
    "write_card_images",
]
