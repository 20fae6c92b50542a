"""Sign in with Hugging Face: the Hub tab's push with a visitor's ``gr.OAuthToken``, against the
local Hub-protocol server (tests/hub_server.py).

On a Space with ``hf_oauth: true`` Gradio keeps the visitor's OAuth token in a signed session cookie
and passes it to any handler parameter annotated ``gr.OAuthToken | None`` (the profile likewise).
Here the handler is called with such objects directly, and once through Gradio's own injection
(``gradio.helpers.special_args`` reading a session). What the local server cannot check: real OAuth
scopes (a token is valid when the test registered it), and the login redirect itself (it needs
huggingface.co).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from gradio.helpers import special_args

from fmae.hub import validate_repo_id
from ui import hub_tab
from ui.state import AppState

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "fashion-mlp"
BOX = "hf_ErinBoxToken0123456789abcdefghijklm"  # a token pasted into the box (local runs)
SCOPES = "openid profile write-repos manage-repos"


def no_progress(*_args: object, **_kwargs: object) -> None:
    pass


class _Req:
    """Stands in for gr.Request where only the session hash matters."""

    def __init__(self, session_hash: str = "visitor"):
        self.session_hash = session_hash


@pytest.fixture
def visitor(hub_server):
    """A fresh user name and the OAuth token the Hub gave them (shaped like the Hub's: hf_oauth_...)."""
    user = f"dave{uuid.uuid4().hex[:6]}"
    token = f"hf_oauth_{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"
    hub_server.add_token(token, user)
    return user, token


@pytest.fixture
def app(tmp_path) -> AppState:
    return AppState(ROOT / "checkpoints", session_root=tmp_path / "sessions")


def sign_in(user: str, token: str) -> tuple[gr.OAuthToken, gr.OAuthProfile]:
    """What Gradio passes to a handler for a signed-in visitor."""
    info = {"name": user.title(), "preferred_username": user, "profile": f"https://hf.co/{user}"}
    info["picture"] = ""
    oauth = gr.OAuthToken(token=token, scope=SCOPES, expires_at=int(time.time()) + 3600)
    return oauth, gr.OAuthProfile(info)


def test_signed_in_visitor_pushes_to_their_namespace_without_a_token(hub_server, visitor, app):
    user, token = visitor
    oauth, profile = sign_in(user, token)
    status = hub_tab.push_model(app, _Req(), SHIPPED, "", "", False, "", no_progress, oauth, profile)
    repo_id = f"{user}/fmae-{SHIPPED}"  # the default: USERNAME/fmae-MODEL
    head = hub_server.repos[repo_id].commits[-1]
    assert head.author == user and hub_server.repos[repo_id].owner == user
    shipped = ROOT / "checkpoints" / SHIPPED / "model.safetensors"
    assert head.files["model.safetensors"] == shipped.read_bytes()
    assert f"[{repo_id}]({hub_server.url}/{repo_id})" in status and f"as {user} (signed in)" in status
    assert f"[`{head.oid[:8]}`]" in status and token not in status
    # a repo id typed in the box still wins over the default
    other = f"{user}/my-{uuid.uuid4().hex[:6]}"
    status = hub_tab.push_model(app, _Req(), SHIPPED, "", other, True, "mine", no_progress, oauth, profile)
    assert hub_server.repos[other].private and hub_server.repos[other].commits[-1].title == "mine"
    assert token not in status


def test_gradio_injects_the_sign_in_into_the_push_event(hub_server, visitor, app):
    """The Hub tab's own event: Gradio finds the OAuth parameters and fills them from the session."""
    user, token = visitor
    with gr.Blocks() as demo:
        app.picker = gr.Dropdown(choices=app.choices(), value=SHIPPED)
        hub_tab.build(app)
    push = next(fn for fn in demo.fns.values() if fn.api_name == "hub_push")
    session = {
        "oauth_info": {
            "access_token": token, "scope": SCOPES, "expires_at": int(time.time()) + 3600,
            "userinfo": {"name": "Dave", "preferred_username": user, "profile": "", "picture": ""},
        }
    }  # fmt: skip
    request = SimpleNamespace(scope={"session": session}, session_hash="signed-in")
    inputs, *_ = special_args(push.fn, [SHIPPED, "", "", False, ""], request=request)
    oauth, profile = inputs[6], inputs[7]  # after the 5 inputs and the request
    assert isinstance(oauth, gr.OAuthToken) and oauth.token == token
    assert isinstance(profile, gr.OAuthProfile) and profile.username == user
    status = push.fn(*inputs)
    assert hub_server.repos[f"{user}/fmae-{SHIPPED}"].commits[-1].author == user and token not in status

    # signed out (or no OAuth at all: a local run), Gradio passes None and the token box is used
    inputs, *_ = special_args(push.fn, [SHIPPED, "", "", False, ""], request=SimpleNamespace(scope={}))
    assert inputs[6] is None and inputs[7] is None


def test_the_token_box_works_without_oauth_and_wins_over_the_sign_in(hub_server, visitor, app):
    user, token = visitor
    hub_server.add_token(BOX, "erin")
    repo_id = f"erin/box-{uuid.uuid4().hex[:6]}"
    assert "Pushed" in hub_tab.push_model(app, _Req(), SHIPPED, BOX, repo_id, False, "", no_progress)
    assert hub_server.repos[repo_id].commits[-1].author == "erin"
    oauth, profile = sign_in(user, token)  # a token typed on purpose is the one used
    status = hub_tab.push_model(app, _Req(), SHIPPED, BOX, repo_id, False, "", no_progress, oauth, profile)
    assert hub_server.repos[repo_id].commits[-1].author == "erin" and "(signed in)" not in status
    with pytest.raises(gr.Error, match="repo id must be a non-empty string"):  # no sign-in: no default repo
        hub_tab.push_model(app, _Req(), SHIPPED, BOX, "", False, "", no_progress)


def test_a_signed_out_visitor_on_a_space_is_asked_to_sign_in(hub_server, app, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", BOX)  # the Space's own secret: never lent to visitors
    monkeypatch.setenv("SPACE_ID", "someone/fmae")
    before = len(hub_server.requests)
    with pytest.raises(gr.Error, match="sign in with Hugging Face, or paste one into the token box"):
        hub_tab.push_model(app, _Req(), SHIPPED, "", "someone/x", False, "", no_progress)
    assert len(hub_server.requests) == before


def test_a_rejected_oauth_token_is_never_shown(hub_server, app):
    # the local server echoes a rejected token in its error text; an OAuth token (hf_oauth_...) is not
    # caught by the generic hf_... pattern, so the handler must scrub the very token it used
    expired = f"hf_oauth_{uuid.uuid4().hex}"
    oauth, profile = sign_in("frank", expired)
    with pytest.raises(gr.Error, match=r"rejected the token for frank/fmae-fashion-mlp \(401") as info:
        hub_tab.push_model(app, _Req(), SHIPPED, "", "", False, "", no_progress, oauth, profile)
    assert expired not in str(info.value) and expired[9:] not in str(info.value)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("fashion-mlp", "dave/fmae-fashion-mlp"),
        ("my-conv@1a2b3c4d", "dave/fmae-my-conv-1a2b3c4d"),  # a pulled model at a revision
        ("a..b--c @ d.", "dave/fmae-a.b-c-d"),
        ("x" * 120, "dave/fmae-" + "x" * 91),  # repo names stop at 96 characters
    ],
)
def test_default_repo_id_is_a_valid_repo_id(model, expected):
    assert hub_tab.default_repo_id("dave", model) == expected
    assert validate_repo_id(expected, require_namespace=True) == expected


