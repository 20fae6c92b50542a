"""The app's shared state: shipped models (one copy per process) and per-visitor sessions.

A visitor is identified by Gradio's ``request.session_hash`` (one per page load; one per
``gradio_client.Client``), so the API and the browser see the same per-session models.
Tab builders receive one ``AppState`` and use:

- ``app.picker``: the model picker (a ``gr.Dropdown`` whose value is a model name); add it to
  an event's inputs to learn which model the visitor picked, and to its outputs to change it;
- ``app.resolve(request, name) -> ModelEntry``: that model (``.checkpoint.model``,
  ``.checkpoint.config``/``.info``, ``.assets``, ``.folder`` if saved, ``.source``);
- ``app.add_model(request, name, entry) -> (name, picker_update)``: store a model trained or
  pulled in this session and make it current (return ``picker_update`` to ``app.picker``);
- ``app.save(request, name) -> Path``: the model saved as a checkpoint folder in the session's
  own directory (what a Hub push or a download needs);
- ``app.session(request)``: the visitor's ``fmae.session.Session``.
"""

from __future__ import annotations

import atexit
import hashlib
import math
import os
import shutil
import tempfile
from pathlib import Path

import gradio as gr

from fmae.models import save_assets, save_checkpoint
from fmae.session import ModelEntry, Session, SessionStore, ShippedModels, resolve
from ui.i18n import error_text, lang_of, tr

ROOT = Path(__file__).resolve().parents[1]
PREFERRED_DEFAULTS = ("fashion-conv", "fashion-mlp", "mnist-conv")


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


