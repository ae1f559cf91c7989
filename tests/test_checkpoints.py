import hashlib

import pytest
import torch

from anchorvae.artifacts.models import (
    load_checkpoint,
    model_path,
    read_history,
    save_models,
    trained_seeds,
)
from anchorvae.errors import UsageError
from anchorvae.method.model import ModelConfig, build_vae
from anchorvae.training.ensemble import Ensemble
from anchorvae.training.train import EpochRecord, TrainedSeeds


def trained(seeds=(2, 10)) -> TrainedSeeds:
    states = {}
    for seed in seeds:
        torch.manual_seed(seed)
        states[seed] = build_vae(ModelConfig()).state_dict()
    history = [EpochRecord(e, s, 10.0 / e, 8.0 / e, 2.0 / e) for e in (1, 2) for s in seeds]
    return TrainedSeeds(states, history)


def parts(trained_seeds: TrainedSeeds) -> tuple:
    """What the train stage hands save_models: the state dicts and the history records."""
    return trained_seeds.state_dicts, trained_seeds.history_records()


def test_every_seed_is_loadable_alone_with_its_last_epoch(tmp_path):
    save_models(tmp_path, *parts(trained()), "anchored", ModelConfig().to_dict())
    assert trained_seeds(tmp_path) == [2, 10]
    model, checkpoint = load_checkpoint(model_path(tmp_path, 10))
    assert checkpoint["seed"] == 10 and checkpoint["variant"] == "anchored"
    assert checkpoint["epoch"] == 2
    assert checkpoint["metrics"] == {"loss": 5.0, "recon": 4.0, "kl": 1.0}
    torch.manual_seed(10)
    expected = build_vae(ModelConfig()).state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected[key])
    table = read_history(tmp_path)
    assert list(table.columns) == ["epoch", "seed", "loss", "recon", "kl"]
    assert table["seed"].tolist() == [2, 10, 2, 10]


def test_a_checkpoint_holds_its_own_weights_only(tmp_path):
    """An ensemble's weights are slices of stacked tensors; each file must hold one seed's."""
    members = [build_vae(ModelConfig()) for _ in range(8)]
    states = Ensemble(members, torch.device("cpu")).state_dicts()
    history = [EpochRecord(1, s, 1.0, 1.0, 0.0) for s in range(8)]
    save_models(tmp_path, *parts(TrainedSeeds(dict(enumerate(states)), history)), "v", {})
    one_model = sum(p.numel() * 4 for p in members[0].parameters())
    assert model_path(tmp_path, 3).stat().st_size < 1.1 * one_model
    loaded = torch.load(model_path(tmp_path, 3), weights_only=True)["state_dict"]
    assert torch.equal(loaded["mu_head.weight"], members[3].mu_head.weight)


def test_same_content_same_bytes(tmp_path):
    for name in ("a", "b"):
        save_models(tmp_path / name, *parts(trained()), "anchored", ModelConfig().to_dict())
    digest = [hashlib.sha256(model_path(tmp_path / n, 2).read_bytes()).hexdigest() for n in "ab"]
    assert digest[0] == digest[1]


def test_missing_folder_and_history_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="not a folder of trained models"):
        trained_seeds(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="history.csv is missing"):
        read_history(tmp_path)


def test_a_checkpoint_that_cannot_be_written_is_an_error_naming_the_output(tmp_path, monkeypatch):
    """torch.save on a full disk raises a RuntimeError naming no file: the stage's one
    line names the models folder instead, and nothing is left half-written."""
    import pytest

    from anchorvae.artifacts.atomic import atomic_dir

    def full_disk(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:783] . PytorchStreamWriter "
                           "failed writing file data/0: file write failed")  # fmt: skip

    monkeypatch.setattr(torch, "save", full_disk)
    out = tmp_path / "models" / "anchored"
    with pytest.raises(OSError) as err, atomic_dir(out) as tmp:
        save_models(tmp, *parts(trained()), "anchored", ModelConfig().to_dict())
    assert err.value.filename == str(out)
    assert "PytorchStreamWriter failed writing file" in err.value.strerror
    assert "is the disk full or over its quota?" in err.value.strerror
    assert list((tmp_path / "models").iterdir()) == []
