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


# --- only ASCII is folded: Unicode case mapping must not reach an ASCII username ------

KELVIN, DOTTED_I, LONG_S = "\u212a", "\u0130", "\u017f"
ONLY_ASCII = "Username may only contain a-z, 0-9, underscores and hyphens."


def test_ordinary_mixed_case_still_normalizes():
    assert normalize_username("  Alice ") == "alice"
    assert normalize_username("\r\n\x0b\x0cKaTe_9-\t") == "kate_9-"


@pytest.mark.parametrize(
    "raw",
    [
        KELVIN + "ate",               # str.lower() gives "kate"
        DOTTED_I + "rene",            # str.lower() gives "i\u0307rene"
        "\u0131rene",                 # dotless i: str.upper() gives "IRENE"
        "ro" + LONG_S + "a",          # long s: str.upper() gives "ROSA"
        "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth "alice"
        "\uff21lice",                 # fullwidth capital A: str.lower() gives fullwidth a
        "\ufb00ion",                  # ligature ff
    ],
)
def test_non_ascii_is_not_folded_into_ascii(raw):
    name = normalize_username(raw)
    assert name == raw  # left as typed
    assert validate_username(name) == ONLY_ASCII


def test_kelvin_sign_is_not_kate():
    assert normalize_username(KELVIN + "ate") != "kate"
    assert normalize_username(KELVIN + "ATE") == KELVIN + "ate"  # the ASCII part still folds
    assert validate_username(normalize_username(KELVIN + "ate")) == ONLY_ASCII


def test_dotted_capital_i_keeps_one_code_point():
    assert normalize_username(DOTTED_I + "rene") == DOTTED_I + "rene"
    assert validate_username(normalize_username(DOTTED_I + "RENE")) == ONLY_ASCII


@pytest.mark.parametrize("space", ["\u00a0", "\u3000", "\u2003", "\u0085", "\x1c", "\u200b"])
def test_only_ascii_whitespace_is_trimmed(space):
    name = normalize_username(f" {space}alice{space} ")
    assert name == f"{space}alice{space}"
    assert validate_username(name) == ONLY_ASCII
