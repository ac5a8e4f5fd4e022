"""The runwatch command line: ls, show, export, import."""

from __future__ import annotations

import json

import pytest

from runwatch.cli import main
from runwatch.tracking import Run

from .conftest import batches


@pytest.fixture
def filled(db):
    run = Run("sweep-1", primary_metric="accuracy", store=db)
    with run.iteration("lr") as it:
        it.update("validation", [0, 1, 1, 0], y_pred=[0, 1, 1, 1])  # 0.75
    with run.iteration("svm") as it:
        it.update("validation", [0, 1, 1, 0], y_pred=[0, 1, 1, 0])  # 1.0
    Run("empty", store=db)
    return db


def test_ls(filled, capsys):
    assert main(["--store", filled, "ls"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        "name",
        "task",
        "primary_metric",
        "goal",
        "iterations",
        "status",
        "best",
    ]
    assert out[1].split() == [
        "sweep-1",
        "classification",
        "accuracy",
        "maximize",
        "2",
        "completed",
        "1",
    ]
    assert out[2].split()[:5] == ["empty", "classification", "accuracy", "maximize", "0"]


def test_show(filled, capsys):
    assert main(["--store", filled, "show", "sweep-1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("run sweep-1")
    rows = [line.split() for line in out[2:]]
    assert [(r[1], r[2], r[4], r[5]) for r in rows] == [
        ("lr", "completed", "0.75", "0.75"),
        ("svm", "completed", "1", "1"),
    ]


def test_export_then_import(filled, tmp_path, capsys):
    out = tmp_path / "sweep.json"
    assert main(["--store", filled, "export", "sweep-1", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["run"]["name"] == "sweep-1"
    other = str(tmp_path / "other.db")
    assert main(["--store", other, "import", str(out)]) == 0
    assert "imported run sweep-1 (2 iterations)" in capsys.readouterr().out
    assert main(["--store", other, "import", str(out), "--name", "copy"]) == 0
    capsys.readouterr()
    assert main(["--store", other, "ls"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert names == ["sweep-1", "copy"]


def test_store_from_environment(filled, monkeypatch, capsys):
    monkeypatch.setenv("RUNWATCH_STORE", filled)
    assert main(["ls"]) == 0
    assert "sweep-1" in capsys.readouterr().out


def test_errors_are_one_line_and_exit_1(filled, tmp_path, capsys):
    assert main(["--store", filled, "show", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("runwatch: error: name: no run called 'nope'") and err.count("\n") == 1
    assert main(["--store", str(tmp_path / "missing.db"), "ls"]) == 1
    assert "no runwatch store" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["--store", filled, "import", str(bad)]) == 1
    assert "not a runwatch document" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["export", "run"]) == 2  # -o is required
    assert main(["--help"]) == 0
    capsys.readouterr()


def test_a_run_moves_sqlite_to_postgresql_and_back_byte_identical(postgres, tmp_path, capsys):
    source = str(tmp_path / "laptop.db")
    run = Run("sweep", primary_metric="AUC_weighted", labels=["a", "b", "c"], store=source)
    for k, (y, p) in enumerate(batches(2, 3, 64, seed=7)):
        with run.iteration(f"model-{k}", params={"C": 10.0**-k}) as it:
            it.update("validation", [["a", "b", "c"][i] for i in y], y_proba=p)
            for step in range(5):
                it.log_loss(1.0 / (step + 1), split="train", step=step)
            it.log_metric("lr", 0.1, step=0.5)  # a float step stays a float
            it.tags["team"] = "vision"
    team = postgres.new_schema()
    first, second, third = (tmp_path / f"{n}.json" for n in ("first", "second", "third"))
    assert main(["--store", source, "export", "sweep", "-o", str(first)]) == 0
    assert main(["--store", team, "import", str(first)]) == 0
    assert main(["--store", team, "export", "sweep", "-o", str(second)]) == 0
    back = str(tmp_path / "back.db")
    assert main(["--store", back, "import", str(second)]) == 0
    assert main(["--store", back, "export", "sweep", "-o", str(third)]) == 0
    assert first.read_bytes() == second.read_bytes() == third.read_bytes()
    capsys.readouterr()
    assert main(["--store", team, "show", "sweep"]) == 0
    assert "model-1" in capsys.readouterr().out
