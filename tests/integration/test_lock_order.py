"""Potential deadlocks (lock-order inversions) under LD_PRELOAD, asserted on the JSON report."""
import unittest

from harness import (ConcwatchTestCase, fixture, fixture_source, lock_names, marker_line, run,
                     stack)

AB_BA = fixture_source("ab_ba")


class InversionReport(ConcwatchTestCase):
    @classmethod
    def setUpClass(cls):
        cls.run_ = run([fixture("ab_ba")])
        cls.findings = cls.run_.findings("lock-order-inversion")

    def test_exactly_one_finding_and_exit_code(self):
        self.assertEqual(len(self.findings), 1, self.run_.stderr)
        self.assertEqual(self.run_.rc, 66)
        self.assertIn("done", self.run_.stdout)  # behaviour of the program unchanged

    def test_document_header(self):
        doc = self.run_.report
        self.assertEqual(doc["tool"], "concwatch")
        self.assertRegex(doc["version"], r"^\d+\.\d+\.\d+$")
        self.assertIsInstance(doc["pid"], int)
        self.assertEqual(self.findings[0]["pid"], doc["pid"])

    def test_locks_named_and_typed(self):
        f = self.findings[0]
        self.assertEqual(lock_names(f), ["lock_a", "lock_b"])
        self.assertEqual({l["type"] for l in f["locks"]}, {"mutex"})
        for l in f["locks"]:
            self.assertRegex(l["address"], r"^0x[0-9a-f]+$")
            self.assertIsNotNone(l["first_seen_stack"])

    def test_cycle_edges_with_request_and_held_stacks(self):
        f = self.findings[0]
        names = {l["id"]: l["name"] for l in f["locks"]}
        self.assertEqual(len(f["cycle"]), 2)
        by_order = {(names[e["holds"]], names[e["requests"]]): e for e in f["cycle"]}
        self.assertEqual(set(by_order), {("lock_a", "lock_b"), ("lock_b", "lock_a")})
        ab, ba = by_order[("lock_a", "lock_b")], by_order[("lock_b", "lock_a")]
        self.assertNotEqual(ab["thread"], ba["thread"])
        self.assertFrame(stack(f, ab["request_stack"]), "first", AB_BA, marker_line(AB_BA, "@ab-request"))
        self.assertFrame(stack(f, ab["held_stack"]), "first", AB_BA, marker_line(AB_BA, "@ab-held"))
        # The second thread took its locks in a helper: the caller frame is part of both stacks.
        request = stack(f, ba["request_stack"])
        self.assertFrame(request, "take_b_then_a", AB_BA, marker_line(AB_BA, "@ba-request"))
        self.assertHasFrame(request, "second", AB_BA, marker_line(AB_BA, "@ba-caller"))
        held = stack(f, ba["held_stack"])
        self.assertFrame(held, "take_b_then_a", AB_BA, marker_line(AB_BA, "@ba-held"))
        self.assertHasFrame(held, "second", AB_BA, marker_line(AB_BA, "@ba-caller"))

    def test_threads_with_creation_stacks(self):
        f = self.findings[0]
        threads = {t["id"]: t for t in f["threads"]}
        self.assertEqual(set(threads), {e["thread"] for e in f["cycle"]})
        lines = {marker_line(AB_BA, "@create-first"), marker_line(AB_BA, "@create-second")}
        seen = set()
        for t in threads.values():
            self.assertEqual(t["parent"], "T1")
            self.assertIsInstance(t["tid"], int)
            frames = stack(f, t["created_stack"])
            self.assertTrue(any(fr["function"] == "main" for fr in frames))
            seen |= {fr["line"] for fr in frames if fr["function"] == "main"}
        self.assertEqual(seen, lines)

    def test_every_frame_has_the_documented_fields(self):
        for s in self.findings[0]["stacks"]:
            self.assertIn(s["role"], {"request", "held", "lock-first-seen", "thread-created"})
            for fr in s["frames"]:
                self.assertEqual(set(fr), {"function", "file", "line", "module", "pc"})

    def test_summary_names_locks_and_place(self):
        summary = self.findings[0]["summary"]
        self.assertIn("lock_a", summary)
        self.assertIn("lock_b", summary)
        self.assertIn("ab_ba.c:", summary)

    def test_text_report_on_stderr(self):
        err = self.run_.stderr
        self.assertIn("concwatch: lock-order-inversion", err)
        self.assertIn(f"ab_ba.c:{marker_line(AB_BA, '@ab-request')}", err)
        self.assertIn("lock_a", err)


