"""Real deadlocks end with a report instead of a hang (kind "deadlock"), and programs that only
block for a while are left alone.

Every fixture mode used here really blocks forever without concwatch (FixturesReallyBlock checks
that), so a test that sees the program end with deadlock_exitcode and a finding knows concwatch
ended it. The runs use deadlock_timeout_ms=300 to stay fast."""
import glob
import os
import re
import subprocess
import time
import unittest

from harness import (LIB, SOURCE, ConcwatchTestCase, example, example_expectations, fixture,
                     fixture_source, marker_line, run, stack)

SRC = fixture_source("deadlock")
HANG_TIMEOUT = 15         # a deadlock must be ended well before this (seconds)
FAST = "deadlock_timeout_ms=300"
DEADLOCK_EXIT = 67

REASONS = {"lock-cycle", "self-deadlock", "all-threads-blocked", "holder-gone"}
WAITS_FOR = {"lock", "condition", "semaphore", "barrier", "join"}
WAIT_FIELDS = {"thread", "waits_for", "lock", "mode", "object", "mutex", "target", "held_by", "stack",
               "holder_stacks"}


def line(marker):
    return marker_line(SRC, marker)


def printed_address(stdout, name):
    """The fixture prints 'name 0x...' for the object a test needs the address of."""
    m = re.search(rf"^{re.escape(name)} (0x[0-9a-f]+)$", stdout, re.M)
    assert m, f"fixture did not print the address of {name}: {stdout!r}"
    return int(m.group(1), 16)


