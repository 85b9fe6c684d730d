"""Run programs under libconcwatch.so and read back their JSON reports.

Every integration test goes through run(): it sets LD_PRELOAD and CONCWATCH_OPTIONS, gives
each run its own JSON path, enforces a timeout (a program that hangs is killed, and the test
sees timed_out=True), and parses the report the way a CI job would.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

BUILD = os.environ.get("CONCWATCH_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
SOURCE = os.environ.get("CONCWATCH_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
LIB = os.path.abspath(os.path.join(BUILD, "libconcwatch.so"))
SAMPLING_OFF = "concwatch: warning: race sampling is off: "


class Run:
    def __init__(self, proc_rc, stdout, stderr, reports, timed_out):
        self.rc = proc_rc
        self.stdout = stdout
        self.stderr = stderr
        self.reports = reports  # path -> parsed document
        self.timed_out = timed_out

    @property
    def report(self):
        """The one JSON document of a single-process run."""
        assert len(self.reports) == 1, f"expected one report, got {list(self.reports)}"
        return next(iter(self.reports.values()))

    def findings(self, kind=None):
        out = []
        for doc in self.reports.values():
            out += [f for f in doc["findings"] if kind is None or f["kind"] == kind]
        return out


def run(argv, options="", timeout=60, json_name="report.json", env=None, preload=True):
    """Run argv under concwatch; json_name may contain %p (one file per process)."""
    workdir = tempfile.mkdtemp(prefix="concwatch-test-")
    json_path = os.path.join(workdir, json_name)
    full_env = dict(os.environ)
    full_env.pop("CONCWATCH_OPTIONS", None)
    if preload:
        full_env["LD_PRELOAD"] = LIB
    full_env["CONCWATCH_OPTIONS"] = f"json={json_path} {options}".strip()
    if env:
        full_env.update(env)
    timed_out = False
    try:
        proc = subprocess.run(argv, env=full_env, capture_output=True, text=True,
                              timeout=timeout, cwd=workdir)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        timed_out = True
        rc = None
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
    reports = {}
    try:
        for name in sorted(os.listdir(workdir)):
            if name.endswith(".json"):
                with open(os.path.join(workdir, name)) as f:
                    reports[name] = json.load(f)  # must always be valid JSON
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return Run(rc, out, err, reports, timed_out)


def without_sampling_notice(stderr):
    """stderr without the line saying that race sampling is unavailable on this machine."""
    return "".join(l for l in stderr.splitlines(True) if not l.startswith(SAMPLING_OFF))


def fixture(name):
    return os.path.join(BUILD, "fixtures", name)


def example(name):
    return os.path.join(BUILD, "examples", name)


def marker_line(source_file, marker):
    """Line number of the source line carrying the comment marker (e.g. '@ab-request')."""
    with open(source_file) as f:
        for number, line in enumerate(f, 1):
            if re.search(re.escape(marker) + r"\b", line):
                return number
    raise AssertionError(f"marker {marker} not in {source_file}")


def fixture_source(name):
    return os.path.join(SOURCE, "tests", "fixtures", name + ".c")


def stack(finding, index):
    return finding["stacks"][index]["frames"]


def lock_names(finding):
    """Sorted names of the locks (globals have names; a heap lock's name is None)."""
    return sorted((l["name"] for l in finding["locks"]), key=lambda n: (n is None, n or ""))


def first_frame_where(frames):
    """'file.c:line' of the innermost frame, for messages."""
    f = frames[0]
    return f"{os.path.basename(f['file'] or '?')}:{f['line']}"


class ConcwatchTestCase(unittest.TestCase):
    def assertFrame(self, frames, function, source, line, msg=None):
        """The innermost frame is `function` at source:line."""
        self.assertTrue(frames, msg or "empty stack")
        top = frames[0]
        self.assertEqual(top["function"], function, msg)
        self.assertEqual(os.path.basename(top["file"] or ""), os.path.basename(source), msg)
        self.assertEqual(top["line"], line, msg)
        self.assertTrue(top["module"], "frame without module")
        self.assertRegex(top["pc"], r"^0x[0-9a-f]+$")

    def assertHasFrame(self, frames, function, source=None, line=None):
        for f in frames:
            if f["function"] == function and (source is None or os.path.basename(f["file"] or "") == os.path.basename(source)) \
                    and (line is None or f["line"] == line):
                return
        self.fail(f"no frame {function} {source}:{line} in {[ (f['function'], f['line']) for f in frames]}")

    def assertClean(self, r, rc=0):
        """No finding, no output from concwatch, the program's own exit status. The one line
        saying that race sampling is unavailable on this machine is about the machine, not the
        program: it is allowed here (test_sampling fails on such a machine instead)."""
        self.assertFalse(r.timed_out, "program hung")
        self.assertEqual(r.findings(), [], r.stderr)
        self.assertNotIn("concwatch", without_sampling_notice(r.stderr))
        self.assertEqual(r.rc, rc, r.stderr)


def example_expectations(path):
    """[(kind, {key: value})] from an example's ' * EXPECT: kind key=value' lines, and whether
    it says ' * HANGS: yes'."""
    expected, hangs = [], False
    with open(path) as f:
        for line in f:
            m = re.search(r"EXPECT:\s*(\S+)(.*)$", line)
            if m and m.group(1) != "none":
                attrs = dict(kv.split("=", 1) for kv in m.group(2).split())
                expected.append((m.group(1), attrs))
            if re.search(r"HANGS:\s*yes", line):
                hangs = True
    return expected, hangs
