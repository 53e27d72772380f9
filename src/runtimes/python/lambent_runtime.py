"""lambent built-in Python runtime bootstrap (Lambda Runtime API client).

Run as:  python3 bootstrap.py          (Python 3.9+, standard library only)
with the working directory set to LAMBDA_TASK_ROOT and the environment Lambda sets:
  AWS_LAMBDA_RUNTIME_API   host:port of the Runtime API (required)
  _HANDLER                 "module.function"; the module may be a path: "dir/sub/app.handler"
  LAMBDA_TASK_ROOT         the code directory (default: the working directory)
  AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_STREAM_NAME   copied into the context object
  AWS_LAMBDA_LOG_LEVEL     optional root logger level (default WARNING, like Python)
  AWS_LAMBDA_LOG_FORMAT    "JSON": root-logger records and errors as Lambda's JSON lines

It mirrors AWS's Python runtime client (awslambdaric): the handler is imported once, then the
process loops GET /runtime/invocation/next -> handler(event, context) -> POST .../response or
.../error. Init failures are POSTed to /runtime/init/error and the process exits with status 1.

Output: the function's stdout/stderr are passed through; stdout is line-buffered and both are
flushed before every response/error is posted, so a reader of the pipes sees an invocation's
output before its result. Root-logger records are written to stdout as
"[LEVEL]\\t2024-01-01T00:00:00.000Z\\t<request id>\\t<message>". Handler and init errors are
also written to stderr as "[ERROR] <errorType>: <errorMessage>" plus the traceback.
With AWS_LAMBDA_LOG_FORMAT=JSON (LoggingConfig LogFormat JSON) records are one JSON object a
line, as awslambdaric writes them: {"timestamp", "level", "message", "logger", "requestId"},
with "errorType", "errorMessage", "stackTrace" and "location" for a record with an exception
and the record's extra attributes; errors are {"timestamp", "level": "ERROR", "errorMessage",
"errorType", "requestId", "stackTrace"}. print() output stays as it is.

The Runtime API is spoken over ONE persistent HTTP/1.1 keep-alive connection with a small
built-in client (http.client costs ~10 ms of imports at cold start and parses headers with
the email package); it handles Content-Length, chunked and close-delimited responses and
reconnects when the daemon closes the connection.
"""

import _socket  # socket.py's enum conversions cost ~3 ms of every cold start
import io
import json
import os
import sys
import time

_THIS_FILE = os.path.abspath(__file__)
_API_PREFIX = b"/2018-06-01/runtime"

# --------------------------------------------------------------------------------------------
# Runtime API client: one keep-alive connection, one request at a time.
# --------------------------------------------------------------------------------------------


class RuntimeAPIError(Exception):
    pass


def _numeric_family(host):
    for family in (_socket.AF_INET, _socket.AF_INET6):
        try:
            _socket.inet_pton(family, host)
            return family
        except (OSError, ValueError):
            pass
    return None


class _SocketReader(io.RawIOBase):
    """The read side of a connected socket, for io.BufferedReader (socket.makefile without
    importing socket.py)."""

    def __init__(self, sock):
        self._sock = sock

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._sock.recv_into(buffer)


