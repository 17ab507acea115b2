"""The allocator options `sedet` runs polars with (cli.malloc_conf)."""

from sedet.cli import MALLOC_CONF, malloc_conf


def test_nothing_set_gives_sedets_options():
    assert malloc_conf(None) == "dirty_decay_ms:60000,muzzy_decay_ms:60000"
    assert malloc_conf("") == MALLOC_CONF


def test_polars_defaults_inherited_from_a_parent_are_dropped():
    # a parent that imported polars leaves "dirty_decay_ms:500,muzzy_decay_ms:1000" in the environment
    # (polars/__init__.py); taken as the user's, it would undo sedet's options
    assert malloc_conf("dirty_decay_ms:500,muzzy_decay_ms:1000") == MALLOC_CONF


def test_the_users_options_come_last_and_so_win():
    # jemalloc applies options left to right: a later one overrides an earlier one
    assert malloc_conf("dirty_decay_ms:0") == MALLOC_CONF + ",dirty_decay_ms:0"
    assert malloc_conf("dirty_decay_ms:500,muzzy_decay_ms:1000,narenas:2") == MALLOC_CONF + ",narenas:2"
