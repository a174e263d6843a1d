"""The worker survives losing Redis with a message unacknowledged (kombu 5.7.0 crashed it)."""

from types import SimpleNamespace

from kombu.transport import redis as kombu_redis

import soar.celery  # noqa: F401 - installs the guard


def test_restoring_unacked_messages_after_a_lost_connection_does_not_end_the_worker(caplog):
    def closed_connection(client=None):
        raise AttributeError("'NoneType' object has no attribute 'hostname'")

    qos = kombu_redis.QoS.__new__(kombu_redis.QoS)
    qos._delivered = {"tag-1": object()}
    qos.channel = SimpleNamespace(conn_or_acquire=closed_connection)
    assert qos.restore_unacked() is None
    assert qos._delivered == {}
    assert "delivered again after the visibility timeout" in caplog.text


def test_acknowledging_after_a_lost_connection_does_not_end_the_worker(caplog):
    def closed_connection(client=None):
        raise AttributeError("'NoneType' object has no attribute 'client'")

    qos = kombu_redis.QoS.__new__(kombu_redis.QoS)
    qos._delivered = {"tag-2": object()}
    qos.channel = SimpleNamespace(conn_or_acquire=closed_connection)
    assert qos.ack("tag-2") is None
    assert "tag-2" not in qos._delivered
    assert "delivered again after the visibility timeout" in caplog.text