class DeadlockTestCase(ConcwatchTestCase):
    def run_deadlock(self, mode, options=FAST, timeout=HANG_TIMEOUT, exit_status=DEADLOCK_EXIT):
        """Run a deadlock fixture mode; it must end by itself with the deadlock status and one
        well-formed deadlock finding, which is returned with the run."""
        r = run([fixture("deadlock"), mode], options, timeout=timeout)
        self.assertFalse(r.timed_out, f"{mode}: still blocked after {timeout} s: the deadlock was not "
                                      f"ended\nstderr: {r.stderr}")
        self.assertEqual(r.rc, exit_status, f"{mode}: exit status\nstderr: {r.stderr}")
        self.assertNotIn("not reached", r.stdout)
        found = r.findings("deadlock")
        self.assertEqual(len(found), 1, f"{mode}: deadlock findings\nstderr: {r.stderr}")
        self.assertIn("concwatch: deadlock", r.stderr)
        self.assertWellFormed(found[0])
        return r, found[0]

    def assertWellFormed(self, f):
        self.assertEqual(f["kind"], "deadlock")
        self.assertIn(f["reason"], REASONS)
        self.assertIsInstance(f["summary"], str)
        self.assertTrue(f["summary"])
        locks = {l["id"] for l in f["locks"]}
        threads = {t["id"] for t in f["threads"]}
        self.assertTrue(f["waits"], "no waits")
        for w in f["waits"]:
            self.assertLessEqual(WAIT_FIELDS, set(w), f"wait fields: {w}")
            self.assertIn(w["waits_for"], WAITS_FOR)
            self.assertIn(w["thread"], threads)
            for lock in (w["lock"], w["mutex"]):
                if lock is not None:
                    self.assertIn(lock, locks)
            if w["target"] is not None:
                self.assertIn(w["target"], threads)
            self.assertIn(w["mode"], {"read", "write", None})
            if w["object"] is not None:
                self.assertRegex(w["object"], r"^0x[0-9a-f]+$")
            self.assertIsInstance(w["held_by"], list)
            for t in w["held_by"]:
                self.assertIn(t, threads, "a holder missing from threads[]")
            # Indices may be null where a stack is unknown (docs/report-format.md); the tests
            # that need a particular stack assert it is there.
            indices = range(len(f["stacks"]))
            if w["stack"] is not None:
                self.assertIn(w["stack"], indices, "stack index out of range")
                blocked = f["stacks"][w["stack"]]
                self.assertEqual(blocked["role"], "blocked")
                self.assertEqual(blocked["thread"], w["thread"])
                self.assertTrue(blocked["frames"], "empty blocked stack")
            self.assertIsInstance(w["holder_stacks"], list)
            self.assertEqual(len(w["holder_stacks"]), len(w["held_by"]), "one holder stack per holder")
            for i in w["holder_stacks"]:
                if i is not None:
                    self.assertIn(i, indices, "holder stack index out of range")
                    self.assertEqual(f["stacks"][i]["role"], "held")
        for i, s in enumerate(f["stacks"]):
            self.assertEqual(s["id"], i)
            for fr in s["frames"]:
                self.assertEqual(set(fr), {"function", "file", "line", "module", "pc"})

    # helpers over one finding
    def lock(self, f, lock_id):
        return next(l for l in f["locks"] if l["id"] == lock_id)

    def lock_name(self, f, lock_id):
        return None if lock_id is None else self.lock(f, lock_id)["name"]

    def wait_on(self, f, name):
        """The one wait for the lock called `name`."""
        waits = [w for w in f["waits"] if self.lock_name(f, w["lock"]) == name]
        self.assertEqual(len(waits), 1, f"waits for {name}: {f['waits']}")
        return waits[0]

    def wait_of(self, f, thread):
        waits = [w for w in f["waits"] if w["thread"] == thread]
        self.assertEqual(len(waits), 1, f"waits of {thread}: {f['waits']}")
        return waits[0]

    def assertBlockedAt(self, f, w, function, marker):
        self.assertIsNotNone(w["stack"], f"no blocked stack for {w['thread']}")
        self.assertFrame(stack(f, w["stack"]), function, SRC, line(marker),
                         f"{w['thread']} should be blocked at {marker}")

    def assertHeldAt(self, f, w, function, marker):
        self.assertEqual(len(w["holder_stacks"]), len(w["held_by"]))
        self.assertEqual(len(w["holder_stacks"]), 1)
        self.assertIsNotNone(w["holder_stacks"][0], "no stack for where the holder took the lock")
        self.assertFrame(stack(f, w["holder_stacks"][0]), function, SRC, line(marker),
                         f"the holder of {self.lock_name(f, w['lock'])} should have taken it at {marker}")

    def assertLockWait(self, f, w):
        """A wait for a lock: the object is the lock's own address, no mutex, no target."""
        self.assertEqual(w["waits_for"], "lock")
        self.assertIsNotNone(w["lock"])
        self.assertEqual(int(w["object"], 16), int(self.lock(f, w["lock"])["address"], 16))
        self.assertIsNone(w["mutex"])
        self.assertIsNone(w["target"])

    def assertCycle(self, f, lock_names):
        """Each wait is for one of lock_names, held by exactly one other waiting thread, and the
        held_by links make a single cycle through all the waiters."""
        self.assertEqual(f["reason"], "lock-cycle")
        self.assertEqual(len(f["waits"]), len(lock_names), f["waits"])
        self.assertEqual(sorted(self.lock_name(f, w["lock"]) for w in f["waits"]), sorted(lock_names))
        waiting = {w["thread"]: w for w in f["waits"]}
        self.assertEqual(len(waiting), len(lock_names), "one wait per thread")
        t = next(iter(waiting))
        seen = []
        while t not in seen:
            seen.append(t)
            held_by = waiting[t]["held_by"]
            self.assertEqual(len(held_by), 1, waiting[t])
            self.assertNotEqual(held_by[0], t)
            self.assertIn(held_by[0], waiting, "the holder is not one of the waiters")
            t = held_by[0]
        self.assertEqual(len(seen), len(lock_names), "held_by links are not one cycle")


