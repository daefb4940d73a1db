from __future__ import annotations

import clientela


def test_all_is_sorted_and_importable() -> None:
    assert list(clientela.__all__) == sorted(clientela.__all__)
    for name in clientela.__all__:
        assert hasattr(clientela, name), name


def test_settings_are_not_created_at_import() -> None:
    import clientela.config as config

    assert not any(isinstance(v, config.Settings) for v in vars(clientela).values())
