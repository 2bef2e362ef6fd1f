import pytest

from auth_utils import normalize_username, validate_password, validate_username


def test_normalization():
    assert normalize_username("  Alice ") == "alice"
    assert normalize_username("\tBOB_1-x\n") == "bob_1-x"


@pytest.mark.parametrize(
    ("name", "ok"),
    [("ab", False), ("abc", True), ("a" * 31, True), ("a" * 32, False),
     ("a_b-c9", True), ("a.b", False), ("a b", False), ("ali\x00ce", False), ("", False),
     ("ålice", False), ("Alice", False), ("al/ice", False)],
)
def test_username_rules(name, ok):
    assert (validate_username(name) is None) is ok


@pytest.mark.parametrize(
    ("password", "ok"),
    [("a" * 7, False), ("a" * 8, True), ("a" * 255, True), ("a" * 256, False),
     ("pässwörd🙂", True), ("        ", True), ("abc\x00defgh", False), ("", False),
     ("abc\ufffddefgh", False)],
)
def test_password_rules(password, ok):
    assert (validate_password(password) is None) is ok


def test_messages_are_for_people():
    assert validate_username("ab") == "Username must be 3 to 31 characters long."
    assert validate_password("short") == "Password must be 8 to 255 characters long."
