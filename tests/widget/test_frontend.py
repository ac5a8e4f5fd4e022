"""The front end's model: one per set of pages a comm reaches (a kernel, a marimo session)."""

from __future__ import annotations

from runwatch.widget import _frontend


def test_each_marimo_session_gets_a_front_end_of_its_own(monkeypatch):
    # `marimo run` runs each viewer's session in a thread of one process; a model
    # opened in one session never reaches another's page, whose widgets would
    # wait for it forever.
    first, second = object(), object()
    scope = first
    monkeypatch.setattr(_frontend, "_comm_scope", lambda: scope, raising=False)
    made = []
    try:
        made.append(_frontend.front_end())
        assert _frontend.front_end() is made[0]  # the same session: the same model
        scope = second
        made.append(_frontend.front_end())
        assert made[1] is not made[0] and made[1].comm is not None
        assert _frontend.front_end() is made[1]
    finally:
        for fe in made:
            fe.close()


def test_outside_marimo_the_scope_is_the_kernel():
    # A plain kernel (or marimo imported without a session running): one model.
    assert _frontend._comm_scope() is None