class AbBa(DeadlockTestCase):
    """The two-thread circular wait, checked in detail."""

    @classmethod
    def setUpClass(cls):
        cls.r = run([fixture("deadlock"), "ab-ba"], FAST, timeout=HANG_TIMEOUT)

    def finding(self):
        self.assertFalse(self.r.timed_out, f"ab-ba still blocked after {HANG_TIMEOUT} s\n{self.r.stderr}")
        found = self.r.findings("deadlock")
        self.assertEqual(len(found), 1, self.r.stderr)
        return found[0]

    def test_ends_by_itself_with_deadlock_exit_status(self):
        self.assertFalse(self.r.timed_out, f"ab-ba still blocked after {HANG_TIMEOUT} s\n{self.r.stderr}")
        self.assertEqual(self.r.rc, DEADLOCK_EXIT, self.r.stderr)
        self.assertNotIn("not reached", self.r.stdout)

    def test_one_well_formed_deadlock_finding(self):
        f = self.finding()
        self.assertWellFormed(f)
        self.assertEqual(f["pid"], self.r.report["pid"])

    def test_reason_is_lock_cycle_with_two_lock_waits(self):
        f = self.finding()
        self.assertCycle(f, ["lock_a", "lock_b"])
        for w in f["waits"]:
            self.assertLockWait(f, w)
            self.assertEqual(self.lock(f, w["lock"])["type"], "mutex")
            self.assertIn(w["mode"], {"write", None})

    def test_each_waits_for_the_other(self):
        f = self.finding()
        wants_b, wants_a = self.wait_on(f, "lock_b"), self.wait_on(f, "lock_a")
        self.assertEqual(wants_b["held_by"], [wants_a["thread"]])
        self.assertEqual(wants_a["held_by"], [wants_b["thread"]])
        # T1 is main (joining); the two workers were created in order.
        self.assertEqual({wants_b["thread"], wants_a["thread"]}, {"T2", "T3"})
        threads = {t["id"]: t for t in f["threads"]}
        for t in ("T2", "T3"):
            self.assertEqual(threads[t]["parent"], "T1")

    def test_blocked_stacks_at_the_second_lock_calls(self):
        f = self.finding()
        self.assertBlockedAt(f, self.wait_on(f, "lock_b"), "ab", "@ab-blocked")
        self.assertBlockedAt(f, self.wait_on(f, "lock_a"), "ba", "@ba-blocked")

    def test_holder_stacks_at_the_first_lock_calls(self):
        f = self.finding()
        # lock_b is held by the thread running ba(), which took it at @ba-held.
        self.assertHeldAt(f, self.wait_on(f, "lock_b"), "ba", "@ba-held")
        self.assertHeldAt(f, self.wait_on(f, "lock_a"), "ab", "@ab-held")

    def test_lock_order_inversion_reported_first(self):
        self.finding()
        inversions = self.r.findings("lock-order-inversion")
        self.assertEqual(len(inversions), 1)
        self.assertLess(inversions[0]["id"], self.r.findings("deadlock")[0]["id"])
        kinds = [f["kind"] for f in self.r.report["findings"]]
        self.assertEqual(kinds, ["lock-order-inversion", "deadlock"])

    def test_summary_and_text_report(self):
        f = self.finding()
        self.assertIn("lock_a", f["summary"])
        self.assertIn("lock_b", f["summary"])
        self.assertIn("concwatch: deadlock", self.r.stderr)
        self.assertIn(f"deadlock.c:{line('@ab-blocked')}", self.r.stderr)


