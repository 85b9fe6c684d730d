"""Lock API misuse (kind "lock-misuse"), one fixture mode per case, asserted on the JSON report.

Each misuse mode makes exactly one bad call, so it must get exactly one finding: a call that is
both a misuse and returns an error (join of a detached thread: EINVAL) is one finding, not two.
The program's own behaviour (return values it prints) is unchanged."""
import unittest

from harness import ConcwatchTestCase, fixture, fixture_source, lock_names, marker_line, run, stack

SRC = fixture_source("misuse")
MISUSE_FIELDS = {"misuse", "summary", "locks", "threads", "stacks", "call_stack", "earlier_stack"}


def line(marker):
    return marker_line(SRC, marker)


class MisuseTestCase(ConcwatchTestCase):
    def misuse(self, mode, expected, options=""):
        """Run a mode; it must end normally with exactly one finding, the lock-misuse `expected`."""
        r = run([fixture("misuse"), mode], options, timeout=30)
        self.assertFalse(r.timed_out, f"{mode} hung\n{r.stderr}")
        found = r.findings("lock-misuse")
        self.assertEqual([f["misuse"] for f in found], [expected],
                         f"{mode}: misuse findings (one bad call, one finding)\n{r.stderr}")
        self.assertEqual([f["kind"] for f in r.findings()], ["lock-misuse"], f"{mode}: other findings")
        self.assertEqual(r.rc, 66, r.stderr)
        self.assertIn(f"concwatch: lock-misuse", r.stderr)
        self.assertIn(expected, r.stderr)
        f = found[0]
        self.assertWellFormed(f)
        return r, f

    def assertWellFormed(self, f):
        self.assertLessEqual(MISUSE_FIELDS, set(f), f"fields: {sorted(f)}")
        self.assertIsInstance(f["summary"], str)
        self.assertTrue(f["summary"])
        indices = range(len(f["stacks"]))
        for i, s in enumerate(f["stacks"]):
            self.assertEqual(s["id"], i)
            for fr in s["frames"]:
                self.assertEqual(set(fr), {"function", "file", "line", "module", "pc"})
        self.assertIn(f["call_stack"], indices)
        self.assertEqual(f["stacks"][f["call_stack"]]["role"], "call")
        self.assertTrue(stack(f, f["call_stack"]), "empty call stack")
        if f["earlier_stack"] is not None:
            self.assertIn(f["earlier_stack"], indices)
            self.assertEqual(f["stacks"][f["earlier_stack"]]["role"], "earlier")
        threads = {t["id"] for t in f["threads"]}
        for i in (f["call_stack"], f["earlier_stack"]):
            if i is not None and f["stacks"][i]["thread"] is not None:
                self.assertIn(f["stacks"][i]["thread"], threads, "a thread missing from threads[]")

    def assertCallAt(self, f, function, marker):
        self.assertFrame(stack(f, f["call_stack"]), function, SRC, line(marker), f"the bad call is at {marker}")

    def assertEarlierAt(self, f, function, marker):
        self.assertIsNotNone(f["earlier_stack"], "no earlier stack")
        self.assertFrame(stack(f, f["earlier_stack"]), function, SRC, line(marker), f"the earlier event is at {marker}")

    def assertLock(self, f, name, type_):
        locks = [l for l in f["locks"] if l["name"] == name]
        self.assertEqual(len(locks), 1, f"lock {name} in {f['locks']}")
        self.assertEqual(locks[0]["type"], type_)
        self.assertRegex(locks[0]["address"], r"^0x[0-9a-f]+$")


