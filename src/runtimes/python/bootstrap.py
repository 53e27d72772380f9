"""lambent built-in Python runtime bootstrap: `python3 bootstrap.py`. The client itself is in
lambent_runtime.py; a module, unlike a script, is loaded from its compiled .pyc (built with
lambent), which saves compiling it at every cold start."""

import lambent_runtime

if __name__ == "__main__":
    lambent_runtime.main()