class LockCycles(DeadlockTestCase):
    def test_three_threads(self):
        r, f = self.run_deadlock("three")
        self.assertCycle(f, ["lock_a", "lock_b", "lock_c"])
        for w in f["waits"]:
            self.assertLockWait(f, w)
            self.assertBlockedAt(f, w, "cycle3", "@three-blocked")
            self.assertHeldAt(f, w, "cycle3", "@three-held")
        self.assertEqual({w["thread"] for w in f["waits"]}, {"T2", "T3", "T4"})

    def test_rwlocks_with_modes(self):
        r, f = self.run_deadlock("rwlock")
        self.assertCycle(f, ["rw_a", "rw_b"])
        self.assertEqual({l["type"] for l in f["locks"] if l["name"] in ("rw_a", "rw_b")}, {"rwlock"})
        wants_b, wants_a = self.wait_on(f, "rw_b"), self.wait_on(f, "rw_a")
        for w in (wants_a, wants_b):
            self.assertLockWait(f, w)
        self.assertEqual(wants_b["mode"], "write")
        self.assertEqual(wants_a["mode"], "read")
        self.assertBlockedAt(f, wants_b, "rw_ab", "@rw-ab-blocked")
        self.assertBlockedAt(f, wants_a, "rw_ba", "@rw-ba-blocked")
        self.assertHeldAt(f, wants_b, "rw_ba", "@rw-ba-held")
        self.assertHeldAt(f, wants_a, "rw_ab", "@rw-ab-held")

    def test_spinlocks(self):
        r, f = self.run_deadlock("spin")
        self.assertCycle(f, ["spin_a", "spin_b"])
        self.assertEqual({l["type"] for l in f["locks"] if l["name"] in ("spin_a", "spin_b")}, {"spinlock"})
        for w in f["waits"]:
            self.assertLockWait(f, w)
        self.assertBlockedAt(f, self.wait_on(f, "spin_b"), "spin_ab", "@spin-ab-blocked")
        self.assertBlockedAt(f, self.wait_on(f, "spin_a"), "spin_ba", "@spin-ba-blocked")

    def test_semaphores_used_as_locks(self):
        r, f = self.run_deadlock("sem")
        self.assertCycle(f, ["sem_a", "sem_b"])
        self.assertEqual({l["type"] for l in f["locks"] if l["name"] in ("sem_a", "sem_b")}, {"semaphore"})
        for w in f["waits"]:
            # A semaphore that works as a lock: either kind of wait names it as the lock.
            self.assertIn(w["waits_for"], {"lock", "semaphore"})
            self.assertEqual(int(w["object"], 16), int(self.lock(f, w["lock"])["address"], 16))
        self.assertBlockedAt(f, self.wait_on(f, "sem_b"), "sem_ab", "@sem-ab-blocked")
        self.assertBlockedAt(f, self.wait_on(f, "sem_a"), "sem_ba", "@sem-ba-blocked")

    def test_chapter_example_ends_with_a_deadlock_report(self):
        r = run([example("deadlock_two_locks")], FAST, timeout=HANG_TIMEOUT)
        self.assertFalse(r.timed_out, f"deadlock_two_locks still blocked after {HANG_TIMEOUT} s")
        self.assertEqual(r.rc, DEADLOCK_EXIT, r.stderr)
        self.assertEqual([f["kind"] for f in r.report["findings"]], ["lock-order-inversion", "deadlock"])
        f = r.findings("deadlock")[0]
        self.assertWellFormed(f)
        self.assertCycle(f, ["lock_a", "lock_b"])


