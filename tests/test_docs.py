"""The examples in the docstrings run and print what they say (``doctest``)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import runwatch

MODULES = sorted(m.name for m in pkgutil.walk_packages(runwatch.__path__, "runwatch."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    failed, _ = doctest.testmod(module, optionflags=flags, report=True)
    assert failed == 0, f"{failed} example(s) in {name} failed (printed above)"


def test_the_examples_are_found():
    examples = 0
    for name in MODULES:
        finder = doctest.DocTestFinder()
        examples += sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
    assert examples >= 20  # a finder that found nothing would pass every module
