"""The chapter's C examples (built with plain gcc), each run under concwatch and checked against
the EXPECT lines at the top of its source: every kind of finding, and the exit status.

Data races in these uninstrumented programs are found by sampling (hardware watchpoints), which
is statistical: an example that expects a data race is run again, up to RACE_TRIES times, until
the race shows; every other expectation must hold in the run that is checked."""
import glob
import os
import unittest

from harness import SOURCE, ConcwatchTestCase, example, example_expectations, lock_names, run

IMPLEMENTED_KINDS = {"lock-order-inversion", "deadlock", "lock-misuse", "data-race"}
RACE_TRIES = 5
TIMEOUT = 30  # a program that really deadlocks must end by itself well before this


def lock_display_names(finding):
    return sorted(n for n in lock_names(finding) if n)


class Examples(ConcwatchTestCase):
    pass


def make_test(source):
    name = os.path.splitext(os.path.basename(source))[0]
    expected, hangs = example_expectations(source)

    def test(self):
        wants_race = any(k == "data-race" for k, _ in expected)
        for _ in range(RACE_TRIES if wants_race else 1):
            r = run([example(name)], "deadlock_timeout_ms=300", timeout=TIMEOUT)
            if r.findings("data-race") or r.timed_out:
                break
        # A program that hangs natively must be ended by concwatch, with its deadlock report.
        self.assertFalse(r.timed_out, f"{name} hung under concwatch")
        for kind in IMPLEMENTED_KINDS:
            wanted = [attrs for k, attrs in expected if k == kind]
            found = r.findings(kind)
            self.assertEqual(len(found), len(wanted), f"{name}: {kind}: {r.stderr}")
            for attrs, finding in zip(wanted, found):
                if "locks" in attrs:
                    self.assertEqual(lock_display_names(finding), sorted(attrs["locks"].split(",")))
                if "var" in attrs:
                    self.assertEqual(finding["location"]["name"], attrs["var"])
        implemented_expected = [k for k, _ in expected if k in IMPLEMENTED_KINDS]
        if hangs:
            self.assertEqual(r.rc, 67, r.stderr)
        else:
            self.assertEqual(r.rc, 66 if implemented_expected else 0, r.stderr)
        if not expected:
            self.assertClean(r)
    test.__name__ = f"test_{name}"
    return test


for _source in sorted(glob.glob(os.path.join(SOURCE, "examples", "*.c"))):
    _test = make_test(_source)
    setattr(Examples, _test.__name__, _test)


class ExampleSet(unittest.TestCase):
    def test_examples_exist_with_expectations(self):
        sources = glob.glob(os.path.join(SOURCE, "examples", "*.c"))
        self.assertGreaterEqual(len(sources), 10)
        for s in sources:
            with open(s) as f:
                self.assertIn("EXPECT:", f.read(), s)


if __name__ == "__main__":
    unittest.main()