class RuntimeClient(object):
    def __init__(self, address):
        host, sep, port = address.rpartition(":")
        if not sep:
            host, port = address, "80"
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        self._addr = (host or "127.0.0.1", int(port))
        self._host_header = address.encode("latin-1")
        self._sock = None
        self._rfile = None
        self._prefix = b"Host: " + self._host_header + b"\r\n"

    def _connect(self):
        host, port = self._addr
        family = _numeric_family(host)
        if family is None:  # a name: resolve it the ordinary way
            import socket
            sock = socket.create_connection(self._addr)
        else:
            sock = _socket.socket(family, _socket.SOCK_STREAM)
            try:
                sock.connect((host, port))
            except OSError:
                sock.close()
                raise
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        self._sock = sock
        self._rfile = io.BufferedReader(_SocketReader(sock), 65536)

    def close(self):
        if self._rfile is not None:
            try:
                self._rfile.close()
            except OSError:
                pass
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._rfile = None

    def request(self, method, path, body=None, headers=b""):
        """Sends one request; returns (status, {lower-case name: bytes value}, body bytes)."""
        head = method + b" " + path + b" HTTP/1.1\r\n" + self._prefix + headers
        if body is not None:
            head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        head += b"\r\n"
        for attempt in (0, 1):
            reused = self._sock is not None
            if not reused:
                self._connect()
            try:
                if body is None:
                    self._sock.sendall(head)
                elif len(body) < 65536:
                    self._sock.sendall(head + body)
                else:
                    self._sock.sendall(head)
                    self._sock.sendall(body)
                return self._read_response()
            except (ConnectionError, RuntimeAPIError, OSError) as e:
                self.close()
                # A keep-alive connection the daemon closed while idle: retry once on a new one.
                if attempt or not reused or (isinstance(e, RuntimeAPIError) and e.args[1]):
                    raise

    def _read_response(self):
        rfile = self._rfile
        while True:
            line = rfile.readline(65537)
            if not line:
                raise RuntimeAPIError("Runtime API closed the connection", False)
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
                raise RuntimeAPIError("bad status line from Runtime API: %r" % line[:200], True)
            status = int(parts[1])
            headers = {}
            while True:
                h = rfile.readline()
                if h == b"\r\n" or h == b"\n":
                    break
                if not h:
                    raise RuntimeAPIError("Runtime API closed the connection", True)
                name, _, value = h.partition(b":")
                name = name.strip().lower()
                value = value.strip()
                if name in headers:
                    headers[name] += b", " + value
                else:
                    headers[name] = value
            if 100 <= status < 200 and status != 101:
                continue  # interim response (100 Continue): the real one follows
            break

        close = parts[0] == b"HTTP/1.0" and b"keep-alive" not in headers.get(b"connection", b"").lower()
        if b"close" in headers.get(b"connection", b"").lower():
            close = True
        te = headers.get(b"transfer-encoding")
        if te is not None and b"chunked" in te.lower():
            chunks = []
            while True:
                size_line = rfile.readline()
                if not size_line:
                    raise RuntimeAPIError("truncated chunked body", True)
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while True:  # trailers
                        t = rfile.readline()
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                data = rfile.read(size)
                if len(data) != size:
                    raise RuntimeAPIError("truncated chunked body", True)
                chunks.append(data)
                rfile.readline()
            body = b"".join(chunks)
        elif b"content-length" in headers:
            n = int(headers[b"content-length"])
            body = rfile.read(n) if n else b""
            if len(body) != n:
                raise RuntimeAPIError("truncated body from Runtime API", True)
        elif status == 204 or status == 304:
            body = b""
        else:
            body = rfile.read()
            close = True
        if close:
            self.close()
        return status, headers, body


# --------------------------------------------------------------------------------------------
# Context object, as awslambdaric's LambdaContext.
# --------------------------------------------------------------------------------------------


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id, self.cognito_identity_pool_id)


class Client(object):
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code",
                 "app_package_name"]


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    get = d.get if isinstance(d, dict) else (lambda _k, _d=None: None)
    for field in cls.__slots__:
        setattr(obj, field, get(field, None))
    return obj


_ENV = os.environ


def _read_function_env():
    global _FUNCTION_NAME, _FUNCTION_VERSION, _MEMORY_SIZE, _LOG_GROUP, _LOG_STREAM
    _FUNCTION_NAME = _ENV.get("AWS_LAMBDA_FUNCTION_NAME")
    _FUNCTION_VERSION = _ENV.get("AWS_LAMBDA_FUNCTION_VERSION")
    # A string, as in AWS's runtime (awslambdaric reads the variable without converting it).
    _MEMORY_SIZE = _ENV.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    _LOG_GROUP = _ENV.get("AWS_LAMBDA_LOG_GROUP_NAME")
    _LOG_STREAM = _ENV.get("AWS_LAMBDA_LOG_STREAM_NAME")


_read_function_env()


class LambdaContext(object):
    def __init__(self, invoke_id, client_context, cognito_identity, deadline_ms,
                 invoked_function_arn):
        self.aws_request_id = invoke_id
        self.log_group_name = _LOG_GROUP
        self.log_stream_name = _LOG_STREAM
        self.function_name = _FUNCTION_NAME
        self.memory_limit_in_mb = _MEMORY_SIZE
        self.function_version = _FUNCTION_VERSION
        self.invoked_function_arn = invoked_function_arn
        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)
        identity = CognitoIdentity()
        if cognito_identity is not None:
            identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        else:
            identity.cognito_identity_id = None
            identity.cognito_identity_pool_id = None
        self.identity = identity
        self._epoch_deadline_time_in_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        delta = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta if delta > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return ("LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
                "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
                "invoked_function_arn=%s,client_context=%s,identity=%s])" % (
                    self.aws_request_id, self.log_group_name, self.log_stream_name,
                    self.function_name, self.memory_limit_in_mb, self.function_version,
                    self.invoked_function_arn, self.client_context, self.identity))


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class FaultException(Exception):
    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        Exception.__init__(self, msg)
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


