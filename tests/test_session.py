"""fmae.session: the bounded session store, per-session models and the shipped-model registry."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from fmae.errors import CheckpointError, FmaeError
from fmae.models import (
    ASSETS_FILE,
    Checkpoint,
    MLPAutoEncoder,
    ModelAssets,
    load_assets,
    load_checkpoint,
    model_config,
    save_assets,
    save_checkpoint,
)
from fmae.session import ModelEntry, Session, SessionStore, ShippedModels, resolve


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_store(**kwargs):
    clock = Clock()
    evicted: list[str] = []
    store = SessionStore(dict, clock=clock, on_evict=lambda sid, v: evicted.append(sid), **kwargs)
    return store, clock, evicted


def test_get_creates_once_and_returns_the_same_value():
    store, _, _ = make_store()
    a = store.get("a")
    a["x"] = 1
    assert store.get("a") is a and store.get("a") == {"x": 1}
    assert store.get("b") is not a
    assert len(store) == 2 and "a" in store and store.peek("zzz") is None and "zzz" not in store


def test_idle_sessions_expire_but_active_ones_stay():
    store, clock, evicted = make_store(ttl_s=60)
    store.get("idle")
    store.get("active")
    clock.now = 50
    store.get("active")  # touched: its idle time restarts
    clock.now = 100  # idle for 100 s > 60, active for 50 s
    assert store.prune() == 1
    assert evicted == ["idle"] and store.ids() == ["active"]
    clock.now = 111
    store.get("new")  # any access also drops the expired ones
    assert evicted == ["idle", "active"] and store.ids() == ["new"]


def test_peek_does_not_refresh_idle_time():
    store, clock, _ = make_store(ttl_s=10)
    store.get("a")
    clock.now = 8
    assert store.peek("a") is not None
    clock.now = 11
    store.prune()
    assert "a" not in store


def test_least_recently_used_goes_beyond_max_sessions():
    store, _, evicted = make_store(max_sessions=3)
    for sid in "abc":
        store.get(sid)
    store.get("a")  # a is now the most recently used
    store.get("d")
    assert evicted == ["b"] and sorted(store.ids()) == ["a", "c", "d"]
    for i in range(10):
        store.get(f"s{i}")
    assert len(store) == 3 and store.ids() == ["s7", "s8", "s9"]


def test_total_weight_bound_evicts_lru_but_never_the_accessed_session():
    store, _, evicted = make_store(weigh=lambda v: v.get("w", 0), max_weight=100)
    store.get("a")["w"] = 60
    store.get("b")["w"] = 30
    store.refresh("b")
    assert evicted == []
    store.get("c")["w"] = 50
    store.refresh("c")  # 140 > 100: a (least recently used) goes
    assert evicted == ["a"] and store.total_weight() == 80
    store.get("c")["w"] = 500  # alone over the budget: the others go, c stays
    store.refresh("c")
    assert evicted == ["a", "b"] and store.ids() == ["c"]


def test_drop_calls_on_evict_once():
    store, _, evicted = make_store()
    store.get("a")
    assert store.drop("a") is True and store.drop("a") is False
    assert evicted == ["a"] and len(store) == 0


def test_store_rejects_bad_arguments():
    with pytest.raises(ValueError):
        SessionStore(dict, max_sessions=0)
    with pytest.raises(ValueError):
        SessionStore(dict).get("")


def test_store_is_thread_safe_and_stays_bounded():
    store = SessionStore(lambda: {"n": 0}, max_sessions=50)
    lock = threading.Lock()
    made = []

    def work(t: int) -> None:
        for i in range(400):
            v = store.get(f"s{(t * 7 + i) % 80}")
            with lock:
                v["n"] += 1
                made.append(id(v))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(store) == 50 and len(set(store.ids())) == 50


def tiny_entry(name: str = "m", latent: int = 4, hidden: int = 8) -> ModelEntry:
    torch.manual_seed(0)
    model = MLPAutoEncoder(hidden_dim=hidden, latent_dim=latent).eval()
    ckpt = Checkpoint(model, None, model_config(model), {"dataset": "fashion"})
    return ModelEntry(name, ckpt, None, "trained")


def test_session_models_are_bounded_unique_and_current():
    s = Session(max_models=2)
    assert s.add_model("m", tiny_entry()) == "m"
    assert s.add_model("m", tiny_entry()) == "m-2"
    assert s.current == "m-2" and s.model_names() == ["m", "m-2"]
    assert s.add_model("other", tiny_entry()) == "other"
    assert s.model_names() == ["m-2", "other"] and s.get_model("m") is None  # oldest went
    params = sum(p.numel() for p in MLPAutoEncoder(hidden_dim=8, latent_dim=4).parameters())
    assert s.nbytes == 2 * 4 * params  # float32 weights of two models


def test_stop_is_only_requested_when_something_runs_or_waits():
    s = Session()
    assert s.request_stop() is False and not s.stop_requested.is_set()
    s.pending_runs = 1
    assert s.request_stop() is True and s.stop_requested.is_set()


def _shipped(tmp_path, names=("fashion-mlp", "mnist-mlp")):
    for i, name in enumerate(names):
        torch.manual_seed(i)
        model = MLPAutoEncoder(hidden_dim=8, latent_dim=3)
        save_checkpoint(model, tmp_path / name, {"dataset": name.split("-")[0]})
    return ShippedModels(tmp_path)


def test_shipped_models_load_lazily_once_and_resolve(tmp_path):
    shipped = _shipped(tmp_path)
    (tmp_path / "not-a-checkpoint").mkdir()
    assert shipped.names() == ["fashion-mlp", "mnist-mlp"]
    a = shipped.get("fashion-mlp")
    assert a is shipped.get("fashion-mlp") and a.checkpoint.dataset == "fashion" and a.assets is None
    session = Session()
    assert resolve(shipped, session, None).name == "fashion-mlp"  # no current model: the first shipped one
    own = tiny_entry("mine")
    session.add_model("mine", own)
    assert (
        resolve(shipped, session, None) is own and resolve(shipped, session, "mnist-mlp").name == "mnist-mlp"
    )
    with pytest.raises(FmaeError, match="Unknown model 'nope'; available: mine, fashion-mlp, mnist-mlp"):
        resolve(shipped, session, "nope")
    with pytest.raises(CheckpointError):
        shipped.get("not-a-checkpoint")


def test_broken_shipped_model_is_reported_and_hidden(tmp_path):
    shipped = _shipped(tmp_path)
    (tmp_path / "mnist-mlp" / "model.safetensors").write_bytes(b"garbage")
    shipped.load_all()
    assert shipped.names() == ["fashion-mlp"] and "mnist-mlp" in shipped.errors


def test_broken_assets_only_cost_the_comparison(tmp_path):
    shipped = _shipped(tmp_path)
    (tmp_path / "fashion-mlp" / ASSETS_FILE).write_bytes(b"junk")
    entry = shipped.get("fashion-mlp")
    assert (
        entry.assets is None
        and "fashion-mlp" in shipped.warnings
        and shipped.names() == ["fashion-mlp", "mnist-mlp"]
    )


def test_assets_round_trip_and_percentile(tmp_path):
    rng = np.random.default_rng(0)
    comps = np.linalg.qr(rng.normal(size=(784, 5)))[0].T.astype(np.float32)  # (5, 784) orthonormal rows
    assets = ModelAssets(
        np.sort(rng.random(1000).astype(np.float32)), rng.random(784).astype(np.float32), comps, "mnist"
    )
    save_assets(assets, tmp_path)
    back = load_assets(tmp_path)
    assert back.dataset == "mnist" and np.array_equal(back.test_errors, assets.test_errors)
    assert back.percentile(-1.0) == 0.0 and back.percentile(2.0) == 100.0
    assert abs(back.percentile(float(np.median(assets.test_errors))) - 50.0) <= 0.1
    x = assets.pca_mean.reshape(28, 28) + (comps[0] * 0.1).reshape(28, 28)  # inside the PCA subspace
    assert np.allclose(back.pca_reconstruct(np.clip(x, 0, 1)), np.clip(x, 0, 1), atol=0.05)
    (tmp_path / ASSETS_FILE).write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError):
        load_assets(tmp_path)
    assert load_assets(tmp_path / "missing") is None


def test_checkpoint_with_assets_still_loads(tmp_path):
    entry = tiny_entry()
    folder = save_checkpoint(entry.checkpoint.model, tmp_path / "m", {"dataset": "fashion"})
    comps = np.eye(4, 784, dtype=np.float32)
    save_assets(ModelAssets(np.zeros(3, np.float32), np.zeros(784, np.float32), comps), folder)
    assert load_checkpoint(folder).model.latent_dim == 4
