import math

from anchorvae.sweep import planned_experiments, sweep_figure, sweep_table


def test_planned_experiments_one_per_rate_then_class_mean():
    assert planned_experiments([0.5, 2.0]) == [
        ("sweep-rate-0.5", ["variants.anchored.anchor_rate=0.5"]),
        ("sweep-rate-2", ["variants.anchored.anchor_rate=2"]),
        ("sweep-class-mean", ["templates.kind=class_mean"]),
    ]


def exp_row(name, rate, kind="post", state="Success", placed=1.0):
    """A flat exp_show row with what `with_details` adds from metrics/details.json."""
    row = {"Experiment": name, "State": state, "variants.anchored.anchor_rate": rate,
           "templates.kind": kind}  # fmt: skip
    if placed is None:
        return row
    for variant, rate_placed in (("anchored", placed), ("baseline", 0.0)):
        row.update({f"{variant}.placed_rate": rate_placed, f"{variant}.n_seeds": 5,
                    f"{variant}.placed_ci_low": rate_placed / 2,
                    f"{variant}.placed_ci_high": 1.0})  # fmt: skip
        for key in ("zeros_in_corner", "ones_in_corner"):
            for stat, value in (("median", 0.9), ("min", 0.5), ("max", 1.0), ("mean", 0.8)):
                row[f"{variant}.{key}.{stat}"] = value
        for key in ("test_recon", "test_kl"):
            row[f"{variant}.{key}.mean"] = rate / 10
            row[f"{variant}.{key}.std"] = 0.01
    return row


def test_table_keeps_sweep_rows_sorted_and_marks_failures():
    rows = [
        {"Experiment": None, "rev": "workspace"},  # the workspace row is not a sweep run
        exp_row("sweep-rate-4", 4.0),
        exp_row("sweep-rate-0.5", 0.5, placed=0.4),
        exp_row("sweep-rate-1", 1.0, state="Failed", placed=None),
        exp_row("sweep-rate-2", 2.0, placed=None),  # ran, but no summary metrics
        exp_row("sweep-class-mean", 2.0, kind="class_mean"),
        exp_row("someone-elses-exp", 3.0),
    ]
    table = sweep_table(rows)
    assert table["experiment"].tolist() == [
        "sweep-rate-0.5",
        "sweep-rate-1",
        "sweep-rate-2",
        "sweep-rate-4",
        "sweep-class-mean",
    ]
    assert table["state"].tolist() == ["Success", "Failed", "Failed", "Success", "Success"]
    assert table.loc[0, "anchored.placed_rate"] == 0.4
    assert math.isnan(table.loc[1, "anchored.zeros_in_corner.mean"])
    figure = sweep_figure(table)  # the failed ones are named, the rest still drawn
    assert "failed: sweep-rate-1, sweep-rate-2" in figure._suptitle.get_text()
    assert len(figure.axes[0].lines) >= 2


def test_figure_spreads_stay_within_shares_and_class_mean_sits_beside_its_rate():
    rows = [exp_row("sweep-rate-2", 2.0), exp_row("sweep-class-mean", 2.0, kind="class_mean")]
    figure = sweep_figure(sweep_table(rows))
    zeros = figure.axes[1]
    bars = [c for c in zeros.containers if hasattr(c, "has_yerr") and c.has_yerr]
    x_of = {}
    for container in bars:
        (x,), (y,) = container.lines[0].get_data()
        segment = container.lines[2][0].get_segments()[0]
        assert [p[1] for p in segment] == [0.5, 1.0]  # min..max, not mean +- sd past 1
        x_of[container.get_label()] = x
    post, class_mean = sorted(x_of.values())
    assert post == 2.0 and class_mean > 2.0  # offset, not on top of the rate-2 point
    band = [p for p in zeros.patches if p.get_label().startswith("baseline")]
    assert band and band[0].get_y() == 0.5 and band[0].get_height() == 0.5  # its range


def sweep_stage(monkeypatch, statuses):
    """anchorvae.experiments with `dvc` replaced by a script of queue statuses."""
    import anchorvae.experiments as module

    calls = []

    def fake_dvc(*args):
        calls.append(args)
        return statuses.pop(0) if args[:2] == ("queue", "status") else ""

    monkeypatch.setattr(module, "run_dvc", fake_dvc)
    monkeypatch.setattr(module, "POLL_S", 0)
    return module, calls


DEAD = "a  sweep-rate-1  Queued\nWorker status: 0 active, 0 idle"
BUSY = "a  sweep-rate-1  Running\nWorker status: 1 active, 0 idle"
DONE = "a  sweep-rate-1  Success\nWorker status: 0 active, 0 idle"


def test_wait_restarts_a_dead_worker_then_returns(monkeypatch):
    module, calls = sweep_stage(monkeypatch, [BUSY, DEAD, BUSY, DONE])
    module.wait_for_queue(jobs=2, prefix="sweep-")
    assert ("queue", "start", "--jobs", "2") in calls
    assert sum(c[:2] == ("queue", "start") for c in calls) == 1


def test_wait_gives_up_when_workers_keep_dying(monkeypatch):
    import pytest

    from anchorvae.errors import StageFailure

    module, _ = sweep_stage(monkeypatch, [DEAD] * 10)
    with pytest.raises(StageFailure, match="queued but no queue worker runs them"):
        module.wait_for_queue(jobs=1, prefix="sweep-")


def test_close_rates_get_distinct_names_and_the_exact_value():
    planned = dict(planned_experiments([0.1234561, 0.1234562, 1e-05]))
    assert planned["sweep-rate-0.1234561"] == ["variants.anchored.anchor_rate=0.1234561"]
    assert planned["sweep-rate-0.1234562"] == ["variants.anchored.anchor_rate=0.1234562"]
    assert planned["sweep-rate-1e-05"] == ["variants.anchored.anchor_rate=1e-05"]


def test_a_rate_given_twice_is_refused():
    from pathlib import Path

    import pytest
    import yaml

    from anchorvae.config import ParamsError, parse_params

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    raw["sweep"]["rates"] = [0.5, 1.0, 0.5]
    with pytest.raises(ParamsError, match=r"sweep.rates = \[0.5, 1.0, 0.5\] is invalid: "
                       "expected a non-empty list of distinct numbers"):  # fmt: skip
        parse_params(raw)


def test_stopping_removes_only_our_tasks_and_leaves_none_failed(monkeypatch):
    """Ctrl-C: ours queued are removed, ours running killed, the workers stopped, and the
    task the kill left Failed removed too, each by its task id (an earlier run's finished
    task bears the same name); another experiment's task stays."""
    header = "Task  Name  Created  Status\n"
    before = (header + "a1  sweep-rate-1  10:00  Running\nb2  sweep-rate-2  10:00  Queued\n"
              "c3  mine  09:00  Failed\nd4  sweep-rate-2  09:00  Success\n"
              "Worker status: 1 active, 0 idle")  # fmt: skip
    after = header + "a1  sweep-rate-1  10:00  Failed\nc3  mine  09:00  Failed\n"
    module, calls = sweep_stage(monkeypatch, [before, after, after])
    module.stop_queue("sweep-")
    assert [c for c in calls if c[:2] != ("queue", "status")] == [
        ("queue", "remove", "b2"),
        ("queue", "kill", "a1"),
        ("queue", "stop", "--kill"),
        ("queue", "remove", "a1"),
    ]