def _make_error(message, error_type, stack_trace, request_id=""):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": stack_trace or [],
    }


def _fault_result(e, request_id=""):
    if isinstance(e, FaultException):
        return _make_error(e.msg, e.exception_type, e.trace, request_id)
    import traceback
    frames = traceback.extract_tb(e.__traceback__)
    # Drop the bootstrap's own frames at the top of the stack (as AWS does).
    i = 0
    while i < len(frames) and frames[i].filename == _THIS_FILE:
        i += 1
    return _make_error(str(e), type(e).__name__, traceback.format_list(frames[i:]), request_id)


def _log_error(error):
    if _JSON_LOGS:
        line = dict(timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), level="ERROR")
        line.update(error)
        try:
            sys.stderr.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        except Exception:
            pass
        return
    desc = "[ERROR]"
    if error["errorType"]:
        desc += " " + error["errorType"]
    if error["errorMessage"]:
        if error["errorType"]:
            desc += ":"
        desc += " " + error["errorMessage"]
    lines = [desc]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        for element in error["stackTrace"]:
            lines.extend(element.splitlines())
    try:
        sys.stderr.write("\n".join(lines) + "\n")
    except Exception:
        pass


def _to_json_bytes(obj):
    s = json.dumps(obj, ensure_ascii=False, default=_json_default)
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: fall back to \\u escapes
        return json.dumps(obj, default=_json_default).encode("ascii")


def _json_default(obj):
    import decimal
    if isinstance(obj, decimal.Decimal):  # e.g. DynamoDB numbers
        if obj.is_nan():
            return float("nan")
        if obj == obj.to_integral_value():
            return int(obj)
        return float(obj)
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


# --------------------------------------------------------------------------------------------
# Logging: root logger handler like AWS's LambdaLoggerHandler.
# --------------------------------------------------------------------------------------------

_request_id = ""
_JSON_LOGS = False  # AWS_LAMBDA_LOG_FORMAT=JSON, read once the function's environment is known


def _setup_logging():
    """Gives the root logger Lambda's format as soon as anything imports logging. Importing
    it costs ~9 ms, which a function that never logs should not pay at every cold start."""
    if "logging" in sys.modules:
        _configure_logging(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, _AfterImport("logging", _configure_logging))


class _AfterImport(object):
    """A meta-path finder that runs `then(module)` once `name` has been imported, and then
    steps aside."""

    def __init__(self, name, then):
        self._name = name
        self._then = then

    def find_spec(self, name, path=None, target=None):
        if name != self._name:
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _ThenLoader(spec.loader, self._then)
        return spec


class _ThenLoader(object):
    def __init__(self, loader, then):
        self._loader = loader
        self._then = then

    def __getattr__(self, attr):  # get_source, get_filename, ... for tracebacks and tools
        return getattr(self._loader, attr)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            self._then(module)
        except Exception as e:
            sys.stderr.write("lambent bootstrap: could not set up logging: %s\n" % e)


