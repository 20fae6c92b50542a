"""The Train tab offers VAEs and beta (issue 14): through the app's /train endpoint, in links."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
from gradio_client import Client

from ui import links

TINY_VAE = {
    "dataset": "fashion", "model_type": "conv-vae", "epochs": 1, "batch_size": 64, "lr": 2e-3,
    "latent_dim": 2, "hidden_dim": 32, "seed": 0, "train_size": 1000, "beta": 4.0,
}  # fmt: skip


def test_a_vae_trains_in_the_tab_and_logs_its_kl_and_elbo(app_server):
    client = Client(app_server, verbose=False)
    job = client.submit(**TINY_VAE, api_name="/train")
    list(job)
    assert job.status().success, job.exception()
    status, log, _, _, picker = job.outputs()[-1]
    assert "Training done" in status
    assert ", train KL " in log and "test ELBO " in log and " nats" in log  # the VAE's terms, reported apart
    assert picker["value"] == "fashion-conv-vae"  # the new model is picked
    frames = json.loads(client.predict(api_name="/train_frames"))
    assert frames["frames"] and len(frames["frames"][-1]["xy"][0]) == 2  # the latent plane itself


def test_beta_travels_in_links_and_bad_values_are_named():
    link = links.parse({"model_type": "conv-vae", "beta": "4"})
    assert link.train == {"model_type": "conv-vae", "beta": 4.0} and link.refused == []
    rebuilt = parse_qs(links.query(None, None, {**links.DEFAULTS, "model_type": "mlp-vae", "beta": 0.5})[1:])
    assert rebuilt == {"model_type": ["mlp-vae"], "beta": ["0.5"]}
    for bad in ("0", "0.0005", "-1", "101", "nan", "x"):  # the tab's own bounds: 0.001 to 100
        refused = links.parse({"beta": bad})
        assert refused.train == {} and f"beta={bad}" in refused.ignored_message("en")


@pytest.mark.parametrize("kind", ["mlp-vae", "conv-vae"])
def test_the_architectures_include_both_vaes(kind):
    assert links.SETTINGS["model_type"][0](kind) == kind
