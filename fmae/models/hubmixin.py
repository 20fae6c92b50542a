"""``CheckpointHubMixin``: ``PyTorchModelHubMixin`` whose methods go through fmae's own strict code.

``huggingface_hub.PyTorchModelHubMixin`` gives each model ``save_pretrained``, ``push_to_hub`` and
``from_pretrained``. Its own versions write a config.json without ``model_type`` (which
``load_checkpoint`` needs) and load non-strictly (a missing layer keeps its random init; extra,
misshapen or non-finite weights are not noticed). Here every one of them is fmae's way in or out:

- ``save_pretrained(folder)`` is ``save_checkpoint(model, folder)``: the same four files, byte for
  byte, after the same checks (config bounds, float32, finite numbers), written atomically;
- ``push_to_hub(repo_id)`` saves to a temporary folder the same way, then uploads it as
  ``fmae.hub.push_checkpoint`` does (``fmae.models.upload_checkpoint``): the same files, a card
  rendered for the repo, stale assets and card images removed;
- ``from_pretrained(folder or repo_id)`` is ``load_checkpoint`` (a folder) or what
  ``fmae.hub.pull_checkpoint`` runs (a repo: never a pickle, assets checked too), and refuses a
  checkpoint of another model class.

Options of the mixin that would break that (``strict=False``, config overrides, file patterns,
card templates) raise ValueError rather than being ignored.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from huggingface_hub import HfApi, PyTorchModelHubMixin

from fmae.errors import CheckpointError

T = TypeVar("T", bound="CheckpointHubMixin")
_UNSUPPORTED = "fmae writes and reads exactly its checkpoint files, so {} is not supported"


def _refuse(**options: object) -> None:
    """Raise ValueError for any mixin option given that fmae does not honour."""
    given = sorted(name for name, value in options.items() if value)
    if given:
        raise ValueError(_UNSUPPORTED.format(", ".join(given)))


class CheckpointHubMixin(PyTorchModelHubMixin):
    """The Hub mixin of fmae's models; see the module docstring. Errors: CheckpointError for a model
    or checkpoint that fails fmae's checks, ValueError for unsupported options, and the Hub client's
    own errors (``huggingface_hub.errors``) for network, repo and token problems."""

    def _check_config(self, config: object) -> None:
        """A ``config`` passed to save_pretrained/push_to_hub must agree with the model's own
        (every key it has), else CheckpointError."""
        from fmae.models.registry import model_config  # here: the registry imports the model classes

        if config is None:
            return
        given = asdict(config) if is_dataclass(config) and not isinstance(config, type) else config
        own = model_config(self)  # type: ignore[arg-type]
        if not isinstance(given, dict) or any(k not in own or own[k] != v for k, v in given.items()):
            raise CheckpointError(
                f"config {given!r} is not this model's ({own!r}): fmae writes config.json from the "
                "model itself, so that it always rebuilds the same model"
            )

    def save_pretrained(
        self,
        save_directory: str | Path,
        *,
        config: dict | Any | None = None,
        repo_id: str | None = None,
        push_to_hub: bool = False,
        model_card_kwargs: dict[str, Any] | None = None,
        info: dict[str, Any] | None = None,
        **push_to_hub_kwargs: Any,
    ) -> str | None:
        """``fmae.models.save_checkpoint(self, save_directory, info)``: config.json (with
        ``model_type``), model.safetensors, metrics.json (``info``) and the model card, written
        atomically after fmae's checks. With ``push_to_hub=True`` the folder is then uploaded to
        ``repo_id`` (default: the folder's name) like ``push_to_hub``; returns the commit URL then,
        else None. Raises CheckpointError (the model would not load back, or ``save_directory``
        holds other files), ValueError for ``model_card_kwargs`` (fmae renders its own card)."""
        from fmae.models.checkpoint import save_checkpoint

        _refuse(model_card_kwargs=model_card_kwargs)
        self._check_config(config)
        folder = save_checkpoint(self, save_directory, info)  # type: ignore[arg-type]
        if not push_to_hub:
            return None
        return self._upload(folder, repo_id or folder.name, **push_to_hub_kwargs)

    def _save_pretrained(self, save_directory: Path) -> None:
        """The mixin's hook, for callers of the base class's save_pretrained: fmae's files too."""
        from fmae.models.checkpoint import save_checkpoint

        save_checkpoint(self, save_directory)  # type: ignore[arg-type]

    def push_to_hub(
        self,
        repo_id: str,
        *,
        config: dict | Any | None = None,
        commit_message: str | None = None,
        private: bool | None = None,
        token: str | None = None,
        branch: str | None = None,
        create_pr: bool | None = None,
        allow_patterns: list[str] | str | None = None,
        ignore_patterns: list[str] | str | None = None,
        delete_patterns: list[str] | str | None = None,
        model_card_kwargs: dict[str, Any] | None = None,
        info: dict[str, Any] | None = None,
    ) -> str:
        """Save the model like ``save_pretrained`` into a temporary folder, then upload it to
        ``repo_id`` (created if missing) as one commit, as ``fmae.hub.push_checkpoint`` does.

        Nothing is sent (no repo is created) when the model fails fmae's checks (CheckpointError).
        File patterns and ``model_card_kwargs`` raise ValueError: the files are fmae's. Returns the
        commit URL (a ``huggingface_hub.CommitInfo``).
        """
        _refuse(
            allow_patterns=allow_patterns,
            ignore_patterns=ignore_patterns,
            delete_patterns=delete_patterns,
            model_card_kwargs=model_card_kwargs,
        )
        with tempfile.TemporaryDirectory(prefix="fmae-push-") as tmp:
            folder = Path(tmp) / repo_id.split("/")[-1]
            self.save_pretrained(folder, config=config, info=info)
            return self._upload(
                folder, repo_id, commit_message=commit_message, private=private, token=token,
                branch=branch, create_pr=create_pr,
            )  # fmt: skip

    def _upload(
        self,
        folder: Path,
        repo_id: str,
        *,
        commit_message: str | None = None,
        private: bool | None = None,
        token: str | None = None,
        branch: str | None = None,
        create_pr: bool | None = None,
        **unsupported: Any,
    ) -> str:
        from fmae.models.hubfiles import upload_checkpoint

        _refuse(**unsupported)
        api = HfApi(token=token)
        return upload_checkpoint(
            folder, repo_id, api=api, private=private, message=commit_message, branch=branch,
            create_pr=create_pr,
        )  # fmt: skip

    @classmethod
    def from_pretrained(
        cls: type[T],
        pretrained_model_name_or_path: str | Path,
        *,
        force_download: bool = False,
        token: str | bool | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool = False,
        revision: str | None = None,
        map_location: str = "cpu",
        strict: bool = True,
        **model_kwargs: Any,
    ) -> T:
        """Load a model of this class from a checkpoint folder or a Hub repo id, strictly.

        A folder goes through ``fmae.models.load_checkpoint``; a repo id downloads config.json,
        model.safetensors and the other checkpoint files (never a pickle) into the Hub cache and
        checks them as ``fmae.hub.pull_checkpoint`` does. Returns the model in eval mode on
        ``map_location``. Raises CheckpointError (bounds, keys, shapes, dtypes, finiteness, or a
        checkpoint of another model class), ValueError for ``strict=False`` or config overrides in
        ``model_kwargs`` (the config comes from config.json only), and the Hub client's errors.
        """
        from fmae.models.checkpoint import load_checkpoint
        from fmae.models.hubfiles import download_checkpoint

        if strict is not True:
            raise ValueError("fmae loads checkpoints strictly only (exact keys, shapes, dtypes, finite)")
        if model_kwargs:
            raise ValueError(
                f"{sorted(model_kwargs)}: the model's config comes from its config.json only; "
                "a different config would not match the weights"
            )
        source = str(pretrained_model_name_or_path)
        if Path(source).is_dir():
            ckpt = load_checkpoint(source)
        else:
            ckpt = download_checkpoint(
                source, revision=revision, token=token, cache_dir=cache_dir,
                force_download=force_download, local_files_only=local_files_only,
            )  # fmt: skip
        if type(ckpt.model) is not cls:
            other = type(ckpt.model).__name__
            raise CheckpointError(
                f"{source} holds a {ckpt.model_type} model ({other}); {cls.__name__}.from_pretrained "
                f"loads only {cls.__name__} checkpoints: use {other}.from_pretrained or load_checkpoint"
            )
        return ckpt.model.to(map_location)  # type: ignore[return-value]

    @classmethod
    def _from_pretrained(
        cls: type[T],
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        strict: bool = True,
        **config_kwargs: Any,
    ) -> T:
        """The mixin's hook, for callers of the base class's from_pretrained: fmae's strict loading
        (``config_kwargs``, read from the same config.json, are checked there again)."""
        return cls.from_pretrained(
            model_id, revision=revision, cache_dir=cache_dir, force_download=force_download,
            local_files_only=local_files_only, token=token, map_location=map_location, strict=strict,
        )  # fmt: skip
