"""The allocator options `sedet` runs polars with (runtime.malloc_conf)."""

import os
import subprocess
import sys

from sedet.runtime import MALLOC_CONF, malloc_conf


def test_nothing_set_gives_sedets_options():
    assert malloc_conf(None) == f"dirty_decay_ms:250,muzzy_decay_ms:0,narenas:{os.cpu_count() or 1}"
    assert malloc_conf("") == MALLOC_CONF


def test_polars_defaults_inherited_from_a_parent_are_dropped():
    # a parent that imported polars leaves "dirty_decay_ms:500,muzzy_decay_ms:1000" in the environment
    # (polars/__init__.py); taken as the user's, it would undo sedet's options
    assert malloc_conf("dirty_decay_ms:500,muzzy_decay_ms:1000") == MALLOC_CONF


def test_the_users_options_come_last_and_so_win():
    # jemalloc applies options left to right: a later one overrides an earlier one
    assert malloc_conf("dirty_decay_ms:0") == MALLOC_CONF + ",dirty_decay_ms:0"
    assert malloc_conf("dirty_decay_ms:500,muzzy_decay_ms:1000,narenas:2") == MALLOC_CONF + ",narenas:2"


def test_main_sets_the_options_before_polars_is_loaded():
    # polars reads _RJEM_MALLOC_CONF when it is first imported: importing the command line must not
    # import polars, and main() must have set the options by the time a command runs
    code = (
        "import os, sys\n"
        "import sedet.cli as c\n"
        "assert 'polars' not in sys.modules, 'sedet.cli imports polars'\n"
        "c.app = lambda **kw: print(os.environ['_RJEM_MALLOC_CONF'])\n"
        "c.main()\n"
    )
    env = {"PATH": "/usr/bin:/bin", "_RJEM_MALLOC_CONF": "dirty_decay_ms:500,muzzy_decay_ms:1000,narenas:2"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == MALLOC_CONF + ",narenas:2"
