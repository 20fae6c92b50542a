"""Hub tab: push the picked model to the Hugging Face Hub, or pull a checkpoint into the session.

The work is in ``fmae.hub`` (repo id checks, safe uploads and downloads, token-free errors);
handlers here only wire it to the session. Token rule: the password box wins (a token typed on
purpose); an empty box uses the visitor's own token from "Sign in with Hugging Face" (a
``gr.OAuthToken``, on a Space with ``hf_oauth: true``); without either it falls back to
``HF_TOKEN`` (or the cached login), except on a Hugging Face Space (``SPACE_ID`` set), where the
Space's own secret would let every visitor write (and read private repos) as the Space's owner:
there the fallback needs ``FMAE_HUB_USE_ENV_TOKEN=1``. A signed-in visitor's push goes to
``USERNAME/fmae-MODEL`` when the repo box is empty. The token is used for one request and never
stored, logged or shown; every message goes through ``fmae.hub.scrub``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_space

from fmae.data import load_dataset
from fmae.errors import DataUnavailableError, FmaeError, HubError
from fmae.hub import pull_checkpoint, push_checkpoint, resolve_token, scrub, validate_repo_id
from fmae.models import Checkpoint, ModelAssets, load_assets, load_checkpoint
from fmae.session import ModelEntry
from fmae.training import compute_assets, dataset_pca
from ui.i18n import t
from ui.state import AppState, user_error

log = logging.getLogger(__name__)
PULLS_DIR = ".hub-pulls"  # under the session dir; a leading dot: no model name can collide with it
#: first word of fmae.hub's push progress lines -> (fraction done, what to show; None: the line itself)
PUSH_STEPS = {
    "checking": (0.1, "checking the checkpoint"),
    "creating": (0.3, "creating the repo if needed"),
    "uploading": (0.5, None),
    "pushed": (1.0, "pushed"),
}


def oauth_enabled() -> bool:
    """Is "Sign in with Hugging Face" available? Only on a Space with ``hf_oauth: true`` (it sets
    OAUTH_CLIENT_ID): elsewhere Gradio's mocked login would need the machine's own Hub login."""
    return get_space() is not None and bool(os.environ.get("OAUTH_CLIENT_ID"))


def env_token_allowed() -> bool:
    """May an empty token box fall back to HF_TOKEN / the cached login? Not on a Space unless opted in."""
    return not os.environ.get("SPACE_ID") or os.environ.get("FMAE_HUB_USE_ENV_TOKEN") == "1"


def pick_token(box: str | None, oauth: gr.OAuthToken | None = None) -> str | bool | None:
    """The token for one request: the box's, else the signed-in visitor's OAuth token, else None
    (fmae.hub then reads HF_TOKEN / the login), else False (anonymous) where the environment's token
    must not be used."""
    token = (box or "").strip()
    if token:
        return token
    if oauth is not None and oauth.token:
        return oauth.token
    return None if env_token_allowed() else False


def default_repo_id(username: str, model: str) -> str:
    """``USERNAME/fmae-MODEL``, the model's name made a valid repo name (``x@1a2b3c4d`` -> ``x-1a2b3c4d``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", model)
    name = re.sub(r"([-.])[-.]+", r"\1", name).strip("-.")
    return f"{username}/{f'fmae-{name}'[:96].rstrip('-.')}"


def hub_error(exc: Exception, token: str | bool | None) -> gr.Error:
    """Our exception -> ``gr.Error`` without the token and without a traceback in the server log."""
    used = resolve_token(token or None)  # the token fmae.hub sent (or the environment's): never shown
    if not isinstance(exc, FmaeError | ValueError):  # a bug: keep a trace for the operator, token-free
        log.error("Hub tab: unexpected %s", scrub(f"{type(exc).__name__}: {exc}", used))
    return gr.Error(scrub(user_error(exc).message, used), print_exception=False)


def pulled_name(repo_id: str, revision: str | None) -> str:
    """Picker name of a pulled model: the repo's name, with the revision if one was asked for."""
    name = repo_id.split("/")[-1]
    if not revision:
        return name
    short = (
        revision[:8] if len(revision) == 40 and all(c in "0123456789abcdef" for c in revision) else revision
    )
    return f"{name}@{short}"


