"""Data races in programs built with plain gcc, found by sampled hardware watchpoints
(tests/fixtures/sampled.c, examples/counter_race.c), asserted on the JSON report.

Sampling is statistical: a positive case is rerun until the race is reported, at most
POSITIVE_TRIES times (the measured rates are in docs/performance.md); a negative case is run
NEGATIVE_RUNS times and must never be reported. The machine must offer hardware watchpoints:
if it does not, the positive tests fail with concwatch's own explanation (they are not skipped),
so a CI runner without them shows up instead of passing silently.
"""
import os
import unittest

from harness import SAMPLING_OFF, ConcwatchTestCase, example, fixture, fixture_source, marker_line, run, stack

SAMPLED = fixture("sampled")
SOURCE = fixture_source("sampled")
NO_PERF = fixture("no_perf")
POSITIVE_TRIES = 5
NEGATIVE_RUNS = 3
OFF_WARNING = SAMPLING_OFF


def races(r):
    return r.findings("data-race")


def run_until_race(test, argv, options=""):
    """The first run (of POSITIVE_TRIES) that reports a data race, and its finding."""
    last = None
    for _ in range(POSITIVE_TRIES):
        last = run(argv, options, timeout=60)
        test.assertFalse(last.timed_out, "program hung")
        test.assertNotIn(OFF_WARNING, last.stderr, "hardware watchpoints are not usable on this machine")
        found = races(last)
        if found:
            test.assertEqual(len(found), 1, "one race, reported once")
            return last, found[0]
    test.fail(f"no data race reported in {POSITIVE_TRIES} runs of {argv}: {last.stderr}")


class SampledRaces(ConcwatchTestCase):
    def check_sides(self, finding, function, line):
        """Both accesses: the racing statement, different threads, at least one write, not atomic."""
        accesses = finding["accesses"]
        self.assertEqual(len(accesses), 2)
        self.assertNotEqual(accesses[0]["thread"], accesses[1]["thread"])
        self.assertIn("write", [a["type"] for a in accesses])
        for a in accesses:
            self.assertFalse(a["atomic"])
            self.assertEqual(a["locks_held"], [])
            self.assertFrame(stack(finding, a["stack"]), function, SOURCE, line)
            self.assertTrue(any(t["id"] == a["thread"] for t in finding["threads"]))

    def test_global_counter(self):
        r, f = run_until_race(self, [SAMPLED, "global"])
        self.assertTrue(f["sampled"])
        self.assertEqual(f["location"]["kind"], "global")
        self.assertEqual(f["location"]["name"], "hits")
        self.assertEqual(f["size"], 8)
        self.check_sides(f, "bump_global", marker_line(SOURCE, "@global-race"))
        self.assertIn("data-race", r.stderr)
        self.assertIn("Caught in the act by sampling", r.stderr)
        self.assertEqual(r.rc, 66, "a finding makes the exit status 66")

    def test_heap_field(self):
        r, f = run_until_race(self, [SAMPLED, "heap", "1"])
        block = int(r.stdout.split("block at ")[1].split()[0], 16)
        self.assertTrue(f["sampled"])
        loc = f["location"]
        self.assertEqual(loc["kind"], "heap")
        self.assertEqual(loc["offset"], 8)
        self.assertEqual(loc["block_size"], 24)
        self.assertEqual(int(f["address"], 16), block + 8)
        self.assertFrame(stack(f, loc["block_stack"]), "main", SOURCE, marker_line(SOURCE, "@heap-alloc"))
        self.check_sides(f, "bump_errors", marker_line(SOURCE, "@heap-race"))

    def test_chapter_counter(self):
        r, f = run_until_race(self, [example("counter_race")])
        self.assertEqual(f["location"]["name"], "counter")
        self.assertTrue(f["sampled"])
        for a in f["accesses"]:
            self.assertEqual(stack(f, a["stack"])[0]["function"], "increment")

    def test_correct_programs_are_clean(self):
        """Correct synchronization, including what no interposer sees (atomics, a spin flag)."""
        for mode in ("mutex", "atomic", "spin", "private", "readonly", "adjacent", "churn"):
            for _ in range(NEGATIVE_RUNS):
                with self.subTest(mode=mode):
                    self.assertClean(run([SAMPLED, mode], timeout=60))

    def test_fixed_counter_is_clean(self):
        for _ in range(NEGATIVE_RUNS):
            self.assertClean(run([example("counter_mutex")], timeout=60))

    def test_forked_child_samples_again(self):
        """Sampling was running in the parent; the forked child starts its own and finds its race."""
        for _ in range(POSITIVE_TRIES):
            r = run([SAMPLED, "fork"], json_name="report.%p.json", timeout=60)
            self.assertFalse(r.timed_out, "fork: hung")
            child = int(r.stdout.split("child ")[1].split()[0])
            parent = int(r.stdout.split("parent ")[1].split()[0])
            # The child writes its report with its first finding: none in a run that missed.
            self.assertLessEqual(set(r.reports), {f"report.{parent}.json", f"report.{child}.json"})
            self.assertEqual(r.reports[f"report.{parent}.json"]["findings"], [], "the parent is correct")
            found = r.reports.get(f"report.{child}.json", {"findings": []})["findings"]
            if found:
                self.assertEqual([f["kind"] for f in found], ["data-race"])
                self.assertEqual(found[0]["location"]["name"], "hits")
                self.assertEqual(found[0]["pid"], child)
                self.assertIn("child status 66", r.stdout)
                return
        self.fail(f"no race in the forked child in {POSITIVE_TRIES} runs: {r.stderr}")

    def test_started_through_the_loader(self):
        """`ld.so ./prog`: /proc/self/exe is the loader, yet the program's globals and lines are found."""
        loader = "/lib64/ld-linux-x86-64.so.2"
        if not os.path.exists(loader):
            self.fail(f"{loader} missing: this test is for x86-64 glibc systems")
        r, f = run_until_race(self, [loader, SAMPLED, "global"])
        self.assertEqual(f["location"]["name"], "hits")
        self.check_sides(f, "bump_global", marker_line(SOURCE, "@global-race"))

    def test_program_using_sigtrap_itself(self):
        """Sampling signals with SIGTRAP; a program that handles and resets SIGTRAP while it
        runs sees exactly what it would without concwatch, and the race is still found."""
        r, f = run_until_race(self, [SAMPLED, "sigtrap"])
        self.assertIn("SIGTRAP was default: 1", r.stdout)
        self.assertIn("handler saw 2, default again: 1", r.stdout)
        self.assertEqual(f["location"]["name"], "hits")
        self.assertEqual(r.rc, 66)

    def test_stats_line(self):
        """race_sample_stats=1: one line at exit with the counters of what sampling did."""
        r = run([SAMPLED, "private", "0.2"], "race_sample_stats=1")
        lines = [l for l in r.stderr.splitlines() if l.startswith("concwatch: race sampling stats: ")]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertRegex(lines[0], r"rounds [1-9]\d* .*moves [1-9]\d* .*traps [1-9]\d* .*sampler cpu ")
        self.assertEqual(r.findings(), [])
        self.assertEqual(r.rc, 0)

    def test_off_by_option(self):
        r = run([SAMPLED, "global", "0.1"], "race_sampling=0")
        self.assertClean(r)


