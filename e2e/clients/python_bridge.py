"""A python-socketio client driven by JSON lines, for the end-to-end tests.

Reads one command per line on stdin and writes one JSON object per line on
stdout:

  {"cmd": "connect", "url": ..., "auth": {...} | null, "transports": [...],
   "serializer": "default" | "msgpack"}
      -> {"type": "connect", "transport": ...} or {"type": "connect_error", "data": ...}
  {"cmd": "emit", "id": N, "event": ..., "data": ...}
      -> {"type": "ack", "id": N, "data": ...} once the server acknowledges
  {"cmd": "close"}
      -> {"type": "closed"}, then the process exits

Every event the server emits is written as {"type": "event", "event": ..., "data": ...};
a disconnect as {"type": "disconnect", "reason": ...}.
"""
import json
import sys
import threading
import time

import socketio

lock = threading.Lock()


def out(message):
    with lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def make_client(serializer):
    client = socketio.Client(reconnection=False, serializer=serializer)

    @client.on("*")
    def any_event(event, *args):
        out({"type": "event", "event": event, "data": args[0] if args else None})

    @client.event
    def connect_error(data):
        # The server's refusal ("unauthorized", ...), reported with the failed connect.
        client.refusal = data.get("message") if isinstance(data, dict) else data

    @client.event
    def disconnect(reason=None):
        out({"type": "disconnect", "reason": str(reason)})

    return client


def main():
    client = None
    for line in sys.stdin:
        command = json.loads(line)
        kind = command["cmd"]
        if kind == "connect":
            client = make_client(command.get("serializer", "default"))
            try:
                client.connect(
                    command["url"],
                    auth=command.get("auth"),
                    transports=command["transports"],
                    wait_timeout=10,
                )
                if len(command["transports"]) > 1:
                    # Polling first, then the upgrade: report once it is done.
                    for _ in range(100):
                        if client.transport() == "websocket":
                            break
                        time.sleep(0.05)
                out({"type": "connect", "transport": client.transport()})
            except socketio.exceptions.ConnectionError as error:
                refusal = getattr(client, "refusal", None)
                out({"type": "connect_error", "data": str(refusal or error)})
        elif kind == "emit":
            def on_ack(*args, ack_id=command["id"]):
                out({"type": "ack", "id": ack_id, "data": args[0] if args else None})

            client.emit(command["event"], command.get("data"), callback=on_ack)
        elif kind == "close":
            if client is not None:
                client.disconnect()
            out({"type": "closed"})
            return


if __name__ == "__main__":
    main()