def reference_assets(folder: Path, ckpt: Checkpoint) -> tuple[ModelAssets | None, str]:
    """The pulled model's assets: stored ones, else computed from its dataset; (None, why) if impossible."""
    assets = load_assets(folder)
    if assets is not None:
        return assets, "reference errors and PCA baseline from the repo"
    try:
        test = load_dataset(ckpt.dataset, "test")
        assets = compute_assets(ckpt.model, test.images, dataset_pca(ckpt.dataset), ckpt.dataset)
    except DataUnavailableError:
        return None, f"no percentiles or PCA comparison: the {ckpt.dataset} dataset is not available here"
    return assets, f"reference errors and PCA baseline computed on the {ckpt.dataset} test set"


def session_folders(app: AppState, request: gr.Request | None) -> set[Path]:
    """Folders of the visitor's own models (those saved or pulled)."""
    session = app.session(request)
    entries = (session.get_model(n) for n in session.model_names())
    return {e.folder for e in entries if e is not None and e.folder is not None}


def push_model(
    app: AppState, request: gr.Request | None, model: str | None, token_box: str | None, repo_id: str,
    private: bool, message: str | None, progress: Any, oauth_token: gr.OAuthToken | None = None,
    profile: gr.OAuthProfile | None = None,
) -> str:  # fmt: skip
    """Push the visitor's model ``model`` to ``repo_id`` (empty and signed in: ``USERNAME/fmae-MODEL``)
    with the token ``pick_token`` chooses; markdown with a link to the new commit."""
    token = pick_token(token_box, oauth_token)
    try:
        repo_id = (repo_id or "").strip()
        if not repo_id and profile is not None:
            repo_id = default_repo_id(profile.username, app.resolve(request, model).name)
        repo_id = validate_repo_id(repo_id, require_namespace=True)
        if token is False:
            raise HubError(
                "pushing needs a Hugging Face token with write access: sign in with Hugging Face, or paste "
                "one into the token box (this Space does not lend its own token)"
            )
        entry = app.resolve(request, model)
        progress(0.05, desc=f"saving {entry.name}")
        folder = app.save(request, entry.name)

        def report(line: str) -> None:
            step = PUSH_STEPS.get(line.split(" ")[0])
            if step is not None:
                progress(step[0], desc=step[1] or line)

        result = push_checkpoint(
            folder, repo_id, token=token, private=bool(private), message=(message or "").strip() or None,
            progress=report,
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - every failure becomes a token-free message
        raise hub_error(exc, token) from None
    repo_url = result.commit_url.split("/commit/")[0]
    signed_in = oauth_token is not None and token == oauth_token.token and profile is not None
    return (
        f"Pushed **{entry.name}** to [{result.repo_id}]({repo_url}){' (private)' if private else ''}"
        f"{f' as {profile.username} (signed in)' if signed_in else ''}: "  # type: ignore[union-attr]
        f"commit [`{result.commit_oid[:8]}`]({result.commit_url})."
    )


def pull_model(
    app: AppState, request: gr.Request | None, repo_id: str, revision: str | None, token_box: str | None,
    progress: Any, oauth_token: gr.OAuthToken | None = None,
) -> tuple[str, dict]:  # fmt: skip
    """Pull ``repo_id`` at ``revision`` into the visitor's session; (markdown, picker update)."""
    token = pick_token(token_box, oauth_token)
    root = app.session_dir(request) / PULLS_DIR
    out = root / uuid.uuid4().hex[:12]  # a folder per pull: a model in use never sees its files change
    try:
        repo_id = validate_repo_id((repo_id or "").strip())
        revision = (revision or "").strip() or None
        progress(0.1, desc=f"downloading {repo_id}")
        # token False (anonymous) needs fmae.hub.resolve_token to keep False rather than read HF_TOKEN
        folder = pull_checkpoint(repo_id, revision=revision, out=out, token=token)  # type: ignore[arg-type]
        ckpt = load_checkpoint(folder)
        progress(0.5, desc="preparing the reference errors and PCA baseline")
        assets, note = reference_assets(folder, ckpt)
        entry = ModelEntry(pulled_name(repo_id, revision), ckpt, assets, "pulled", folder)
        before = session_folders(app, request)
        name, update = app.add_model(request, entry.name, entry)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a token-free message
        shutil.rmtree(out, ignore_errors=True)
        raise hub_error(exc, token) from None
    for gone in before - session_folders(app, request):  # pulled models the session let go of
        if gone.parent == root:
            shutil.rmtree(gone, ignore_errors=True)
    cfg = ckpt.config
    return (
        f"Pulled `{repo_id}@{revision or 'main'}` as **{name}**, now the current model: "
        f"{cfg['model_type']} autoencoder, latent size {cfg.get('latent_dim')}, for {ckpt.dataset} ({note}).",
        update,
    )


def build(app: AppState) -> None:
    """Lay out the Hub tab inside the current ``gr.Tab`` and wire its events (``hub_push``, ``hub_pull``)."""
    gr.Markdown(t("hub_help"))  # HELP, SIGNIN_HELP, ... in English and Chinese: ui/text_en.py, ui/text_zh.py
    signin = oauth_enabled()
    if signin or get_space():  # sign-in and the duplicate button only mean something on a Space
        with gr.Row(elem_id="hub-account"):  # columns: on a phone they stack
            if signin:
                with gr.Column(min_width=260):
                    gr.LoginButton(size="md", scale=0, elem_id="hub-login")
                    gr.Markdown(t("hub_signin_help"), elem_id="hub-login-help")
            with gr.Column(min_width=260):
                gr.DuplicateButton(t("hub_duplicate"), size="md", elem_id="hub-duplicate")
                gr.Markdown(t("hub_duplicate_help"), elem_id="hub-duplicate-help")
    when = "_signin" if signin else ""
    token = gr.Textbox(
        label=t("hub_token"), type="password", elem_id="hub-token",
        placeholder=t("hub_token_placeholder" + when), info=t("hub_token_info" + when),
    )  # fmt: skip
    with gr.Row():
        with gr.Column():
            gr.Markdown(t("hub_push_title"))
            hint = t("hub_repo_hint_signin") if signin else "username/fmae-mlp"
            push_repo = gr.Textbox(label=t("hub_repo"), placeholder=hint, elem_id="hub-push-repo")
            private = gr.Checkbox(label=t("hub_private"), value=False, elem_id="hub-private")
            message = gr.Textbox(
                label=t("hub_message"), placeholder="Upload fmae checkpoint", elem_id="hub-message"
            )
            push = gr.Button(t("hub_push"), variant="primary", elem_id="hub-push")
            push_status = gr.Markdown(elem_id="hub-push-status")
        with gr.Column():
            gr.Markdown(t("hub_pull_title"))
            pull_repo = gr.Textbox(
                label=t("hub_repo"), placeholder="username/fmae-mlp", elem_id="hub-pull-repo"
            )
            revision = gr.Textbox(
                label=t("hub_revision"), placeholder=t("hub_revision_placeholder"), elem_id="hub-rev"
            )
            pull = gr.Button(t("hub_pull"), variant="primary", elem_id="hub-pull")
            pull_status = gr.Markdown(elem_id="hub-pull-status")

    def hub_push(
        model: str | None, token_box: str, repo_id: str, is_private: bool, msg: str, request: gr.Request,
        oauth_token: gr.OAuthToken | None, profile: gr.OAuthProfile | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to ask for a progress tracker
    ) -> str:  # fmt: skip
        """Push the picked model; returns markdown with a link to the new commit.

        Gradio fills ``oauth_token``/``profile`` from the sign-in (None when signed out or without OAuth)."""
        return push_model(
            app, request, model, token_box, repo_id, is_private, msg, progress, oauth_token, profile
        )

    def hub_pull(
        repo_id: str, rev: str, token_box: str, request: gr.Request, oauth_token: gr.OAuthToken | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[str, dict]:  # fmt: skip
        """Pull a checkpoint into the session; returns markdown and the picker (the pulled model selected)."""
        return pull_model(app, request, repo_id, rev, token_box, progress, oauth_token)

    common = {"concurrency_limit": 2, "concurrency_id": "hub"}
    push.click(
        hub_push,
        [app.picker, token, push_repo, private, message],
        [push_status],
        api_name="hub_push",
        **common,
    )
    pull.click(
        hub_pull, [pull_repo, revision, token], [pull_status, app.picker], api_name="hub_pull", **common
    )
