"""Run-time settings from the environment: defaults, and one line for a bad value."""

import pytest

from anchorvae.errors import UsageError
from anchorvae.pipeline.runtime import check_settings
from anchorvae.pipeline.settings import download_settings, run_settings


def test_defaults_when_nothing_is_set():
    assert run_settings({}).device == "auto" and run_settings({}).threads == 2
    download = download_settings({})
    assert (download.mirrors, download.timeout_s, download.index_url) == ([], 30.0, "")


def test_values_from_the_environment():
    env = {"ANCHORVAE_DEVICE": "cpu", "ANCHORVAE_THREADS": "2",
           "ANCHORVAE_MIRRORS": "/a  http://b/", "ANCHORVAE_TIMEOUT_S": "5.5"}  # fmt: skip
    assert run_settings(env).device == "cpu" and run_settings(env).threads == 2
    assert download_settings(env).mirrors == ["/a", "http://b/"]
    assert download_settings(env).timeout_s == 5.5


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("ANCHORVAE_DEVICE", "tpu", "ANCHORVAE_DEVICE = 'tpu' is invalid: expected one of auto"),
        ("ANCHORVAE_THREADS", "2147483648", "ANCHORVAE_THREADS = '2147483648' is invalid"),
        ("ANCHORVAE_THREADS", "two", "expected an integer >= 0 and <= 1024"),
        ("ANCHORVAE_TIMEOUT_S", "inf", "ANCHORVAE_TIMEOUT_S = 'inf' is invalid"),
        ("ANCHORVAE_TIMEOUT_S", "nan", "expected a number > 0 and <= 3600"),
        ("ANCHORVAE_TIMEOUT_S", "0", "ANCHORVAE_TIMEOUT_S = '0'"),
        ("ANCHORVAE_MIRRORS", "http://[::1", r"ANCHORVAE_MIRRORS = 'http://\[::1' is invalid"),
        ("ANCHORVAE_MIRRORS", "/data htp://x", "expected folders or base URLs"),
        ("ANCHORVAE_MIRRORS", "http://h:99999/", "ANCHORVAE_MIRRORS = 'http://h:99999/'"),
        ("ANCHORVAE_INDEX_URL", "http://[bad", "expected a package index URL"),
        ("ANCHORVAE_INDEX_URL", "ftp://x/simple", r"ANCHORVAE_INDEX_URL = 'ftp://x/simple'"),
        ("ANCHORVAE_POLL_S", "-1", r"ANCHORVAE_POLL_S = '-1' is invalid: expected a number >= 0"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(name, value, message):
    """Including a URL urllib could not take apart (it raised ValueError mid-download).
    `make grid` checks them all before it queues anything (runtime.check_settings)."""
    with pytest.raises(UsageError, match=message) as info:
        check_settings({name: value})
    assert "\n" not in str(info.value)


def test_a_misspelt_setting_is_named_with_the_known_ones():
    """ANCHORVAE_DEVICES=gpu would otherwise be ignored, and the run go on the default."""
    for settings in (run_settings, download_settings):
        with pytest.raises(UsageError) as err:
            settings({"ANCHORVAE_DEVICES": "gpu", "HOME": "/root"})
        assert str(err.value) == (
            "ANCHORVAE_DEVICES is not a setting: known are ANCHORVAE_DEVICE, "
            "ANCHORVAE_INDEX_URL, ANCHORVAE_MIRRORS, ANCHORVAE_POLL_S, ANCHORVAE_THREADS, "
            "ANCHORVAE_TIMEOUT_S"
        )
