# Source: sigopt/sigopt-python `sigopt create experiment` (sigopt/cli/commands/experiment/create.py prints
#   "> sigopt start-worker ID"), test/cli/test_start_worker.py (`sigopt start-worker 1234 python print_hello.py`)
#   and examples/parallel.py (`sigopt start-worker {experiment.id} python run-model.py`), then listing
#   (sigopt-reference.md §1.9; archiving from the module: ../ai_archive.py).
# Changed: `sigopt` -> `sigopt-ai`; $EXPERIMENT_ID is the id `create experiment` printed. Workers sharing a budget:
#   ../ai_examples_parallel. `experiments list` is sigopt-ai's (issue 17's command list).
sigopt-ai create experiment -e experiment.yml
sigopt-ai start-worker $EXPERIMENT_ID python model.py
sigopt-ai experiments list
