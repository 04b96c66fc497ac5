# Copyright © 2022 Intel Corporation
#
# SPDX-License-Identifier: MIT
# Source: sigopt/sigopt-python test/cli/test_files/import_hello.py (run by test/cli/test_run.py, test_optimize.py,
#   test_start_worker.py). Changed: nothing but this header, the noqa line and 4-space indents.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import print_hello  # pylint: disable=unused-import


del print_hello
