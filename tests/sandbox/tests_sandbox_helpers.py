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


SECRET_MARK = "referee-secret-" + "4f1c"


def secret_probe_driver(payload, channel):
    """Look for the handler's secret anywhere in this process's heap."""
    import gc

    found = any(isinstance(obj, dict) and obj.get("secret") == SECRET_MARK + "-value" for obj in gc.get_objects())
    channel.send({"found": found})
    return 0


class SecretHolder:
    def __init__(self, payload):
        self.state = {"secret": SECRET_MARK + "-value"}
        self.found = None

    def on_message(self, message):
        self.found = message.get("found")

    def finish(self, result):
        return {"child_saw_secret": self.found}


def deaf_flood_driver(payload, channel):
    """Ask for thousands of replies and never read one."""
    for i in range(20_000):
        channel.send({"n": i, "pad": "x" * 200})
    return 0


def nested_dirs_driver(payload, channel):
    """Leave a tree deeper than a recursive rmtree can remove, then talk to the handler as an honest job would."""
    import os

    for _ in range(payload.get("depth", 1500)):
        os.mkdir("d")
        os.chdir("d")
    channel.send({"n": 21})
    reply = channel.recv()
    channel.send({"doubled": reply["doubled"]})
    return 0


class Fragile(Doubler):
    """A handler that trusts a field of the frame (the job can make it raise)."""

    def on_message(self, message):
        return {"doubled": message["must_have"] * 2}


class Broken(Doubler):
    """Stands in for a supervisor bug: raises what no `except Exception` catches."""

    def on_message(self, message):
        raise KeyboardInterrupt("simulated supervisor failure")
