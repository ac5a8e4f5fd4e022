"""Where users already train: a scikit-learn sweep and framework callbacks.

One module per framework (``sklearn`` for :func:`~runwatch.integrations.sklearn.sweep`,
``xgboost``, ``lightgbm``), each imported only when used so that ``import
runwatch`` never loads a framework. They call the tracking layer
(:class:`~runwatch.tracking.Run`, :class:`~runwatch.tracking.Iteration`) and
nothing in runwatch calls them.
"""
