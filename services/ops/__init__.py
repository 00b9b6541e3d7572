"""The district situation view (``/ops/``): sits on top of every other app and is imported by none.
It has no models of its own, so it needs no entry in INSTALLED_APPS."""