class SelfDeadlock(DeadlockTestCase):
    """Reported at once, before blocking: the deadlock timeout (10 s) is longer than the harness
    allows (5 s), so only an immediate report ends these runs in time."""
    PROMPT = "deadlock_timeout_ms=10000"

    def check(self, mode, lock_name, function_marker_pairs, mode_value=None):
        r, f = self.run_deadlock(mode, self.PROMPT, timeout=5)
        self.assertEqual(f["reason"], "self-deadlock")
        self.assertEqual(len(f["waits"]), 1, f["waits"])
        w = f["waits"][0]
        self.assertEqual(w["thread"], "T1")
        self.assertEqual(w["held_by"], ["T1"])
        self.assertEqual(self.lock_name(f, w["lock"]), lock_name)
        self.assertLockWait(f, w)
        if mode_value:
            self.assertEqual(w["mode"], mode_value)
        (held_marker, blocked_marker) = function_marker_pairs
        self.assertBlockedAt(f, w, "main", blocked_marker)
        self.assertHeldAt(f, w, "main", held_marker)
        return f

    def test_default_mutex_locked_twice(self):
        f = self.check("self", "self_lock", ("@self-first", "@self-relock"))
        self.assertEqual(self.lock(f, f["waits"][0]["lock"])["type"], "mutex")

    def test_spinlock_locked_twice(self):
        f = self.check("self-spin", "self_spin", ("@self-spin-first", "@self-spin-relock"))
        self.assertEqual(self.lock(f, f["waits"][0]["lock"])["type"], "spinlock")

    def test_rwlock_write_requested_while_reading(self):
        f = self.check("self-rwlock", "self_rw", ("@self-rw-first", "@self-rw-relock"), "write")
        self.assertEqual(self.lock(f, f["waits"][0]["lock"])["type"], "rwlock")


class AllThreadsBlocked(DeadlockTestCase):
    def test_lost_wakeup_condition_wait(self):
        r, f = self.run_deadlock("lost-wakeup")
        self.assertEqual(f["reason"], "all-threads-blocked")
        self.assertEqual(len(f["waits"]), 1, f["waits"])  # the signaller has exited
        w = f["waits"][0]
        self.assertEqual(w["thread"], "T1")
        self.assertEqual(w["waits_for"], "condition")
        self.assertEqual(int(w["object"], 16), printed_address(r.stdout, "cond"))
        self.assertIsNotNone(w["mutex"], "a condition wait names its mutex")
        self.assertEqual(self.lock_name(f, w["mutex"]), "cond_mutex")
        self.assertIsNone(w["lock"])
        self.assertIsNone(w["target"])
        self.assertEqual(w["held_by"], [])
        self.assertBlockedAt(f, w, "main", "@lost-wakeup-blocked")

    def test_threads_joining_in_a_circle(self):
        r, f = self.run_deadlock("join-each-other")
        self.assertEqual(f["reason"], "all-threads-blocked")
        self.assertEqual(len(f["waits"]), 3, f["waits"])
        for w in f["waits"]:
            self.assertEqual(w["waits_for"], "join")
            self.assertIsNone(w["lock"])
            self.assertIsNone(w["mutex"])
        self.assertEqual({w["thread"]: w["target"] for w in f["waits"]}, {"T1": "T2", "T2": "T3", "T3": "T1"})
        self.assertBlockedAt(f, self.wait_of(f, "T1"), "main", "@join-main-blocked")
        self.assertBlockedAt(f, self.wait_of(f, "T2"), "join_next", "@join-blocked")
        self.assertBlockedAt(f, self.wait_of(f, "T3"), "join_next", "@join-blocked")

    def test_semaphore_nobody_posts(self):
        r, f = self.run_deadlock("sem-forever")
        self.assertEqual(f["reason"], "all-threads-blocked")
        self.assertEqual(len(f["waits"]), 1, f["waits"])  # the other threads have exited
        w = f["waits"][0]
        self.assertEqual((w["thread"], w["waits_for"]), ("T1", "semaphore"))
        self.assertEqual(int(w["object"], 16), printed_address(r.stdout, "never"))
        self.assertIsNone(w["mutex"])
        self.assertIsNone(w["target"])
        self.assertBlockedAt(f, w, "main", "@sem-forever-blocked")

    def test_barrier_short_of_one_thread(self):
        r, f = self.run_deadlock("barrier")
        self.assertEqual(f["reason"], "all-threads-blocked")
        self.assertEqual(len(f["waits"]), 3, f["waits"])
        barrier = printed_address(r.stdout, "partial")
        for t in ("T2", "T3"):
            w = self.wait_of(f, t)
            self.assertEqual(w["waits_for"], "barrier")
            self.assertEqual(int(w["object"], 16), barrier)
            self.assertBlockedAt(f, w, "at_partial_barrier", "@barrier-blocked")
        main = self.wait_of(f, "T1")
        self.assertEqual((main["waits_for"], main["target"]), ("join", "T2"))
        self.assertBlockedAt(f, main, "main", "@barrier-join-blocked")