class Unavailable(ConcwatchTestCase):
    """perf_event_open refused (a seccomp filter, as in containers): one line says why, the
    program runs as usual, the other detectors still work."""

    def check_off(self, r, reason):
        self.assertFalse(r.timed_out)
        lines = [l for l in r.stderr.splitlines() if l.startswith(OFF_WARNING)]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(reason, lines[0])
        self.assertIn("the other detectors keep running", lines[0])

    def test_refused(self):
        r = run([NO_PERF, SAMPLED, "global", "0.1"])
        self.check_off(r, "perf_event_open is not permitted")
        self.assertEqual(r.findings(), [])
        self.assertEqual(r.rc, 0)
        self.assertRegex(r.stdout, r"hits \d+")

    def test_missing_syscall_keeps_lock_order(self):
        r = run([NO_PERF, "ENOSYS", fixture("ab_ba")])
        self.check_off(r, "perf_event_open is not available")
        self.assertEqual(len(r.findings("lock-order-inversion")), 1)

    def test_program_handling_sigtrap_first(self):
        r = run([SAMPLED, "sigtrap-first", "0.1"])
        self.check_off(r, "the program handles SIGTRAP itself")
        self.assertIn("handler saw 1", r.stdout)
        self.assertEqual(r.findings(), [])
        self.assertEqual(r.rc, 0)

    def test_under_a_debugger(self):
        """A tracer (gdb, strace) sees every SIGTRAP first: sampling stays off and says why."""
        r = run([fixture("traced"), SAMPLED, "global", "0.1"])
        self.check_off(r, "a debugger or tracer is attached")
        self.assertRegex(r.stdout, r"hits \d+")
        self.assertEqual(r.findings(), [])
        self.assertEqual(r.rc, 0)

    def test_silent_when_switched_off(self):
        r = run([NO_PERF, SAMPLED, "global", "0.1"], "race_sampling=0")
        self.assertClean(r)


if __name__ == "__main__":
    unittest.main()
