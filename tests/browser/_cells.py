"""Notebook source the browser suites share: a scikit-learn sweep on the digits dataset.

Each suite adds its own cells around these: how labels are named, which
splits are logged and how long the last iteration lasts.
"""

#: The set-up cell's imports (runwatch.views loads the chart stack before any loop).
IMPORTS = """\
import os
import time
import numpy as np
import runwatch as rw
import runwatch.views
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier
"""

#: The four models, in run order; KNN, the last, is the best (so the best moves mid-run).
MODELS = """\
models = [
    ("GaussianNB", GaussianNB()),
    ("DecisionTree", DecisionTreeClassifier(max_depth=4, random_state=0)),
    ("LogisticRegression", LogisticRegression(max_iter=200)),
    ("KNN", KNeighborsClassifier()),
]
"""
