"""The Gradio UI of the demo: one module per tab, plus the shared per-session state.

Gradio is imported only here and in ``app.py``; the work is done by ``fmae``.
"""