class Unlock(MisuseTestCase):
    def test_unlock_not_locked(self):
        r, f = self.misuse("unlock-not-locked", "unlock-not-locked")
        self.assertLock(f, "lock_a", "mutex")
        self.assertCallAt(f, "main", "@unlock-not-locked")
        self.assertIn("lock_a", f["summary"])

    def test_unlock_not_owner(self):
        r, f = self.misuse("unlock-not-owner", "unlock-not-owner")
        self.assertLock(f, "lock_a", "mutex")
        self.assertCallAt(f, "unlock_foreign_a", "@not-owner-unlock")
        self.assertEarlierAt(f, "hold_a_between_barriers", "@not-owner-locked")
        # The call is T3's, the lock was taken by T2. (After T3's unlock lock_a is free: T2 ends
        # holding nothing.)
        self.assertEqual(f["stacks"][f["call_stack"]]["thread"], "T3")
        self.assertEqual(f["stacks"][f["earlier_stack"]]["thread"], "T2")


class Destroy(MisuseTestCase):
    def test_destroy_locked_mutex(self):
        r, f = self.misuse("destroy-locked", "destroy-locked")
        self.assertLock(f, "lock_a", "mutex")
        self.assertCallAt(f, "main", "@destroy-locked")
        self.assertEarlierAt(f, "main", "@mutex-taken-before-destroy")

    def test_destroy_locked_rwlock(self):
        r, f = self.misuse("destroy-locked-rwlock", "destroy-locked")
        self.assertLock(f, "rw_lock", "rwlock")
        self.assertCallAt(f, "main", "@destroy-rwlock")
        self.assertEarlierAt(f, "main", "@rwlock-taken-before-destroy")

    def test_destroy_locked_spinlock(self):
        r, f = self.misuse("destroy-locked-spin", "destroy-locked")
        self.assertLock(f, "spin_lock", "spinlock")
        self.assertCallAt(f, "main", "@destroy-spin")
        self.assertEarlierAt(f, "main", "@spin-taken-before-destroy")

    def test_free_memory_holding_a_locked_mutex(self):
        r, f = self.misuse("free-locked", "free-locked")
        self.assertEqual(len(f["locks"]), 1)
        self.assertIsNone(f["locks"][0]["name"])  # on the heap
        self.assertEqual(f["locks"][0]["type"], "mutex")
        self.assertCallAt(f, "free_locked", "@free-locked")
        self.assertEarlierAt(f, "free_locked", "@free-taken")

    def test_destroy_cond_with_a_waiter(self):
        # glibc's destroy then blocks for good; the fixture's watchdog ends the program after 1 s.
        r, f = self.misuse("destroy-cond-with-waiters", "destroy-cond-with-waiters")
        self.assertIn("watchdog", r.stdout)
        self.assertCallAt(f, "main", "@destroy-cond")
        if f["earlier_stack"] is not None:
            self.assertEarlierAt(f, "wait_on_cond", "@cond-waiter")

    def test_destroy_barrier_with_a_waiter(self):
        r, f = self.misuse("destroy-barrier-with-waiters", "destroy-barrier-with-waiters")
        self.assertIn("watchdog", r.stdout)
        self.assertCallAt(f, "main", "@destroy-barrier")
        if f["earlier_stack"] is not None:
            self.assertEarlierAt(f, "wait_at_barrier", "@barrier-waiter")


class ExitHoldingLocks(MisuseTestCase):
    def check(self, mode, lock_marker, function):
        r, f = self.misuse(mode, "exit-holding-locks")
        self.assertLock(f, "lock_a", "mutex")
        self.assertEarlierAt(f, function, lock_marker)
        self.assertEqual(f["stacks"][f["call_stack"]]["thread"], "T2")
        return f

    def test_thread_returns_holding_a_lock(self):
        self.check("exit-holding-locks", "@exit-return-taken", "return_holding_a")

    def test_pthread_exit_holding_a_lock(self):
        f = self.check("exit-holding-locks-pthread-exit", "@exit-pthread-taken", "pthread_exit_holding_a")
        self.assertCallAt(f, "pthread_exit_holding_a", "@exit-pthread-exit")

    def test_cancelled_holding_a_lock(self):
        self.check("exit-holding-locks-cancel", "@exit-cancel-taken", "cancelled_holding_a")


