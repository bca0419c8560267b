"""Limits counted by real gunicorn workers, in two app instances at once."""

import json

from tests.server import Server, manage, migrated_sqlite

CREATE_SARAH = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
user = User.objects.create_user("sarah", password="unused-here")
user.groups.add(Group.objects.get(name="manager"))
print(Token.objects.create(user=user).key)
"""


def test_two_instances_on_one_store_share_a_users_limit(tmp_path):
    database_url = migrated_sqlite(tmp_path)
    token = manage(database_url, "shell", "-c", CREATE_SARAH).split()[-1]
    rates = {"RATELIMIT_BURST": "10/1m", "RATELIMIT_SUSTAINED": "1000/5m"}
    first = Server(database_url, tmp_path / "first.log", **rates).start()
    second = Server(database_url, tmp_path / "second.log", **rates).start()
    headers = {"Authorization": f"Token {token}"}
    try:
        statuses = [
            server.get("/api/v1/projects/", headers)[0]
            for _ in range(15)
            for server in (first, second)
        ]
        status, response_headers, body = second.get("/api/v1/projects/", headers)
    finally:
        second.stop()
        first.stop()

    # Four workers in two instances, one allowance: exactly ten pass.
    assert statuses.count(200) == 10
    assert set(statuses) == {200, 429}
    assert status == 429
    assert int(response_headers["Retry-After"]) >= 1
    assert json.loads(body)["code"] == "throttled"
