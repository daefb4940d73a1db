from __future__ import annotations

import clientela


def test_all_is_sorted_and_importable() -> None:
    assert list(clientela.__all__) == sorted(clientela.__all__)
    for name in clientela.__all__:
        assert hasattr(clientela, name), name


def test_settings_are_not_created_at_import() -> None:
    import clientela.config as config

    assert not any(isinstance(v, config.Settings) for v in vars(clientela).values())


def test_the_cli_does_not_import_the_machine_learning_libraries() -> None:
    """scikit-learn, LightGBM and SciPy take seconds to import: only the commands that use
    them load them, so `clientela --help` and the rule-based commands start quickly."""
    import subprocess
    import sys

    code = (
        "import sys, clientela.cli.app, clientela.cli; "
        "print(sorted(m for m in ('sklearn', 'lightgbm', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_models_package_exports_what_it_imports_lazily() -> None:
    import clientela.models as models

    assert sorted(models.__all__) == sorted(models._HOME)
    for name in models.__all__:
        assert hasattr(models, name), name
