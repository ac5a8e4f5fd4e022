"""RunDetails itself (``widget/__init__.py``): what it takes, what it refuses in one sentence."""

from __future__ import annotations

import pytest
import traitlets

from runwatch.widget import RunDetails


@pytest.fixture
def widget(sweep):
    w = RunDetails(sweep.run, live=False)
    yield w
    w.close()


@pytest.mark.parametrize(
    "args, message",
    [
        (("sweep",), "run must be a runwatch Run (rw.Run(...)); got str."),
        ((None,), "run must be a runwatch Run (rw.Run(...)); got NoneType."),
    ],
)
def test_a_run_that_is_not_a_run_is_refused(args, message):
    with pytest.raises(TypeError) as err:
        RunDetails(*args)
    assert str(err.value) == message


def test_live_must_be_a_bool(sweep):
    with pytest.raises(TypeError, match=r"^live must be True or False; got 'yes'\.$"):
        RunDetails(sweep.run, live="yes")


def test_selected_takes_an_iteration_id_as_text_or_number(widget, sweep):
    tree = sweep.ids["DecisionTree"]
    widget.selected = tree  # an int, as run.get(...).id gives it
    assert widget.selected == str(tree)
    widget.selected = str(sweep.ids["GaussianNB"])
    assert widget.selected == str(sweep.ids["GaussianNB"])
    widget.selected = None
    assert widget.selected is None


@pytest.mark.parametrize("bad", ["999999", "GaussianNB", -1, 1.5, True, ""])
def test_selected_refuses_what_is_not_an_iteration_and_keeps_its_value(widget, sweep, bad):
    before = widget.selected
    with pytest.raises(traitlets.TraitError) as err:
        widget.selected = bad
    assert widget.selected == before
    if not isinstance(bad, float):  # traitlets itself refuses a float (not text, not int)
        assert str(err.value) == (
            f"selected must be the id of an iteration of run 'sweep' (or None); got {bad!r}."
        )


def test_split_must_be_a_result_set(widget):
    widget.split = "train"
    with pytest.raises(traitlets.TraitError) as err:
        widget.split = "holdout"
    assert str(err.value) == "split must be one of 'train', 'validation', 'test'; got 'holdout'."
    assert widget.split == "train"


def test_selected_cell_is_a_pair_of_labels(widget):
    widget.selected_cell = ["digit 3", 5]  # as the page sends it: a list
    assert widget.selected_cell == ("digit 3", "5")
    with pytest.raises(traitlets.TraitError) as err:
        widget.selected_cell = ("a", "b", "c")
    assert (
        str(err.value)
        == "selected_cell must be (true label, predicted label) or None; got 3 items."
    )
    assert widget.selected_cell == ("digit 3", "5")
    widget.selected_cell = None
    assert widget.selected_cell is None


def test_compared_takes_an_iteration_id_and_none_clears_it(widget, sweep):
    assert widget.compared is None
    seen = []
    widget.observe(lambda change: seen.append(change["new"]), names="compared")
    widget.compared = sweep.ids["DecisionTree"]  # an int, as run.get(...).id gives it
    assert widget.compared == str(sweep.ids["DecisionTree"])
    widget.compared = str(sweep.ids["GaussianNB"])
    widget.compared = None
    assert seen == [str(sweep.ids["DecisionTree"]), str(sweep.ids["GaussianNB"]), None]


@pytest.mark.parametrize("bad", ["999999", "GaussianNB", -1, True, ""])
def test_compared_refuses_what_is_not_an_iteration_and_keeps_its_value(widget, sweep, bad):
    widget.compared = sweep.ids["LogisticRegression"]
    selected = widget.selected
    with pytest.raises(traitlets.TraitError) as err:
        widget.compared = bad
    assert str(err.value) == (
        f"compared must be the id of an iteration of run 'sweep' (or None); got {bad!r}."
    )
    assert widget.compared == str(sweep.ids["LogisticRegression"])
    assert widget.selected == selected
