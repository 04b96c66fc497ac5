# Source: sigopt/sigopt-python test/cli/test_init.py (https://github.com/sigopt/sigopt-python/blob/main/test/cli/test_init.py):
#   `sigopt init` in an empty folder writes run.yml and experiment.yml (and, there, a Dockerfile and
#   .dockerignore for its removed Kubernetes orchestration, which issue 17 leaves out).
# Changed: `sigopt` -> `sigopt-ai`.
sigopt-ai init