def _configure_logging(logging):
    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record):
            try:
                record.aws_request_id = _request_id
                sys.stdout.write(self.format(record))
            except Exception:
                self.handleError(record)

    logging.Formatter.converter = time.gmtime
    handler = LambdaLoggerHandler()
    if _JSON_LOGS:
        handler.setFormatter(_json_formatter(logging)())
    else:
        handler.setFormatter(logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    root.addHandler(handler)
    level = _ENV.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    level = {"TRACE": "DEBUG", "FATAL": "CRITICAL"}.get(level, level)
    if level in ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"):
        root.setLevel(level if level != "WARN" else "WARNING")


# A LogRecord's own attributes: everything else on a record (logging's `extra=`) is a field of
# its JSON line.
_RECORD_FIELDS = frozenset((
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated",
    "thread", "threadName", "processName", "process", "taskName", "aws_request_id", "message",
    "asctime"))


def _json_formatter(logging):
    """Lambda's JSON line for a root-logger record. Levels are rounded down to logging's named
    ones (a custom level 25 is INFO), as awslambdaric does."""
    import traceback as tb

    class JsonFormatter(logging.Formatter):
        def format(self, record):
            levelno = min(50, max(0, record.levelno)) // 10 * 10
            seconds = time.gmtime(record.created)
            line = {
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", seconds)
                + ".%03dZ" % int(record.msecs),
                "level": logging.getLevelName(levelno),
                "message": record.getMessage(),
                "logger": record.name,
            }
            exc = record.exc_info
            if exc and exc[0] is not None:
                line["stackTrace"] = tb.format_tb(exc[2])
                line["errorType"] = exc[0].__name__
                line["errorMessage"] = str(exc[1])
            line["requestId"] = getattr(record, "aws_request_id", None)
            if exc and exc[0] is not None:
                line["location"] = "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
            for key, value in record.__dict__.items():
                if key not in _RECORD_FIELDS and key not in line:
                    line[key] = value
            line = {k: v for k, v in line.items() if v is not None}
            return json.dumps(line, ensure_ascii=False, default=str) + "\n"

    return JsonFormatter


# --------------------------------------------------------------------------------------------
# Handler loading
# --------------------------------------------------------------------------------------------


def _setup_sys_path(task_root):
    here = os.path.dirname(_THIS_FILE)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    if "PYTHONPATH" not in _ENV:
        sys.path.insert(0, "/opt/python")
        sys.path.insert(0, "/opt/python/lib/python%d.%d/site-packages" % sys.version_info[:2])
    sys.path.insert(0, task_root)
    try:
        import site
        site.addsitedir(task_root)  # honours .pth files shipped with the code, as AWS does
    except Exception:
        pass


def _load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(FaultException.MALFORMED_HANDLER_NAME,
                             "Bad handler '%s': %s" % (handler, e))
    if not modname or not fname:
        raise FaultException(FaultException.MALFORMED_HANDLER_NAME,
                             "Bad handler '%s': empty module or function name" % handler)
    import importlib
    dotted = modname.replace("/", ".")
    if dotted.split(".")[0] in sys.builtin_module_names:
        raise FaultException(FaultException.BUILT_IN_MODULE_CONFLICT,
                             "Cannot use built-in module %s as a handler module" % modname)
    try:
        module = importlib.import_module(dotted)
    except ImportError as e:
        raise FaultException(FaultException.IMPORT_MODULE_ERROR,
                             "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(FaultException.USER_CODE_SYNTAX_ERROR,
                             "Syntax error in module '%s': %s" % (modname, e), trace)
    try:
        func = getattr(module, fname)
    except AttributeError:
        raise FaultException(FaultException.HANDLER_NOT_FOUND,
                             "Handler '%s' missing on module '%s'" % (fname, modname))
    if not callable(func):
        raise FaultException(FaultException.HANDLER_NOT_FOUND,
                             "Handler '%s' on module '%s' is not callable" % (fname, modname))
    return func


# --------------------------------------------------------------------------------------------
# Main loop
# --------------------------------------------------------------------------------------------

_SAFE_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _id_path(request_id):
    if all(c in _SAFE_ID_CHARS for c in request_id):
        return request_id.encode("ascii")
    return "".join(c if c in _SAFE_ID_CHARS else "".join("%%%02X" % b for b in c.encode("utf-8"))
                   for c in request_id).encode("ascii")


def _header_value(s):
    return "".join(c for c in s if " " <= c <= "~").encode("ascii")


def _flush():
    try:
        sys.stdout.flush()
    except Exception:
        pass
    try:
        sys.stderr.flush()
    except Exception:
        pass


def _init_error(client, error):
    _log_error(error)
    _flush()
    try:
        client.request(b"POST", _API_PREFIX + b"/init/error", _to_json_bytes(error),
                       b"Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: "
                       + _header_value(error["errorType"]) + b"\r\n")
    except Exception as e:
        sys.stderr.write("lambent bootstrap: could not post init error: %s\n" % e)
    sys.exit(1)


def _await_assignment(client):
    """In an environment lambent started before it had a function (LAMBENT_AWAIT_ASSIGNMENT=1),
    waits for one: the daemon answers once the function's code is at LAMBDA_TASK_ROOT, with the
    function's environment variables. Everything above was imported by then; the function's
    code only after."""
    if _ENV.get("LAMBENT_AWAIT_ASSIGNMENT") != "1":
        return
    status, _headers, body = client.request(b"GET", b"/lambent/v1/runtime/assignment")
    if status != 200:
        sys.stderr.write("lambent bootstrap: no function assigned (%d): %r\n" % (status, body[:500]))
        sys.exit(2)
    del _ENV["LAMBENT_AWAIT_ASSIGNMENT"]
    for key, value in json.loads(body)["Environment"].items():
        _ENV[key] = value
    os.chdir(_ENV.get("LAMBDA_TASK_ROOT") or "/var/task")
    _read_function_env()


def main():
    global _request_id, _JSON_LOGS
    api = _ENV.get("AWS_LAMBDA_RUNTIME_API")
    if not api:
        sys.stderr.write("lambent bootstrap: AWS_LAMBDA_RUNTIME_API is not set\n")
        sys.exit(2)
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except Exception:
        pass
    client = RuntimeClient(api)
    _await_assignment(client)
    _JSON_LOGS = _ENV.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
    task_root = _ENV.get("LAMBDA_TASK_ROOT") or os.getcwd()

    try:
        _setup_sys_path(task_root)
        _setup_logging()
        handler = _load_handler(_ENV.get("_HANDLER", ""))
    except Exception as e:
        _init_error(client, _fault_result(e))
        return

    request = client.request
    next_path = _API_PREFIX + b"/invocation/next"
    inv_prefix = _API_PREFIX + b"/invocation/"
    environ = os.environ
    loads = json.loads

    while True:
        _flush()  # init output, and anything background threads printed
        status, headers, body = request(b"GET", next_path)
        if status != 200:
            raise RuntimeAPIError("GET /runtime/invocation/next returned %d: %r"
                                  % (status, body[:500]), False)
        request_id = headers.get(b"lambda-runtime-aws-request-id", b"").decode("latin-1")
        _request_id = request_id
        trace_id = headers.get(b"lambda-runtime-trace-id")
        if trace_id is not None:
            environ["_X_AMZN_TRACE_ID"] = trace_id.decode("latin-1")
        elif "_X_AMZN_TRACE_ID" in environ:
            del environ["_X_AMZN_TRACE_ID"]

        error = None
        try:
            client_context = headers.get(b"lambda-runtime-client-context")
            cognito = headers.get(b"lambda-runtime-cognito-identity")
            try:
                client_context = loads(client_context) if client_context else None
                cognito = loads(cognito) if cognito else None
            except ValueError as e:
                raise FaultException(FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
                                     "Unable to parse Client Context or Cognito Identity JSON: %s" % e)
            deadline = headers.get(b"lambda-runtime-deadline-ms")
            arn = headers.get(b"lambda-runtime-invoked-function-arn")
            context = LambdaContext(request_id, client_context, cognito,
                                    int(deadline) if deadline else 0,
                                    arn.decode("latin-1") if arn is not None else None)

            if not body.strip():
                event = {}
            else:
                content_type = headers.get(b"content-type", b"application/json")
                try:
                    event = loads(body)
                except ValueError as e:
                    if b"json" in content_type:
                        raise FaultException(FaultException.UNMARSHAL_ERROR,
                                             "Unable to unmarshal input: %s" % e)
                    event = body  # not JSON and not declared JSON: raw bytes, as AWS does

            result = handler(event, context)

            if isinstance(result, (bytes, bytearray)):
                payload, content_type = bytes(result), b"application/unknown"
            else:
                try:
                    payload, content_type = _to_json_bytes(result), b"application/json"
                except Exception as e:
                    raise FaultException(FaultException.MARSHAL_ERROR,
                                         "Unable to marshal response: %s" % e)
        except Exception as e:
            error = _fault_result(e, request_id)
            _log_error(error)

        _flush()
        if error is None:
            request(b"POST", inv_prefix + _id_path(request_id) + b"/response", payload,
                    b"Content-Type: " + content_type + b"\r\n")
        else:
            request(b"POST", inv_prefix + _id_path(request_id) + b"/error", _to_json_bytes(error),
                    b"Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: "
                    + _header_value(error["errorType"]) + b"\r\n")
        # 202 expected; 400/403/413 mean the daemon rejected the result (bad id, already
        # answered, too large): it reports that to the invoker itself, so just go on.
        error = payload = result = event = context = None


if __name__ == "__main__":
    main()
