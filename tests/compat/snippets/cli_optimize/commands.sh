# Source: sigopt/sigopt-python test/cli/test_optimize.py (https://github.com/sigopt/sigopt-python/blob/main/test/cli/test_optimize.py):
#   `sigopt optimize --experiment-file=... python ...`, and its short form `sigopt optimize -e experiment.yml
#   python model.py` (sigopt-reference.md §1.9).
# Changed: `sigopt` -> `sigopt-ai`; experiment.yml and model.py are stand-ins for the user's (see their headers).
sigopt-ai optimize -e experiment.yml python model.py
