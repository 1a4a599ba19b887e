from importlib.metadata import version

import techcorp


def test_version_matches_the_distribution() -> None:
    assert techcorp.__version__ == version("techcorp-sdk")
