"""The chapter's Python programs (examples/python/) run by CPython under the shim.

CPython's locks are POSIX semaphores inside the interpreter (threading.Lock is a sem_t; an
uncontended acquire is a sem_trywait, a contended one a sem_wait after a failed sem_trywait), so
the findings have no lock names; the stacks are the interpreter's own frames.

The interpreters are python3 from PATH and Debian's /usr/bin/python3 if that is another one. A
wrapper script in front of one (pyenv's shims) is resolved to the real executable first, so the
shim is preloaded into the interpreter, not into a shell."""
import glob
import os
import re
import shutil
import subprocess
import unittest

from harness import SOURCE, ConcwatchTestCase, run, stack, without_sampling_notice

PY_DIR = os.path.join(SOURCE, "examples", "python")
FAST = "deadlock_timeout_ms=300"
DEADLOCK_EXIT = 67


def resolve(path):
    """The interpreter executable behind path (a wrapper script such as a pyenv shim is asked
    for its sys.executable)."""
    try:
        with open(path, "rb") as f:
            is_script = f.read(2) == b"#!"
        if is_script:
            proc = subprocess.run([path, "-c", "import sys; print(sys.executable)"], capture_output=True,
                                  text=True, timeout=60)
            if proc.returncode == 0 and proc.stdout.strip():
                path = proc.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return os.path.realpath(path)


def find_pythons():
    """python3 from PATH, and Debian's /usr/bin/python3 when that is another interpreter (it is
    the one a fresh Debian 12 machine has: built with LTO, without symbols for its static
    functions, unlike a python built from source with a shared libpython)."""
    found = []
    for candidate in (shutil.which("python3"), "/usr/bin/python3"):
        if candidate and os.access(candidate, os.X_OK):
            real = resolve(candidate)
            if real and real not in found:
                found.append(real)
    return found


PYTHONS = find_pythons()
needs_python = unittest.skipUnless(PYTHONS, "python3 not found in PATH: the chapter's Python programs are not run")


def script(name):
    return os.path.join(PY_DIR, name)


def expectations(path):
    """(kinds, hangs) from the '# EXPECT: kind ...' and '# HANGS: yes' lines of a program."""
    kinds, hangs = [], False
    with open(path) as f:
        for text in f:
            m = re.match(r"#\s*EXPECT:\s*(\S+)", text)
            if m:
                kinds.append(m.group(1))
            hangs = hangs or bool(re.match(r"#\s*HANGS:\s*yes", text))
    return kinds, hangs


def interpreter_frame(frame):
    return "acquire" in frame["function"].lower() or "python" in (frame["module"] or "").lower()


