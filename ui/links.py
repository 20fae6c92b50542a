"""Links that open the page in a given state, for teaching: ``?model=mnist-conv&tab=train&epochs=5``.

Parameters: ``model`` (a shipped model's name), ``tab`` (train, reconstruct, embeddings, hub) and
the Train tab's settings under their API names (``dataset``, ``model_type``, ``epochs``,
``batch_size``, ``lr``, ``latent_dim``, ``hidden_dim``, ``seed``, ``train_size``). A link carries
the settings that differ from the defaults. Unknown parameters (``__theme``, a Space's own) are
left alone; a known one with a bad value is ignored and named in a message, never an error.

Why not ``gr.DeepLinkButton``: it stores a snapshot of every component on the server and links to
it by id, so its links die with the server process (a Space restarts often) and say nothing a
reader can see or edit. These links are plain, readable and work on any copy of the app.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import gradio as gr

from fmae.training import MAX_BETA
from ui import page
from ui.i18n import lang_of, tr
from ui.state import AppState
from ui.train_tab import BATCH_SIZES, DEFAULTS, LIMITS, MIN_BETA, MODEL_TYPES

TABS = ("train", "reconstruct", "embeddings", "hub")
MAX_SEED = 2**31 - 1


def _int(low: int, high: int, step: int = 1) -> Callable[[str], int | None]:
    def parse(text: str) -> int | None:
        try:
            value = int(text.strip())
        except ValueError:
            return None
        return value if low <= value <= high and (value - low) % step == 0 else None

    return parse


def _choice(choices: tuple[Any, ...]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return next((c for c in choices if str(c) == text.strip()), None)

    return parse


def _beta(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and MIN_BETA <= value <= MAX_BETA else None


def _lr(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and 1e-6 <= value <= 0.1 else None


#: Train setting -> (parser: text -> value or None, why a value was refused: message key and values)
SETTINGS: dict[str, tuple[Callable[[str], Any], tuple[str, dict[str, Any]]]] = {
    "dataset": (_choice(("fashion", "mnist")), ("why_choice", {"choices": "fashion, mnist"})),
    "model_type": (_choice(MODEL_TYPES), ("why_choice", {"choices": ", ".join(MODEL_TYPES)})),
    "epochs": (_int(1, LIMITS["epochs"]), ("why_range", {"low": 1, "high": LIMITS["epochs"]})),
    "batch_size": (_choice(BATCH_SIZES), ("why_choice", {"choices": ", ".join(map(str, BATCH_SIZES))})),
    "lr": (_lr, ("why_lr", {})),
    "latent_dim": (_int(1, LIMITS["latent_dim"]), ("why_range", {"low": 1, "high": LIMITS["latent_dim"]})),
    "hidden_dim": (
        _int(16, LIMITS["hidden_dim"], 16),
        ("why_step", {"step": 16, "low": 16, "high": LIMITS["hidden_dim"]}),
    ),
    "seed": (_int(0, MAX_SEED), ("why_range", {"low": 0, "high": MAX_SEED})),
    "train_size": (
        _int(1000, LIMITS["train_size"], 1000),
        ("why_step", {"step": 1000, "low": 1000, "high": LIMITS["train_size"]}),
    ),
    "beta": (_beta, ("why_beta", {})),
}


@dataclass
class Link:
    """What a link asks for: each value checked (None: not asked for, or refused)."""

    model: str | None = None
    tab: str | None = None
    train: dict[str, Any] = field(default_factory=dict)
    refused: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)  # name, value, why

    def ignored_message(self, lang: str) -> str:
        """The refused values and why, as one sentence ("" if none)."""
        if not self.refused:
            return ""
        items = [
            tr(lang, "link_bad_value", name=name, value=value[:40], why=tr(lang, key, **values))
            for name, value, key, values in self.refused
        ]
        return tr(lang, "link_ignored", items="; ".join(items))


def parse(query: Mapping[str, str]) -> Link:
    """The link's parameters from ``query`` (``request.query_params``), each checked."""
    link = Link()
    model = (query.get("model") or "").strip()
    link.model = model[:200] or None
    if (tab := query.get("tab")) is not None:
        if tab.strip() in TABS:
            link.tab = tab.strip()
        else:
            link.refused.append(("tab", tab, "why_choice", {"choices": ", ".join(TABS)}))
    for name, (check, (why, values)) in SETTINGS.items():
        if (text := query.get(name)) is None:
            continue
        value = check(text)
        if value is None:
            link.refused.append((name, text, why, values))
        else:
            link.train[name] = value
    return link


