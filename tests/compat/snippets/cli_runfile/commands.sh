# Source: the flow `sigopt init` sets up (sigopt-reference.md §1.9: the command comes from argv or from run.yml's
#   `run:`), after the user filled in run.yml: `sigopt run`.
# Changed: `sigopt` -> `sigopt-ai`.
sigopt-ai run
