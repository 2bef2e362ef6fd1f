from argon2 import PasswordHasher, Type

from auth_utils.rules.passwords import hash_password, hasher, verify_dummy, verify_password


def test_hash_is_argon2id_at_owasp_minimum():
    encoded = hash_password("correct horse")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.memory_cost == 19456 and hasher.time_cost == 2 and hasher.parallelism == 1


def test_verify_right_and_wrong():
    encoded = hash_password("correct horse")
    assert verify_password(encoded, "correct horse").ok
    assert not verify_password(encoded, "wrong horse").ok
    assert not verify_password("not a hash", "x").ok


def test_weaker_parameters_need_rehash():
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    check = verify_password(weak.hash("pw-123456"), "pw-123456")
    assert check.ok and check.needs_rehash
    assert not verify_password(hash_password("pw-123456"), "pw-123456").needs_rehash


def test_dummy_verify_never_succeeds():
    assert not verify_dummy("anything").ok
