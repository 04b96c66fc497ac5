# Source: sigopt/sigopt-python test/cli/test_optimize.py (https://github.com/sigopt/sigopt-python/blob/main/test/cli/test_optimize.py):
#   `sigopt optimize --experiment-file=... python ...`, in its short form with a project,
#   `sigopt optimize -e experiment.yml -p tuning python model.py` (sigopt-reference.md §1.9: -e/--experiment-file,
#   -p/--project).
# Changed: `sigopt` -> `sigopt-ai`; experiment.yml and model.py are stand-ins for the user's (see their headers).
sigopt-ai optimize -e experiment.yml -p tuning python model.py