def _buttons(env: dict[str, str], monkeypatch) -> dict[str, gr.Button]:
    """The Hub tab's sign-in and duplicate buttons, built with ``env`` as a Space would set it."""
    for key in ("SYSTEM", "SPACE_ID", "OAUTH_CLIENT_ID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if "OAUTH_CLIENT_ID" in env:  # gradio.oauth reads these once, when it is imported
        for key in ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OAUTH_SCOPES", "OPENID_PROVIDER_URL"):
            monkeypatch.setattr(f"gradio.oauth.{key}", "x")
    app = AppState(ROOT / "checkpoints")
    with gr.Blocks() as demo:
        app.picker = gr.Dropdown(choices=app.choices(), value=SHIPPED)
        hub_tab.build(app)
    return {b.elem_id: b for b in demo.blocks.values() if b.elem_id in ("hub-login", "hub-duplicate")}


def test_sign_in_and_duplicate_buttons_appear_only_on_a_space(monkeypatch):
    assert _buttons({}, monkeypatch) == {}  # local run: no login (Gradio's mock would need a Hub login)
    space = {"SYSTEM": "spaces", "SPACE_ID": "someone/fmae"}
    found = _buttons(space, monkeypatch)
    assert list(found) == ["hub-duplicate"]  # a Space without hf_oauth: duplicate only
    found = _buttons({**space, "OAUTH_CLIENT_ID": "abc"}, monkeypatch)
    assert isinstance(found["hub-login"], gr.LoginButton)
    assert isinstance(found["hub-duplicate"], gr.DuplicateButton) and found["hub-duplicate"].visible


def test_the_space_asks_for_sign_in_with_the_scopes_a_push_to_a_new_repo_needs():
    import yaml

    front = yaml.safe_load((ROOT / "README.md").read_text(encoding="utf-8").split("---\n")[1])
    assert front["hf_oauth"] is True and front["sdk"] == "gradio"
    # write-repos: push to the visitor's repos; manage-repos: create USERNAME/fmae-MODEL first
    assert {"write-repos", "manage-repos"} <= set(front["hf_oauth_scopes"])
