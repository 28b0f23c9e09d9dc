"""Release tooling: what the released version answers for every house of ``test.csv`` (the
baseline, committed beside the package) and the differential test of the model being built
against it (``python -m gradient_boosting_model.release``; ``make diff-test``, ``make baseline``).

Packaged with the model but no input of it: changing these modules rebuilds the wheel, and does
not retrain.
"""
