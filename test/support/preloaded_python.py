"""Runs Python programs as `python3 <args>` runs them, each in a process of its own, forked from this one after it
has imported the modules named on its command line: a test file that runs several programs importing torch pays
for the import once (about 3 s of CPU) instead of once per program. Each run starts from the same state, this
process's just after those imports, and nothing a run does reaches the next one.

Requests on stdin, one JSON object per line: {"args": [...], "env": {...}, "timeout": seconds}; args as after
`python3` (a script path and its arguments, or "-c", code and its arguments). Answers on stdout, one per request:
{"status": exit code or null, "signal": name or null, "stdout": ..., "stderr": ...}. The first line is
{"ready": true} once the imports are done; a failed import is printed to stderr and exits 1. Exits when stdin
closes, so it goes with the test process that holds the other end.
"""

import importlib
import json
import os
import runpy
import signal
import sys
import tempfile
import traceback


def exit_code(e: SystemExit) -> int:
    """What the interpreter exits with for an uncaught SystemExit."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    print(e.code, file=sys.stderr)
    return 1


def run_program(request: dict, out_path: str, err_path: str) -> None:
    """In the forked child: the program with its own argv, environment and output files; never returns."""
    for fd, path in ((1, out_path), (2, err_path)):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(f, fd)
        os.close(f)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stdin = open(os.devnull)
    os.environ.clear()
    os.environ.update(request["env"])
    if request.get("timeout"):
        signal.alarm(int(request["timeout"]))
    args = request["args"]
    code = 0
    try:
        if args[0] == "-c":
            sys.argv = ["-c", *args[2:]]
            sys.path[0] = ""
            exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv = list(args)
            sys.path[0] = os.path.dirname(os.path.abspath(args[0]))
            runpy.run_path(args[0], run_name="__main__")
    except SystemExit as e:
        code = exit_code(e)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def main() -> None:
    for module in sys.argv[1:]:
        importlib.import_module(module)
    answers = sys.stdout
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in sys.stdin:
        request = json.loads(line)
        with tempfile.TemporaryDirectory(prefix="preloaded-python-") as folder:
            out_path, err_path = os.path.join(folder, "stdout"), os.path.join(folder, "stderr")
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                run_program(request, out_path, err_path)
            _, status = os.waitpid(pid, 0)
            answer = {
                "status": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                "signal": signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else None,
                "stdout": read(out_path),
                "stderr": read(err_path),
            }
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
