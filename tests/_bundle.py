"""Reading ``static/widget.js``: a loader module holding the real bundle as a string literal.

scripts/build-widget.mjs writes it so (anywidget re-imports a widget's module
for every widget shown; the loader imports the bundle once per page). Checks
on what the front end runs must read the bundle, not only the loader.
"""

from __future__ import annotations

import json
import re

_LITERAL = re.compile(r"^const BUNDLE = (\".*\");$", re.MULTILINE)


def bundle_code(module_text: str) -> str:
    """The bundle inside the loader ``module_text``; fails the test when it is not there."""
    found = _LITERAL.search(module_text)
    assert found is not None, "widget.js is not the loader scripts/build-widget.mjs writes"
    code = json.loads(found.group(1))
    assert isinstance(code, str) and "export" in code, "the bundle is not an ES module"
    return code