class AppState:
    """Shipped models, the session store and the model picker; see the module docstring."""

    def __init__(self, checkpoints: str | Path | None = None, session_root: str | Path | None = None) -> None:
        self.shipped = ShippedModels(checkpoints or os.environ.get("FMAE_CHECKPOINTS", ROOT / "checkpoints"))
        self.max_models = _env_int("FMAE_MAX_MODELS", 3)
        self.store: SessionStore[Session] = SessionStore(
            lambda: Session(max_models=self.max_models),
            max_sessions=_env_int("FMAE_MAX_SESSIONS", 200),
            ttl_s=60 * _env_int("FMAE_SESSION_TTL_MIN", 30),
            weigh=lambda s: s.nbytes,
            max_weight=_env_int("FMAE_SESSION_MAX_MB", 2048) * 2**20,
            on_evict=self._on_evict,
        )
        self._session_root = Path(session_root) if session_root else None
        self.picker: gr.Dropdown | None = None  # set by app.py once the dropdown exists

    # ------------------------------------------------------------------ sessions
    @staticmethod
    def session_id(request: gr.Request | None) -> str:
        """The visitor's id (Gradio's session hash)."""
        sid = getattr(request, "session_hash", None)
        return sid or "anonymous"

    def session(self, request: gr.Request | None) -> Session:
        """The visitor's session (created on first use, kept while active)."""
        return self.store.get(self.session_id(request))

    def session_dir(self, request: gr.Request | None) -> Path:
        """A directory only this session writes to (removed when the session is dropped)."""
        if self._session_root is None:
            self._session_root = Path(tempfile.mkdtemp(prefix="fmae-sessions-"))
            atexit.register(shutil.rmtree, self._session_root, ignore_errors=True)
        # the session hash comes from the client: hash it rather than trusting it in a path
        digest = hashlib.sha256(self.session_id(request).encode()).hexdigest()[:20]
        path = self._session_root / digest
        path.mkdir(parents=True, exist_ok=True)
        return path

    def drop(self, request: gr.Request | None) -> None:
        """Forget a session now (its tab closed): stops its training, deletes its files."""
        self.store.drop(self.session_id(request))

    def _on_evict(self, session_id: str, session: Session) -> None:
        session.stop_requested.set()  # a run of an evicted session must not go on
        if self._session_root is not None:
            digest = hashlib.sha256(session_id.encode()).hexdigest()[:20]
            shutil.rmtree(self._session_root / digest, ignore_errors=True)

    # ------------------------------------------------------------------ models
    def default_model(self) -> str | None:
        """The model selected on page load."""
        names = self.shipped.names()
        return next((n for n in PREFERRED_DEFAULTS if n in names), names[0] if names else None)

    def choices(self, session: Session | None = None, lang: str = "en") -> list[tuple[str, str]]:
        """Picker choices ``(label, name)``: shipped models, then this session's own (labels in ``lang``)."""

        def label(name: str, source: str) -> str:
            known = source in ("shipped", "trained", "pulled")  # fmae.session's sources
            return tr(lang, "choice", name=name, source=tr(lang, f"source_{source}") if known else source)

        out = [(label(n, "shipped"), n) for n in self.shipped.names()]
        if session is not None:
            out += [(label(n, session.get_model(n).source), n) for n in session.model_names()]
        return out

    def choice_names(self, session: Session | None = None) -> list[str]:
        """The names a visitor may pick: shipped models, then the session's own."""
        return [name for _, name in self.choices(session)]

    def picker_update(self, session: Session, value: str | None = None, lang: str = "en") -> dict:
        """A ``gr.update`` for ``app.picker`` listing the session's choices (labels in ``lang``)."""
        return gr.update(
            choices=self.choices(session, lang), value=value or session.current or self.default_model()
        )

    def resolve(self, request: gr.Request | None, name: str | None) -> ModelEntry:
        """The model ``name`` as this visitor sees it (None or "": the current one, else the app's
        default, as the page loads it); FmaeError if unknown."""
        session = self.session(request)
        return resolve(self.shipped, session, name or session.current or self.default_model())

    def add_model(self, request: gr.Request | None, name: str, entry: ModelEntry) -> tuple[str, dict]:
        """Keep ``entry`` in the visitor's session under a unique name and make it current."""
        session = self.session(request)
        base = f"{name}-session" if name in self.shipped.names() else name
        used = session.add_model(base, entry)
        self.store.refresh(self.session_id(request))
        return used, self.picker_update(session, used, lang_of(request))

    def save(self, request: gr.Request | None, name: str | None) -> Path:
        """Save the visitor's model ``name`` (None: current) as a checkpoint folder; returns it."""
        entry = self.resolve(request, name)
        if entry.source == "shipped" and entry.folder is not None:
            return entry.folder
        assets = entry.assets
        folder = save_checkpoint(
            entry.checkpoint.model,
            self.session_dir(request) / entry.name,
            entry.checkpoint.info,
            extra_files=None if assets is None else lambda tmp: save_assets(assets, tmp),
        )
        entry.folder = folder
        return folder


def user_error(exc: Exception, lang: str = "en") -> gr.Error:
    """Our exception -> a ``gr.Error`` showing its message in ``lang`` (``ui.i18n.lang_of(request)``);
    never a traceback, OSErrors without paths."""
    return gr.Error(error_text(exc, lang))


def model_info(entry: ModelEntry, lang: str = "en") -> str:
    """One line about a model for the header: type, sizes, dataset and test error."""
    cfg = entry.checkpoint.config
    sizes = ", " if lang == "en" else "、"
    sizes = sizes.join(
        tr(lang, f"size_{k.removesuffix('_dim')}", v=v)
        for k, v in cfg.items()
        if k in ("latent_dim", "hidden_dim", "channels")
    )
    metrics = entry.checkpoint.metrics
    value = metrics.get("test_mse")
    finite = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    mse = tr(lang, "model_mse", mse=value) if finite else ""  # never a NaN shown
    dataset = entry.checkpoint.dataset
    dataset = tr(lang, f"ds_{dataset}") if dataset in ("fashion", "mnist") else dataset
    kind = cfg["model_type"]
    return tr(lang, "model_info", name=entry.name, kind=kind, sizes=sizes, dataset=dataset, mse=mse)
