"""OIDC_PROVIDERS: a JSON list or the path of a JSON file; off when unset; a bad value is
one SettingsError line that names the provider and the field (and never the secret)."""

import json

import pytest

from auth_utils import SettingsError, load_settings

GOOD = {"id": "corp", "name": "Corp SSO", "issuer": "https://sso.example.com",
        "client_id": "monorepo", "client_secret": "s3cret-value"}


def test_unset_means_no_providers():
    assert load_settings({}).oidc_providers == ()
    assert load_settings({"OIDC_PROVIDERS": "  "}).oidc_providers == ()


def test_a_json_list_and_a_file_give_the_same_providers(tmp_path):
    second = {**GOOD, "id": "google", "name": "Google",
              "issuer": "https://accounts.google.com", "trust_mfa": True,
              "mfa_acr": ["phr"], "timeout": 3}
    inline = load_settings({"OIDC_PROVIDERS": json.dumps([GOOD, second])}).oidc_providers
    path = tmp_path / "providers.json"
    path.write_text(json.dumps([GOOD, second]))
    assert load_settings({"OIDC_PROVIDERS": str(path)}).oidc_providers == inline
    corp, google = inline
    assert (corp.id, corp.name, corp.scope, corp.trust_mfa, corp.timeout) == (
        "corp", "Corp SSO", "openid email profile", False, 5.0)
    assert (google.trust_mfa, google.mfa_acr, google.timeout) == (True, ("phr",), 3.0)
    assert "s3cret-value" not in repr(corp)  # a settings repr in a log leaks no secret


@pytest.mark.parametrize(("value", "match"), [
    ("{not json", "is neither a JSON list nor a readable file"),
    ("[{]", "not valid JSON"),
    (json.dumps({"id": "x"}), "neither a JSON list"),
    (json.dumps([GOOD, GOOD]), "same id"),
    (json.dumps(["x"]), "provider 1 must be a JSON object"),
    (json.dumps([{**GOOD, "client_secret": ""}]), r"provider 1: 'client_secret' is missing"),
    (json.dumps([{**GOOD, "id": "Bad Id"}]), r"\(Bad Id\): 'id' must be"),
    (json.dumps([{**GOOD, "issuer": "http://sso.example.com"}]), "must be an https URL"),
    (json.dumps([{**GOOD, "scope": "email"}]), "includes openid"),
    (json.dumps([{**GOOD, "trust_mfa": "yes"}]), "true or false"),
    (json.dumps([{**GOOD, "timeout": 0}]), "'timeout'"),
    (json.dumps([{**GOOD, "clientid": "x"}]), "unknown field 'clientid'"),
])
def test_a_bad_value_is_one_clear_line(value, match):
    with pytest.raises(SettingsError, match=match) as refused:
        load_settings({"OIDC_PROVIDERS": value})
    message = str(refused.value)
    assert "\n" not in message and "s3cret-value" not in message


def test_a_plain_http_issuer_only_on_loopback_outside_production():
    local = [{**GOOD, "issuer": "http://127.0.0.1:9999"}]
    assert load_settings({"OIDC_PROVIDERS": json.dumps(local)}).oidc_providers
    with pytest.raises(SettingsError, match="https"):
        load_settings({"APP_ENV": "production", "MAIL": "off",
                       "MFA_ENCRYPTION_KEY": "Zx9" + "qWeRtYuIoPaSdFgHjKlZxCvBnM1234567890abcdefg",
                       "OIDC_PROVIDERS": json.dumps(local)})
