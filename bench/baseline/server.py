"""The direct baseline for the python rows: bench/handlers/python/handler.py behind one loopback
HTTP/1.1 keep-alive hop, no platform. Like the runtime it decodes the JSON event, calls
handler(event, context) and encodes the result. Raw sockets (as lambent's python bootstrap
uses), one thread per connection.

    python3 server.py PORT MODULE_DIR HANDLER      e.g. server.py 9102 ../handlers/python noop
"""
import json
import socket
import sys
import threading


class Context(object):
    aws_request_id = "baseline"
    function_name = "baseline"

    def get_remaining_time_in_millis(self):
        return 3000


def serve(sock, handler):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rfile = sock.makefile("rb")
    context = Context()
    try:
        while True:
            line = rfile.readline(65537)
            if not line:
                return
            length = 0
            close = False
            while True:
                h = rfile.readline(65537)
                if h in (b"\r\n", b"\n", b""):
                    break
                name, _, value = h.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and b"close" in value.lower():
                    close = True
            body = rfile.read(length) if length else b""
            event = json.loads(body) if body else {}
            out = json.dumps(handler(event, context)).encode()
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(out)).encode() + (b"\r\nConnection: close" if close else b"")
                         + b"\r\n\r\n" + out)
            if close:
                return
    except (ConnectionError, OSError):
        pass
    finally:
        sock.close()


def main():
    port, module_dir, handler_name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    sys.path.insert(0, module_dir)
    import handler as module
    handler = getattr(module, handler_name)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve, args=(sock, handler), daemon=True).start()


if __name__ == "__main__":
    main()
