"""Driver and handler used by the channel test (importable by the fork server via PYTHONPATH)."""

from __future__ import annotations


def echo_driver(payload, channel):
    channel.send({"n": payload["n"]})
    reply = channel.recv()
    channel.send({"doubled": reply["doubled"]})
    return 0


class Doubler:
    def __init__(self, payload):
        self.frames = 0
        self.got = None

    def on_message(self, message):
        self.frames += 1
        if "n" in message:
            return {"doubled": message["n"] * 2}
        self.got = message.get("doubled")
        return None

    def finish(self, result):
        return {"got": self.got, "frames": self.frames}