@needs_python
class LockOrderInPython(ConcwatchTestCase):
    def test_deadlock_no_hang_has_one_inversion(self):
        for python in PYTHONS:
            with self.subTest(python=python):
                self.check_deadlock_no_hang(python)

    def check_deadlock_no_hang(self, python):
        r = run([python, script("deadlock_no_hang.py")], timeout=30)
        self.assertFalse(r.timed_out, r.stderr)
        self.assertEqual(r.rc, 66, r.stderr)
        # The program still runs to the end: both threads took both locks.
        self.assertEqual(len(r.stdout.splitlines()), 4, r.stdout)
        found = r.findings()
        self.assertEqual([f["kind"] for f in found], ["lock-order-inversion"], r.stderr)
        f = found[0]
        self.assertEqual(len(f["cycle"]), 2)
        self.assertEqual(len({e["thread"] for e in f["cycle"]}), 2, "two different threads")
        self.assertEqual(len(f["locks"]), 2)
        for l in f["locks"]:
            self.assertIsNone(l["name"], "interpreter locks live on the heap")
        for e in f["cycle"]:
            frames = stack(f, e["request_stack"])
            self.assertTrue(any(interpreter_frame(fr) for fr in frames),
                            f"no interpreter frame in {[(fr['function'], fr['module']) for fr in frames]}")

    def test_deadlock_ends_with_a_report(self):
        for python in PYTHONS:
            with self.subTest(python=python):
                self.check_deadlock(python)

    def check_deadlock(self, python):
        r = run([python, script("deadlock.py")], FAST, timeout=30)
        self.assertFalse(r.timed_out, f"deadlock.py still blocked after 30 s\n{r.stderr}")
        self.assertEqual(r.rc, DEADLOCK_EXIT, r.stderr)
        self.assertIn("concwatch: deadlock", r.stderr)
        # '# EXPECT: lock-order-inversion' and '# EXPECT: deadlock', in that order.
        self.assertEqual([f["kind"] for f in r.findings()], ["lock-order-inversion", "deadlock"], r.stderr)
        f = r.findings("deadlock")[0]
        self.assertEqual(f["reason"], "lock-cycle")
        # The two workers wait for each other's lock (main may wait too: it joins the first).
        waits = {w["thread"]: w for w in f["waits"] if w["waits_for"] == "lock"}
        pairs = [(t, w["held_by"]) for t, w in waits.items()]
        cycle = [t for t, held_by in pairs
                 if len(held_by) == 1 and held_by[0] in waits and waits[held_by[0]]["held_by"] == [t]
                 and held_by[0] != t]
        self.assertEqual(len(cycle), 2, f"no two threads waiting for each other: {f['waits']}")
        for t in cycle:
            frames = stack(f, waits[t]["stack"])
            self.assertTrue(any(interpreter_frame(fr) for fr in frames))


@needs_python
class CorrectPrograms(ConcwatchTestCase):
    """Every program marked '# EXPECT: none' gets no finding at all (in any process it starts)
    and its normal exit status, even with a deadlock timeout far shorter than its waits."""


@needs_python
class OtherPrograms(ConcwatchTestCase):
    """Programs that expect findings of kinds not covered here (data races): no deadlock and no
    misuse, and they end normally."""


def make_clean_test(path):
    def test(self):
        for python in PYTHONS:
            with self.subTest(python=python):
                r = run([python, path], FAST, timeout=60, json_name="report.%p.json")
                self.assertFalse(r.timed_out, f"{os.path.basename(path)} hung\n{r.stderr}")
                self.assertTrue(r.reports, "no report written")
                self.assertEqual(r.findings(), [], r.stderr)
                self.assertNotIn("concwatch", without_sampling_notice(r.stderr))
                self.assertEqual(r.rc, 0, r.stderr)
    return test


def make_other_test(path):
    def test(self):
        for python in PYTHONS:
            with self.subTest(python=python):
                r = run([python, path], FAST, timeout=60, json_name="report.%p.json")
                self.assertFalse(r.timed_out, r.stderr)
                self.assertEqual(r.findings("deadlock"), [], r.stderr)
                self.assertEqual(r.findings("lock-misuse"), [], r.stderr)
                self.assertIn(r.rc, (0, 66), r.stderr)
    return test


for _path in sorted(glob.glob(os.path.join(PY_DIR, "*.py"))):
    _name = "test_" + os.path.splitext(os.path.basename(_path))[0]
    _kinds, _hangs = expectations(_path)
    if _kinds == ["none"]:
        setattr(CorrectPrograms, _name, make_clean_test(_path))
    elif not _hangs and "deadlock" not in _kinds and "lock-order-inversion" not in _kinds:
        setattr(OtherPrograms, _name, make_other_test(_path))


class ProgramSet(unittest.TestCase):
    def test_programs_exist_with_expectations(self):
        paths = glob.glob(os.path.join(PY_DIR, "*.py"))
        for name in ("deadlock.py", "deadlock_no_hang.py", "thread_pool.py", "process_pool.py"):
            self.assertIn(os.path.join(PY_DIR, name), paths)
        for p in paths:
            self.assertTrue(expectations(p)[0], f"{p} has no EXPECT line")


if __name__ == "__main__":
    unittest.main()
