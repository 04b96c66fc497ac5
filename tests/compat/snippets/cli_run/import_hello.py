# Copyright © 2022 Intel Corporation
#
# SPDX-License-Identifier: MIT
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import print_hello  # pylint: disable=unused-import


del print_hello
