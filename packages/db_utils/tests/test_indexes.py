from db_utils import Session, User


def test_ttl_index_on_expires_at(db):
    indexes = Session._get_collection().index_information()
    ttl = [spec for spec in indexes.values() if spec["key"] == [("expires_at", 1)]]
    assert ttl, indexes
    assert ttl[0]["expireAfterSeconds"] == 0


def test_unique_username_and_user_id_indexes(db):
    users = User._get_collection().index_information()
    unique = [s for s in users.values() if s["key"] == [("username", 1)]]
    assert unique and unique[0].get("unique") is True
    sessions = Session._get_collection().index_information()
    assert any(s["key"] == [("user_id", 1)] for s in sessions.values())


def test_throttles_expire_by_ttl(db):
    from db_utils import Throttle

    info = Throttle._get_collection().index_information()
    assert any(s["key"] == [("expires_at", 1)] and s.get("expireAfterSeconds") == 0
               for s in info.values())
