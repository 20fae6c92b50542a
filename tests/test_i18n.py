"""The app's English and Chinese texts (ui/i18n.py) and its links (ui/links.py), without a browser."""

from __future__ import annotations

import errno
import re
import string
from types import SimpleNamespace
from urllib.parse import parse_qs

import pytest

from fmae.errors import FmaeError, InputImageError
from ui import i18n, links, text_en, text_zh
from ui.train_tab import DEFAULTS


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("table", ["UI", "MESSAGES"])
def test_both_languages_have_the_same_keys_and_placeholders(table):
    en, zh = getattr(text_en, table), getattr(text_zh, table)
    assert set(en) == set(zh)
    assert {k: fields(v) for k, v in en.items()} == {k: fields(v) for k, v in zh.items()}


def test_layout_texts_are_plain_icu_messages():
    """What the browser gets goes through svelte-i18n (ICU): no braces or tags left after formatting."""
    import app  # noqa: F401 - builds the layout, so every t(key, **values) is known

    for lang in i18n.LANGS:
        texts = i18n.static_texts(lang)
        assert texts and all(k.startswith(i18n.PREFIX) for k in texts)
        bad = {k: v for k, v in texts.items() if re.search(r"[{}<>]", v)}
        assert bad == {}
        assert texts[i18n.PREFIX + "train_help:epochs=20,minutes=15"].count("20") == 1
    assert i18n.static_texts("zh")[i18n.PREFIX + "tab_train"] == "训练"
    with pytest.raises(KeyError):
        i18n.t("no-such-text")


@pytest.mark.parametrize(
    ("header", "lang"),
    [("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("zh-TW", "zh"), ("en-US,zh;q=0.9", "en"), ("fr", "en"),
     (None, "en")],
)  # fmt: skip
def test_the_language_is_the_browsers_first_choice(header, lang):
    request = SimpleNamespace(headers={} if header is None else {"accept-language": header})
    assert i18n.lang_of(request) == lang
    assert i18n.lang_of(None) == "en" and i18n.lang_of(SimpleNamespace()) == "en"


def test_errors_are_ours_in_the_visitors_language():
    empty = InputImageError("The file is empty.")
    assert i18n.error_text(empty, "en") == "The file is empty."
    assert i18n.error_text(empty, "zh") == "无法使用这张图片：The file is empty."
    unknown = FmaeError("Unknown model 'x'; available: a, b.")
    assert i18n.error_text(unknown, "zh") == "未知模型 'x'；可用的模型：a, b。"
    full = OSError(errno.ENOSPC, "No space left on device", "/secret/path")
    assert "disk is full" in i18n.error_text(full) and "/secret" not in i18n.error_text(full)
    assert i18n.error_text(KeyError("internal"), "zh") == "意外错误：KeyError"


def test_a_link_is_parsed_checked_and_rebuilt():
    query = {
        "model": "mnist-conv", "tab": "train", "dataset": "mnist", "model_type": "conv", "epochs": "5",
        "batch_size": "128", "lr": "0.01", "latent_dim": "16", "hidden_dim": "256", "seed": "7",
        "train_size": "5000", "__theme": "dark",
    }  # fmt: skip
    link = links.parse(query)
    assert (link.model, link.tab, link.refused) == ("mnist-conv", "train", [])
    assert link.train == {
        "dataset": "mnist", "model_type": "conv", "epochs": 5, "batch_size": 128, "lr": 0.01,
        "latent_dim": 16, "hidden_dim": 256, "seed": 7, "train_size": 5000,
    }  # fmt: skip
    rebuilt = parse_qs(links.query(link.model, link.tab, link.train)[1:])
    assert rebuilt == {k: [v] for k, v in query.items() if k != "__theme"}
    assert set(links.SETTINGS) == set(DEFAULTS)


def test_a_link_holds_only_what_differs_from_the_defaults_and_is_valid():
    page = {**DEFAULTS, "epochs": 5.0, "seed": 3.0}  # sliders and numbers come as floats
    want = "?model=fashion-conv&tab=reconstruct&epochs=5&seed=3"
    assert links.query("fashion-conv", "reconstruct", page) == want
    assert links.query(None, "nowhere", {"epochs": 500}) == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [("epochs", "0"), ("epochs", "21"), ("epochs", "2.5"), ("batch_size", "100"), ("lr", "0"), ("lr", "nan"),
     ("lr", "1"), ("hidden_dim", "100"), ("train_size", "1500"), ("dataset", "cifar"), ("seed", "-1"),
     ("tab", "settings")],
)  # fmt: skip
def test_bad_link_values_are_ignored_and_named(name, value):
    link = links.parse({name: value})
    assert link.train == {} and link.tab is None
    message = link.ignored_message("en")
    assert message.startswith("Ignored from the link:") and f"{name}={value}" in message
    assert link.ignored_message("zh").startswith("链接中这些设置无效")


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_message_formats(lang):
    """Each message takes the values its callers pass (numbers where it formats numbers)."""
    for key, text in i18n.TEXT[lang].MESSAGES.items():
        values = {
            name: 1.5 if spec and spec[-1] in "fe%" else "x"
            for _, name, spec, _ in string.Formatter().parse(text)
            if name
        }
        assert i18n.tr(lang, key, **values), key
