"""The app's own text in English and Simplified Chinese.

Two ways in, because Gradio 6.31 translates only what the page shows from the layout:

- ``t(key, **values)``: static text (labels, tab names, help, buttons) as ``gr.I18n`` keys. The
  browser picks the language (``navigator.language``: zh, zh-CN, zh-TW... get Chinese, anything
  else English); ``gradio_i18n()`` is what ``launch(i18n=...)`` needs, made after the layout is
  built so the ``values`` each key was used with are known.
- ``tr(lang, key, **values)``: text a handler returns (statuses, summaries) and error messages.
  ``gr.Error``/``gr.Info`` do not translate ``gr.I18n`` keys (they show the raw key), so the
  handler translates, in the language of the request's ``Accept-Language`` (``lang_of``), which
  is the browser's language as well. API clients send none and get English.

The texts live in ``ui/text_en.py`` and ``ui/text_zh.py`` (same keys; ``{name}`` placeholders).
Static texts go through svelte-i18n (ICU messages) in the browser: after formatting they must hold
no ``{``, ``}`` or ``<`` (tests/test_i18n.py checks).
"""

from __future__ import annotations

import errno
import re
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from fmae.errors import CheckpointError, DataUnavailableError, FmaeError, HubError, InputImageError
from ui import text_en, text_zh

LANGS = ("en", "zh")
TEXT = {"en": text_en, "zh": text_zh}
#: gr.I18n locales: svelte-i18n falls back from zh-CN / zh-TW / zh-HK to "zh", then to "en"
LOCALES = {"en": "en", "zh-CN": "zh", "zh": "zh"}
#: every key the browser sees starts so: Gradio also translates any plain string equal to a key (a
#: Radio's value "mlp" would become its label "MLP" and no longer match its choices)
PREFIX = "fmae_"
_USED: dict[str, tuple[str, dict[str, Any]]] = {}  # full key -> (text key, values)


def t(key: str, **values: Any) -> I18nData:
    """Static text ``key`` for a component (translated in the browser); ``values`` fill its
    ``{placeholders}`` (each combination becomes its own key)."""
    if key not in text_en.UI:
        raise KeyError(f"no UI text {key!r}")
    filled = ",".join(f"{k}={v}" for k, v in sorted(values.items()))
    full = PREFIX + key + (":" + filled if filled else "")
    _USED[full] = (key, values)
    return I18nData(full)


def static_texts(lang: str) -> dict[str, str]:
    """Every static text in ``lang``, formatted (keys as ``t`` made them)."""
    ui = TEXT[lang].UI
    out = {PREFIX + k: v for k, v in ui.items() if "{" not in v}
    out.update({full: ui[key].format(**values) for full, (key, values) in _USED.items()})
    return out


def gradio_i18n() -> gr.I18n:
    """The ``gr.I18n`` for ``launch(i18n=...)`` (call it after the layout is built)."""
    return gr.I18n(**{locale: static_texts(lang) for locale, lang in LOCALES.items()})


def lang_of(request: Any) -> str:
    """``"zh"`` when the request's preferred language (first in Accept-Language) is Chinese, else ``"en"``."""
    headers = getattr(request, "headers", None)
    try:
        accept = (headers.get("accept-language") if headers is not None else None) or ""
    except Exception:  # noqa: BLE001 - a request without usable headers is an English one
        accept = ""
    first = accept.split(",")[0].split(";")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


def tr(lang: str, key: str, **values: Any) -> str:
    """Message ``key`` in ``lang`` (English if the key has no translation), ``values`` filled in."""
    messages = TEXT.get(lang, text_en).MESSAGES
    return messages.get(key, text_en.MESSAGES[key]).format(**values)


def ui_text(lang: str, key: str, **values: Any) -> str:
    """Static text ``key`` as a plain string in ``lang`` (for handlers that return such text)."""
    return TEXT.get(lang, text_en).UI[key].format(**values)


#: our error types -> message key of their Chinese lead-in (library messages are English)
_KINDS = (
    (InputImageError, "err_image"),
    (DataUnavailableError, "err_data"),
    (CheckpointError, "err_checkpoint"),
    (HubError, "err_hub"),
)
#: library messages worth a full translation: (pattern, message key with the groups as values)
_KNOWN = (
    (re.compile(r"Unknown model '(?P<name>[^']*)'; available: (?P<known>.*)\.$"), "err_unknown_model"),
    (re.compile(r"No model is available: train one in the Train tab\.$"), "err_no_model"),
)


def error_text(exc: Exception, lang: str = "en") -> str:
    """What a visitor reads for ``exc``: our message (translated where we know it), never a traceback."""
    if isinstance(exc, OSError) and not isinstance(exc, FmaeError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return tr(lang, "err_disk_full")
        return tr(lang, "err_file", why=exc.strerror or type(exc).__name__)
    if not isinstance(exc, FmaeError | ValueError):
        return tr(lang, "err_unexpected", kind=type(exc).__name__)
    message = str(exc)
    if lang == "en":
        return message
    for pattern, key in _KNOWN:
        if m := pattern.match(message):
            return tr(lang, key, **m.groupdict())
    kind = next((key for cls, key in _KINDS if isinstance(exc, cls)), "err_generic")
    return tr(lang, kind, message=message)
