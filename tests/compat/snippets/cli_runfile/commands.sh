# Source: the flow `sigopt init` sets up (sigopt-reference.md §1.9: the command comes from argv or from run.yml's
#   `run:`; `experiment.yml` is optimize's default -e; -p/--project picks the project), after the user filled in
#   run.yml and experiment.yml: `sigopt run`, then `sigopt optimize -p tuning`.
# Changed: `sigopt` -> `sigopt-ai`.
sigopt-ai run
sigopt-ai optimize -p tuning
