# Source: sigopt/sigopt-python .github/workflows/integration.yml, job "tutorial"
#   (https://github.com/sigopt/sigopt-python/blob/main/.github/workflows/integration.yml):
#   `sigopt create project` then `sigopt run python ./ci/tutorial/model.py`, with SIGOPT_PROJECT=tutorial.
# Changed: `sigopt` -> `sigopt-ai`; the model sits in this folder (model.py); `sigopt config` (it stores the
#   hosted service's API token) is left out: the embedded store needs none, a server's token is in the env.
sigopt-ai create project
sigopt-ai run python model.py
