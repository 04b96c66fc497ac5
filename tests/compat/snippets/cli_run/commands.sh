# Source: sigopt/sigopt-python test/cli/test_run.py (https://github.com/sigopt/sigopt-python/blob/main/test/cli/test_run.py):
#   `sigopt run echo hello`, `sigopt run python print_args.py --kwarg=value positional_arg` (with the `--`
#   passthrough of test/cli/test_optimize.py and test_start_worker.py added), `sigopt run python import_hello.py`
#   (a script importing its sibling print_hello.py, which prints hello). The .py files are the repo's
#   test/cli/test_files, unchanged but for a `# ruff: noqa` line and 4-space indents. Last, the tutorial's
#   model pattern through `sigopt run` (../params_setdefaults.py).
# Changed: `sigopt` -> `sigopt-ai` on each command line. One command a line; the test runs each in this folder.
sigopt-ai run echo hello
sigopt-ai run python print_args.py --kwarg=value positional_arg -- "after -- arg"
sigopt-ai run python import_hello.py
sigopt-ai run python params_setdefaults.py