class HolderGone(DeadlockTestCase):
    def test_lock_of_a_thread_that_exited(self):
        r, f = self.run_deadlock("exit-holding")
        self.assertEqual(f["reason"], "holder-gone")
        self.assertEqual(len(f["waits"]), 1, f["waits"])
        w = f["waits"][0]
        self.assertEqual(w["thread"], "T1")
        self.assertEqual(self.lock_name(f, w["lock"]), "lock_a")
        self.assertLockWait(f, w)
        self.assertEqual(w["held_by"], ["T2"])  # exited, but still named
        self.assertBlockedAt(f, w, "main", "@exit-blocked")
        self.assertHeldAt(f, w, "take_a_and_exit", "@exit-held")

    def test_forked_child_waits_for_a_lock_a_parent_thread_held(self):
        r = run([fixture("deadlock"), "fork-held"], FAST, timeout=HANG_TIMEOUT, json_name="r.%p.json")
        self.assertFalse(r.timed_out, r.stderr)
        # Without concwatch ending it, the child dies by its 4 s alarm instead.
        self.assertIn(f"child exited {DEADLOCK_EXIT}", r.stdout, r.stderr)
        self.assertIn("parent done", r.stdout)
        self.assertEqual(r.rc, 0, r.stderr)  # the parent has nothing to report
        self.assertEqual(len(r.reports), 2, list(r.reports))
        parent, child = sorted(r.reports.values(), key=lambda d: len(d["findings"]))
        self.assertEqual(parent["findings"], [])
        self.assertEqual([f["kind"] for f in child["findings"]], ["deadlock"])
        self.assertNotEqual(child["pid"], parent["pid"])
        f = child["findings"][0]
        self.assertEqual(f["pid"], child["pid"])
        self.assertWellFormed(f)
        self.assertEqual(f["reason"], "holder-gone")
        self.assertEqual(len(f["waits"]), 1, f["waits"])
        w = f["waits"][0]
        self.assertEqual(self.lock_name(f, w["lock"]), "lock_a")
        self.assertLockWait(f, w)
        self.assertEqual(len(w["held_by"]), 1)
        self.assertNotEqual(w["held_by"][0], w["thread"])
        self.assertBlockedAt(f, w, "main", "@fork-child-blocked")
        self.assertHeldAt(f, w, "hold_a_across_fork", "@fork-held")


class Options(DeadlockTestCase):
    def test_action_report_reports_and_lets_it_hang(self):
        r = run([fixture("deadlock"), "ab-ba"], FAST + " deadlock_action=report", timeout=4)
        self.assertTrue(r.timed_out, f"deadlock_action=report must not end the program (rc {r.rc})")
        found = r.findings("deadlock")
        self.assertEqual(len(found), 1, r.stderr)
        self.assertWellFormed(found[0])
        self.assertEqual(found[0]["reason"], "lock-cycle")
        self.assertIn("concwatch: deadlock", r.stderr)

    def test_action_abort_is_the_default(self):
        self.run_deadlock("ab-ba", FAST + " deadlock_action=abort")

    def test_custom_exit_status(self):
        self.run_deadlock("ab-ba", FAST + " deadlock_exitcode=42", exit_status=42)

    def test_default_timeout(self):
        # deadlock_timeout_ms defaults to 1000: still well inside the harness timeout.
        self.run_deadlock("lost-wakeup", "")

    def test_options_listed_in_help(self):
        proc = subprocess.run([fixture("deadlock"), "ab-ba"], capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, LD_PRELOAD=LIB, CONCWATCH_OPTIONS="help"))
        self.assertEqual(proc.returncode, 0)
        for name in ("deadlock_timeout_ms", "deadlock_exitcode", "deadlock_action"):
            self.assertIn(name, proc.stdout)

    def test_bad_action_is_refused_before_main(self):
        proc = subprocess.run([fixture("deadlock"), "ab-ba"], capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, LD_PRELOAD=LIB, CONCWATCH_OPTIONS="deadlock_action=explode"))
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stdout, "")
        self.assertIn("deadlock_action", proc.stderr)
        self.assertIn("explode", proc.stderr)  # a bad value, not an unknown option


