"""lambent's python zygote: an interpreter with the runtime client imported that clones
sandboxed environments for the daemon and forks each one's runtime from itself, so that a cold
start skips the interpreter's start and the client's imports (SOCK's zygotes). The daemon starts
it as `python3 python/zygote.py` from the runtimes directory, with its socket as descriptor 3
and liblambent-zygote.so open as descriptor 4. The C++ half (src/init/zygote.cc) does the
cloning and the sandbox; this half keeps python's own fork bookkeeping right and becomes the
runtime. It holds nothing of any function: everything a function brings arrives after the fork,
inside the environment."""

import ctypes
import gc
import os
import sys
import types

_SOCKET = 3
_RUNTIME_DIR = "/var/runtime/python"


def _load_runtime_client():
    """Imports lambent_runtime as the environments see it: a traceback through it names
    /var/runtime, not where the daemon keeps it."""
    with open(os.path.join("python", "lambent_runtime.py"), "rb") as f:
        source = f.read()
    path = _RUNTIME_DIR + "/lambent_runtime.py"
    module = types.ModuleType("lambent_runtime")
    module.__file__ = path
    sys.modules["lambent_runtime"] = module
    exec(compile(source, path, "exec"), module.__dict__)
    return module


def _take_environment():
    """The C half set the environment's variables in libc's environ; os.environ is a copy
    python made at its start."""
    pointer = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), "environ")
    data = os.environ._data
    data.clear()
    i = 0
    while pointer[i] is not None:
        key, _, value = pointer[i].partition(b"=")
        if key and key not in data:
            data[key] = value
        i += 1


def main():
    runtime = _load_runtime_client()
    # Everything imported so far goes out of the collector's reach: a collection in a forked
    # runtime would otherwise touch every object, and copy every page, of the zygote's heap.
    gc.collect()
    gc.freeze()
    lib = ctypes.PyDLL("/proc/self/fd/4")
    os.close(4)
    before, parent, child = (ctypes.pythonapi.PyOS_BeforeFork, ctypes.pythonapi.PyOS_AfterFork_Parent,
                             ctypes.pythonapi.PyOS_AfterFork_Child)
    while True:
        received = lib.lambent_zygote_next(_SOCKET)
        if received == 0:
            os._exit(0)  # the daemon is gone
        if received < 0:
            continue
        before()
        spawned = lib.lambent_zygote_spawn(_SOCKET)
        if spawned == 1:
            child()
            break
        parent()
        if spawned < 0:
            os._exit(0)
    # The runtime of one environment, from here on as if started by bootstrap.py.
    import _ctypes
    _ctypes.dlclose(lib._handle)
    _take_environment()
    sys.argv[:] = [_RUNTIME_DIR + "/bootstrap.py"]
    sys.path[0] = _RUNTIME_DIR
    runtime._read_function_env()
    runtime.main()


if __name__ == "__main__":
    main()
