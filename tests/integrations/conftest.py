"""Keras runs on the torch backend here, and Hugging Face never reaches for the network."""

from __future__ import annotations

import os

# Both are read when keras / transformers are first imported, so they are set
# before any test module imports them.
os.environ["KERAS_BACKEND"] = "torch"
os.environ["HF_HUB_OFFLINE"] = "1"
