"""fmae demo: train autoencoders, reconstruct drawings and uploads (a Hugging Face Space).

UI only: layout and wiring; the tabs live in ``ui/`` and the work in ``fmae``. ``demo`` is the
Gradio app; ``python app.py`` serves it on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT
(127.0.0.1:7860 by default).
"""

from __future__ import annotations

import os
import threading

import gradio as gr

from fmae.errors import FmaeError
from ui import agent_tools, embed_tab, hub_tab, links, page, reconstruct_tab, train_tab
from ui.i18n import gradio_i18n, lang_of, t, tr
from ui.state import AppState, model_info, user_error

MAX_FILE_SIZE = "10mb"  # uploads beyond this are refused by the server (fmae.images allows 10 MiB)
LINK_ICON = gr.utils.get_icon_path("link.svg")  # Gradio's own, as on its DeepLinkButton
CSS = page.CSS  # the page's own CSS and script (brush picked at once, phones, links): ui/page.py


def build_demo(app: AppState | None = None) -> gr.Blocks:
    """The whole app; ``app`` (shipped models + sessions) is made from the environment if omitted."""
    app = app or AppState()
    # delete_cache: result images older than an hour go (every 10 minutes), so disk use stays flat;
    # no analytics: no network calls at start-up (and nothing about visitors leaves the server)
    # text: ui/i18n.py (English and Chinese, from the browser's language)
    with gr.Blocks(title=t("title"), delete_cache=(600, 3600), analytics_enabled=False) as demo:
        gr.Markdown(t("intro"))
        with gr.Row():  # columns, not bare components: on a phone they wrap instead of squeezing the info
            with gr.Column(scale=4, min_width=260):
                app.picker = gr.Dropdown(
                    choices=app.choices(), value=app.default_model(), label=t("model"),
                    allow_custom_value=True, elem_id="model-picker",
                )  # fmt: skip
            with gr.Column(scale=5, min_width=280):
                info = gr.Markdown(label=t("model_info"), elem_id="model-info")
            with gr.Column(scale=1, min_width=150):
                copy = gr.Button(t("copy_link"), size="sm", icon=LINK_ICON, elem_id="copy-link")
        link_box = gr.Textbox(
            label=t("link_box"), interactive=False, visible=False, buttons=["copy"], elem_id="link-box"
        )
        note = gr.Markdown(visible=False, elem_id="link-note")  # what a link asked for that cannot be
        with gr.Tabs(selected="reconstruct", elem_id="main-tabs") as tabs:
            with gr.Tab(t("tab_train"), id="train"):
                train_settings = train_tab.build(app)
            with gr.Tab(t("tab_reconstruct"), id="reconstruct"):
                second_picker = reconstruct_tab.build(app)
            with gr.Tab(t("tab_embeddings"), id="embeddings"):
                embed_tab.build(app)
            with gr.Tab(t("tab_hub"), id="hub"):
                hub_tab.build(app)
        agent_tools.build(app)  # list_models, reconstruct, encode, decode, embed: for agents and scripts

        def select_model(name: str | None, request: gr.Request) -> str:
            """Make ``name`` the session's current model; describe it."""
            try:
                entry = app.resolve(request, name)
            except FmaeError as exc:
                raise user_error(exc, lang_of(request)) from None
            app.session(request).current = entry.name
            return model_info(entry, lang_of(request))

        def init_session(request: gr.Request) -> tuple[dict, str]:
            """The picker and model info on page load: a link's model (``?model=``) if it is here."""
            session = app.session(request)
            name = links.linked_model(app, request) or session.current or app.default_model()
            return app.picker_update(session, name, lang_of(request)), (
                select_model(name, request) if name else tr(lang_of(request), "no_model")
            )

        app.picker.change(select_model, [app.picker], [info], api_name="select_model", concurrency_limit=None)
        demo.load(
            init_session,
            None,
            [app.picker, info],
            api_name="init_session",
            api_visibility="undocumented",
            concurrency_limit=None,
        )
        reconstruct_tab.wire_load(app, demo, second_picker)  # its choices in the visitor's language
        links.wire(app, demo, copy, link_box, note, tabs, train_settings)  # ?model=...&tab=...: ui/links.py
        demo.unload(app.drop)
    demo.fmae_state = app  # tests and benchmarks reach the sessions through this
    return demo


demo = build_demo()


def main() -> None:
    """Serve ``demo``: shipped models load in the background, torch uses FMAE_TORCH_THREADS threads."""
    import torch

    # One thread by default: on a 2-core Space, training keeps one core and reconstructions the other.
    torch.set_num_threads(int(os.environ.get("FMAE_TORCH_THREADS", "1")))
    demo.queue(max_size=int(os.environ.get("FMAE_QUEUE_SIZE", "64"))).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        max_file_size=MAX_FILE_SIZE,
        ssr_mode=False,  # no Node server to start: a faster cold start
        css=CSS,
        js=page.JS,
        head=page.HEAD,
        i18n=gradio_i18n(),  # the English and Chinese texts of the layout built above
        prevent_thread_lock=True,
        mcp_server=os.environ.get("FMAE_MCP", "1") != "0",  # MCP tools at /gradio_api/mcp/ (FMAE_MCP=0: off)
        # Gradio keeps ~0.2-0.3 MiB of per-visitor state, by default for 10,000 visitors: bound it to twice
        # the app's own sessions (least recently used go first), so memory stays flat as visitors come and go
        state_session_capacity=2 * demo.fmae_state.store.max_sessions,
    )
    agent_tools.only_agent_tools(demo)  # agents get the tools above, not every UI event
    # Serving already; load the shipped models (and run each once) before the first visitor needs them.
    threading.Thread(target=demo.fmae_state.shipped.load_all, name="load-shipped", daemon=True).start()
    demo.block_thread()


if __name__ == "__main__":
    main()
