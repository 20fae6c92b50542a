"""The Hugging Face Hub: push a checkpoint folder (safetensors, config, card; never a pickle)
and pull one back, validated by ``fmae.models.load_checkpoint`` before it is used. Error
messages never hold the token.

Uses ``fmae.models``.
"""

from fmae.hub.transfer import (
    SAFE_FILES,
    PushResult,
    pull_checkpoint,
    push_checkpoint,
    resolve_token,
    scrub,
    validate_repo_id,
)

__all__ = [
    "SAFE_FILES",
    "PushResult",
    "pull_checkpoint",
    "push_checkpoint",
    "resolve_token",
    "scrub",
    "validate_repo_id",
]