HANGING_MODES = ["ab-ba", "three", "rwlock", "spin", "sem", "self", "self-spin", "self-rwlock",
                 "lost-wakeup", "join-each-other", "sem-forever", "barrier", "exit-holding"]


class FixturesReallyBlock(ConcwatchTestCase):
    """Without concwatch every deadlock mode blocks for good: a run under concwatch that ends with
    a finding was ended by concwatch, not by the program."""

    def test_modes_hang_natively(self):
        for mode in HANGING_MODES:
            with self.subTest(mode=mode):
                r = run([fixture("deadlock"), mode], preload=False, timeout=1.5)
                self.assertTrue(r.timed_out, f"{mode} ended by itself natively (rc {r.rc})")

    def test_fork_child_blocks_natively(self):
        r = run([fixture("deadlock"), "fork-held"], preload=False, timeout=20)
        self.assertFalse(r.timed_out)
        self.assertIn("child killed by signal 14", r.stdout)  # its alarm, after 4 s blocked
        self.assertEqual(r.rc, 0)


BLOCKING_OK_MODES = ["pipe-read", "pipe-process", "sleep-join", "lock-wait", "cond-timeout",
                     "timedwait-loop", "sem-post-late", "sem-timedwait", "pshared-sem", "named-sem",
                     "pshared-mutex", "pshared-cond", "fork-holding"]


class LongWaitsAreNotDeadlocks(ConcwatchTestCase):
    """Each mode blocks for 1.5 s (5x the deadlock timeout) in waits that end by themselves."""

    def test_blocking_ok_modes(self):
        for mode in BLOCKING_OK_MODES:
            with self.subTest(mode=mode):
                r = run([fixture("blocking_ok"), mode], FAST, timeout=30)
                self.assertClean(r)
                m = re.search(r"waited (\d+) ms", r.stdout)
                self.assertTrue(m, r.stdout)
                self.assertGreaterEqual(int(m.group(1)), 1000, "the fixture did not really block")

    def test_stress_32_threads_4_locks(self):
        start = time.monotonic()
        r = run([fixture("contention")], "deadlock_timeout_ms=200", timeout=90)
        self.assertClean(r)
        self.assertRegex(r.stdout, r"contention ok: [1-9]\d* rounds, [1-9]\d* handoffs")
        self.assertGreaterEqual(time.monotonic() - start, 3.5)


class ExamplesWithShortTimeout(ConcwatchTestCase):
    """The chapter's programs that do not deadlock get no deadlock (or misuse) finding, even with
    a deadlock timeout far shorter than their waits."""

    def test_examples(self):
        sources = sorted(glob.glob(os.path.join(SOURCE, "examples", "*.c")))
        self.assertTrue(sources)
        for source in sources:
            expected, hangs = example_expectations(source)
            kinds = [kind for kind, _ in expected]
            if hangs or "deadlock" in kinds:
                continue
            name = os.path.splitext(os.path.basename(source))[0]
            with self.subTest(example=name):
                r = run([example(name)], "deadlock_timeout_ms=200", timeout=60)
                self.assertFalse(r.timed_out)
                self.assertEqual(r.findings("deadlock"), [], r.stderr)
                self.assertEqual(r.findings("lock-misuse"), [], r.stderr)
                if not kinds:
                    self.assertClean(r)


if __name__ == "__main__":
    unittest.main()