class ConditionVariables(MisuseTestCase):
    def test_wait_without_holding_the_mutex(self):
        r, f = self.misuse("cond-wait-mutex-not-held", "cond-wait-mutex-not-held")
        self.assertLock(f, "cond_mutex", "mutex")
        self.assertCallAt(f, "main", "@cond-wait-not-held")

    def test_two_mutexes_with_one_condition(self):
        r, f = self.misuse("cond-two-mutexes", "cond-two-mutexes")
        self.assertLock(f, "mutex_1", "mutex")
        self.assertLock(f, "mutex_2", "mutex")
        self.assertCallAt(f, "wait_with_2", "@cond-two-second")
        self.assertEarlierAt(f, "wait_with_1", "@cond-two-first")


class WrongLockType(MisuseTestCase):
    def test_rwlock_call_on_a_mutex(self):
        r, f = self.misuse("wrong-lock-type", "wrong-lock-type")
        self.assertTrue(any((n or "").startswith("wrong_type") for n in lock_names(f)), f["locks"])
        self.assertCallAt(f, "main", "@wrong-type-rdlock")

    def test_mutex_call_on_an_rwlock(self):
        r, f = self.misuse("wrong-lock-type-reverse", "wrong-lock-type")
        self.assertTrue(any((n or "").startswith("wrong_type") for n in lock_names(f)), f["locks"])
        self.assertCallAt(f, "main", "@wrong-type-lock")


class Joins(MisuseTestCase):
    def test_join_a_detached_thread(self):
        r, f = self.misuse("join-detached", "join-detached")
        self.assertIn("join returned EINVAL", r.stdout)
        self.assertCallAt(f, "main", "@join-detached")
        self.assertEarlierAt(f, "main", "@detach")

    def test_join_a_thread_twice(self):
        r, f = self.misuse("join-twice", "join-joined")
        self.assertIn("second join returned ESRCH", r.stdout)
        self.assertCallAt(f, "main", "@second-join")
        self.assertEarlierAt(f, "main", "@first-join")


class ErrorReturned(MisuseTestCase):
    def test_errorcheck_unlock_by_non_owner_eperm(self):
        r, f = self.misuse("error-eperm", "error-returned")
        self.assertIn("unlock returned EPERM", r.stdout)  # the result reaches the program
        self.assertEqual(f["error"], "EPERM")
        self.assertEqual(f["function"], "pthread_mutex_unlock")
        self.assertLock(f, "err_lock", "mutex")
        self.assertCallAt(f, "main", "@errcheck-unlock")

    def test_errorcheck_relock_edeadlk(self):
        r, f = self.misuse("error-edeadlk", "error-returned")
        self.assertIn("relock returned EDEADLK", r.stdout)
        self.assertEqual(f["error"], "EDEADLK")
        self.assertEqual(f["function"], "pthread_mutex_lock")
        self.assertLock(f, "err_lock", "mutex")
        self.assertCallAt(f, "main", "@errcheck-relock")
        if f["earlier_stack"] is not None:
            self.assertEarlierAt(f, "main", "@errcheck-first")


class CorrectUse(ConcwatchTestCase):
    def test_every_api_used_correctly(self):
        r = run([fixture("misuse"), "clean"], timeout=30)
        self.assertClean(r)
        self.assertEqual(r.stdout, "clean done: once 1, consumed 50\n")

    def test_every_api_used_correctly_short_deadlock_timeout(self):
        r = run([fixture("misuse"), "clean"], "deadlock_timeout_ms=50", timeout=30)
        self.assertClean(r)

    def test_misuse_modes_finish_natively(self):
        # The fixture itself is sound: every mode ends by itself without concwatch.
        for mode in ("unlock-not-owner", "destroy-cond-with-waiters", "destroy-barrier-with-waiters",
                     "exit-holding-locks-cancel", "cond-wait-mutex-not-held", "cond-two-mutexes",
                     "join-detached", "join-twice", "error-eperm", "error-edeadlk", "clean"):
            with self.subTest(mode=mode):
                r = run([fixture("misuse"), mode], preload=False, timeout=10)
                self.assertFalse(r.timed_out)
                self.assertEqual(r.rc, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