def normalise(name: str, value: Any) -> Any:
    """A Train setting as the page holds it (sliders give floats) -> the link's type."""
    if value is None:
        return None
    if name in ("dataset", "model_type"):
        return str(value)
    if name in ("lr", "beta"):
        return float(value)
    return round(float(value))


def query(model: str | None, tab: str | None, train: Mapping[str, Any]) -> str:
    """``?model=...&tab=...&<settings that differ from the defaults>`` (only valid values)."""
    params: dict[str, Any] = {}
    if model:
        params["model"] = model
    if tab in TABS:
        params["tab"] = tab
    for name, value in train.items():
        value = normalise(name, value)
        known = name in SETTINGS and value is not None and value != DEFAULTS[name]
        if known and SETTINGS[name][0](repr(value) if name in ("lr", "beta") else str(value)) is not None:
            params[name] = value
    return "?" + urlencode(params) if params else ""


def linked_model(app: AppState, request: gr.Request) -> str | None:
    """The link's model (``?model=``) if this visitor can pick it, else None."""
    asked = parse(getattr(request, "query_params", None) or {}).model
    return asked if asked and asked in app.choice_names(app.session(request)) else None


def wire(
    app: AppState, demo: gr.Blocks, copy: gr.Button, box: gr.Textbox, note: gr.Markdown, tabs: gr.Tabs,
    settings: dict[str, gr.components.Component],
) -> None:  # fmt: skip
    """On load: open the link's tab and fill its Train settings (the picker takes ``linked_model``);
    ``copy``: the link to the page as it is, in ``box`` and on the clipboard; ``note``: messages."""

    def open_link(request: gr.Request) -> list[Any]:
        """The link's tab and Train settings; a note on what it asked for that cannot be."""
        link, lang = parse(request.query_params), lang_of(request)
        lines = []
        if link.model and link.model not in app.choice_names(app.session(request)):
            lines.append(tr(lang, "link_session_model", name=link.model, fallback=app.default_model()))
            if link.train:
                lines[-1] += tr(lang, "link_train_hint")
        if link.refused:
            lines.append(link.ignored_message(lang))
        text = "\n\n".join(lines)
        return [
            gr.update(selected=link.tab) if link.tab else gr.skip(),
            gr.update(value=text, visible=True) if text else gr.skip(),
            *(gr.update(value=link.train[k]) if k in link.train else gr.skip() for k in settings),
        ]

    def share_link(
        where: str, model: str | None, dataset: str, model_type: str, epochs: float, batch_size: float,
        lr: float, latent_dim: float, hidden_dim: float, seed: float, train_size: float, beta: float,
        request: gr.Request,
    ) -> tuple[Any, Any]:  # fmt: skip
        """The link to the page as it is (``where``: the page's address and tab, from the browser)."""
        values = (dataset, model_type, epochs, batch_size, lr, latent_dim, hidden_dim, seed, train_size, beta)
        try:
            at = json.loads(where or "{}")
        except ValueError:
            at = {}
        space = os.environ.get("SPACE_ID")  # on a Space: its page's address, not the iframe's
        base = f"https://huggingface.co/spaces/{space}" if space else str(at.get("base") or "")
        link = base + query(model, at.get("tab"), dict(zip(settings, values, strict=True)))
        lang = lang_of(request)
        message = tr(lang, "link_copied")
        if model and model not in app.shipped.names():
            message = tr(lang, "link_own_model", name=model, fallback=app.default_model())
        return gr.update(value=link, visible=True), gr.update(value=message, visible=True)

    quick = {"api_visibility": "private", "concurrency_limit": None, "queue": False}
    values = list(settings.values())
    demo.load(open_link, None, [tabs, note, *values], **quick)
    shared = copy.click(share_link, [box, app.picker, *values], [box, note], js=page.WHERE_JS, **quick)
    shared.then(None, [box], None, js=page.COPY_JS)
