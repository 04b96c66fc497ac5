# Copyright © 2022 Intel Corporation
#
# SPDX-License-Identifier: MIT
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
from __future__ import print_function


print("hello")