class Filters(ConcwatchTestCase):
    def inversions(self, mode, options=""):
        r = run([fixture("filters"), mode], options)
        self.assertFalse(r.timed_out)
        return r, r.findings("lock-order-inversion")

    def test_common_gate_lock_is_not_a_deadlock(self):
        r, found = self.inversions("gate")
        self.assertClean(r)

    def test_gate_held_by_one_side_only_is_reported(self):
        r, found = self.inversions("no-gate")
        self.assertEqual(len(found), 1)
        self.assertEqual(lock_names(found[0]), ["m_a", "m_b"])

    def test_trylock_edge_is_not_a_deadlock(self):
        r, found = self.inversions("trylock")
        self.assertClean(r)

    def test_timedlock_counts_as_blocking(self):
        r, found = self.inversions("timed")
        self.assertEqual(len(found), 1)
        src = fixture_source("filters")
        requests = [stack(found[0], e["request_stack"]) for e in found[0]["cycle"]]
        self.assertTrue(any(s[0]["line"] == marker_line(src, "@timed-request") for s in requests))

    def test_read_read_cycle_is_not_a_deadlock(self):
        r, found = self.inversions("read-read")
        self.assertClean(r)

    def test_writer_in_rwlock_cycle_is_reported(self):
        r, found = self.inversions("read-write")
        self.assertEqual(len(found), 1)
        self.assertEqual({l["type"] for l in found[0]["locks"]}, {"rwlock"})
        self.assertEqual(lock_names(found[0]), ["rw_a", "rw_b"])

    def test_single_thread_cycle_silent_by_default(self):
        r, found = self.inversions("single")
        self.assertClean(r)

    def test_single_thread_cycle_reported_on_request(self):
        r, found = self.inversions("single", "report_single_thread_cycles=1")
        self.assertEqual(len(found), 1)
        self.assertEqual(lock_names(found[0]), ["m_a", "m_b"])

    def test_recursive_relock_is_not_an_order(self):
        r, found = self.inversions("recursive")
        self.assertClean(r)

    def test_three_lock_cycle(self):
        r, found = self.inversions("three")
        self.assertEqual(len(found), 1)
        f = found[0]
        self.assertEqual(lock_names(f), ["m_a", "m_b", "m_c"])
        self.assertEqual(len(f["cycle"]), 3)
        self.assertEqual(len({e["thread"] for e in f["cycle"]}), 3)

    def test_spinlock_cycle(self):
        r, found = self.inversions("spin")
        self.assertEqual(len(found), 1)
        self.assertEqual({l["type"] for l in found[0]["locks"]}, {"spinlock"})
        self.assertEqual(lock_names(found[0]), ["spin_a", "spin_b"])

    def test_semaphores_used_as_locks(self):
        r, found = self.inversions("sem")
        self.assertEqual(len(found), 1)
        self.assertEqual({l["type"] for l in found[0]["locks"]}, {"semaphore"})
        self.assertEqual(lock_names(found[0]), ["sem_a", "sem_b"])

    def test_signalling_semaphore_is_not_a_lock(self):
        r, found = self.inversions("signal-sem")
        self.assertClean(r)

    def test_condition_variable_wait_is_not_an_inversion(self):
        r, found = self.inversions("condvar")
        self.assertClean(r)


class LockMemoryReuse(ConcwatchTestCase):
    def check_reuse(self, mode):
        r = run([fixture("reuse"), mode])
        self.assertIn("same address", r.stdout, "the allocator did not reuse the block; the test proves nothing")
        self.assertClean(r)

    def test_destroyed_heap_lock(self):
        self.check_reuse("destroy")

    def test_freed_heap_lock(self):
        self.check_reuse("free")

    def test_reinitialized_static_lock(self):
        r = run([fixture("reuse"), "reinit"])
        self.assertClean(r)

    def test_control_without_reuse_is_reported(self):
        r = run([fixture("reuse"), "control"])
        found = r.findings("lock-order-inversion")
        self.assertEqual(len(found), 1)
        self.assertEqual(lock_names(found[0]), ["other", None])  # the heap lock has no name


class Stress(ConcwatchTestCase):
    def test_many_threads_many_locks_deep_nesting(self):
        r = run([fixture("stress")], timeout=300)
        self.assertClean(r)
        values = dict(line.split("=") for line in r.stdout.split())
        first = int(values["rss_kb_after_first_half"])
        second = int(values["rss_kb_after_second_half"])
        # The second half creates as many locks as the first: the detector's memory must not
        # grow with the number of locks that came and went.
        self.assertLess(second - first, 16 * 1024, f"RSS grew from {first} kB to {second} kB")


if __name__ == "__main__":
    unittest.main()
