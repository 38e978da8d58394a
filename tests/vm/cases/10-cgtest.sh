#!/bin/sh
# The cgroup v2 driver tests (tests/vm/cgtest.c).
exec cgtest
