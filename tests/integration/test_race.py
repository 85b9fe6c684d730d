"""Data races in programs compiled with -fsanitize=thread and linked against libconcwatch.so
instead of ThreadSanitizer's runtime (fixtures in tests/race), asserted on the JSON report.

Every fixture is built twice: build/race/gcc/<name> (CMake's C compiler, linked with the
concwatch_shim target) and build/race/clang/<name> (clang -fno-sanitize-link-runtime
-lconcwatch; those tests skip when clang was not found). The linked programs run without
LD_PRELOAD: linking is all they need. PreloadOnly runs the counter built into an instrumented
shared library, loaded by a plain executable, with concwatch coming only from LD_PRELOAD.
"""
import os
import re
import unittest

from harness import BUILD, SOURCE, ConcwatchTestCase, marker_line, run, stack

RACE_BUILD = os.path.join(BUILD, "race")
DRIVER = os.path.join(RACE_BUILD, "preload_driver")
COMPILERS = ("gcc", "clang")

LOCATION_FIELDS = {"kind", "name", "offset", "thread", "block_size", "block_stack"}
ACCESS_FIELDS = {"thread", "type", "atomic", "size", "locks_held", "stack"}
FRAME_FIELDS = {"function", "file", "line", "module", "pc"}


def race_source(name):
    return os.path.join(SOURCE, "tests", "race", name + ".c")


def race_binary(compiler, name):
    return os.path.join(RACE_BUILD, compiler, name)


_runs = {}


def race_run(compiler, name, *args, preload=False):
    """Run a race fixture once per test process (several tests look at the same run)."""
    key = (compiler, name, args, preload)
    if key not in _runs:
        _runs[key] = run([race_binary(compiler, name), *args], timeout=30, preload=preload)
    return _runs[key]


def printed_address(r, what):
    """The address the fixture printed as '<what> at 0x...'."""
    m = re.search(re.escape(what) + r" at (0x[0-9a-f]+)", r.stdout)
    assert m, f"the fixture did not print the address of {what}: {r.stdout!r} {r.stderr!r}"
    return int(m.group(1), 16)


def top(finding, access):
    """The innermost frame of an access's stack."""
    frames = stack(finding, access["stack"])
    return frames[0] if frames else {"function": None, "file": None, "line": None}


class RaceFixture:
    """Mixin: COMPILER selects build/race/<COMPILER>; the classes are made per compiler below."""
    COMPILER = None
    NEEDS = "counter"

    @classmethod
    def setUpClass(cls):
        path = race_binary(cls.COMPILER, cls.NEEDS)
        if not os.path.exists(path):
            if cls.COMPILER == "clang":
                raise unittest.SkipTest(f"clang race fixtures not built ({path} is missing): clang "
                                        "was not found when CMake configured the build")
            raise AssertionError(f"{path} is missing: tests/race is not built (add_subdirectory(race)"
                                 " in tests/CMakeLists.txt, then build)")

    def races(self, r):
        self.assertFalse(r.timed_out, "program hung")
        return r.findings("data-race")

    def one_race(self, r):
        """The single finding of a run with one race; checks the exit status."""
        found = self.races(r)
        self.assertEqual(len(found), 1, f"expected one data race, got {len(found)}:\n{r.stderr}")
        self.assertEqual(r.findings(), found, "findings other than the data race")
        self.assertEqual(r.rc, 66, r.stderr)
        return found[0]

    def check_race_fields(self, f):
        """The documented data-race fields, with their types and cross-references."""
        for key in ("kind", "id", "pid", "summary", "address", "size", "location", "accesses",
                    "locks", "threads", "stacks"):
            self.assertIn(key, f)
        self.assertEqual(f["kind"], "data-race")
        self.assertRegex(f["address"], r"^0x[0-9a-f]+$")
        self.assertIsInstance(f["size"], int)
        self.assertGreater(f["size"], 0)
        self.assertIsInstance(f["summary"], str)
        loc = f["location"]
        self.assertEqual(set(loc), LOCATION_FIELDS)
        self.assertIn(loc["kind"], {"global", "heap", "stack", "unknown"})
        lock_ids = {l["id"] for l in f["locks"]}
        thread_ids = {t["id"] for t in f["threads"]}
        self.assertEqual(len(f["accesses"]), 2, "accesses: [current, earlier]")
        for a in f["accesses"]:
            self.assertEqual(set(a), ACCESS_FIELDS)
            self.assertRegex(a["thread"], r"^T\d+$")
            self.assertIn(a["thread"], thread_ids, "an access's thread is missing from threads[]")
            self.assertIn(a["type"], {"read", "write"})
            self.assertIsInstance(a["atomic"], bool)
            self.assertIsInstance(a["size"], int)
            self.assertIsInstance(a["locks_held"], list, f"locks_held of the access by {a['thread']}")
            self.assertTrue(set(a["locks_held"]) <= lock_ids, "locks_held names a lock not in locks[]")
            s = f["stacks"][a["stack"]]
            self.assertEqual(s["role"], "access")
            self.assertEqual(s["thread"], a["thread"])
            self.assertTrue(s["frames"], "empty access stack")
        self.assertEqual(f["size"], f["accesses"][0]["size"], "size is that of the current access")
        self.assertNotEqual(f["accesses"][0]["thread"], f["accesses"][1]["thread"])
        self.assertIn("write", {a["type"] for a in f["accesses"]}, "a race needs a write")
        for t in f["threads"]:
            if t["created_stack"] is not None:
                self.assertEqual(f["stacks"][t["created_stack"]]["role"], "thread-created")
        for i, s in enumerate(f["stacks"]):
            self.assertEqual(s["id"], i)
            for fr in s["frames"]:
                self.assertEqual(set(fr), FRAME_FIELDS)

    def assertAccessAt(self, finding, access, function, source, marker):
        self.assertFrame(stack(finding, access["stack"]), function, source,
                         marker_line(source, marker), f"access by {access['thread']}")

    def assertRaceFree(self, r):
        self.assertClean(r)
        self.assertIn("done", r.stdout)


# ---- races ----

class CounterRace(RaceFixture):
    """The chapter's unsynchronized counter: 4 threads x 100000 counter++."""
    SRC = race_source("counter")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.r = race_run(cls.COMPILER, "counter")

    def test_exactly_one_race_and_exit_code(self):
        self.one_race(self.r)
        self.assertIn("expected: 400000", self.r.stdout)  # the program still runs to the end

    def test_location_is_the_global_counter(self):
        f = self.one_race(self.r)
        self.assertEqual(f["location"]["kind"], "global")
        self.assertEqual(f["location"]["name"], "counter")
        self.assertEqual(f["location"]["offset"], 0)
        self.assertIsNone(f["location"]["thread"])
        self.assertIsNone(f["location"]["block_stack"])
        self.assertEqual(int(f["address"], 16), printed_address(self.r, "counter"))
        self.assertEqual(f["size"], 4)

    def test_both_accesses_are_the_increment(self):
        f = self.one_race(self.r)
        for a in f["accesses"]:
            self.assertAccessAt(f, a, "increment", self.SRC, "@counter-increment")
            self.assertFalse(a["atomic"])
            self.assertEqual(a["size"], 4)
            self.assertEqual(a["locks_held"], [])
        self.assertIn("write", {a["type"] for a in f["accesses"]})

    def test_threads_created_by_main(self):
        f = self.one_race(self.r)
        threads = {t["id"]: t for t in f["threads"]}
        for a in f["accesses"]:
            t = threads[a["thread"]]
            self.assertEqual(t["parent"], "T1")
            self.assertIsInstance(t["tid"], int)
            self.assertIsNotNone(t["created_stack"])
            self.assertHasFrame(stack(f, t["created_stack"]), "main", self.SRC,
                                marker_line(self.SRC, "@counter-create"))

    def test_summary_and_text_report(self):
        f = self.one_race(self.r)
        line = marker_line(self.SRC, "@counter-increment")
        self.assertIn("counter", f["summary"])
        self.assertIn("counter.c:", f["summary"])
        self.assertIn("data-race", self.r.stderr)
        self.assertIn(f"counter.c:{line}", self.r.stderr)

    def test_same_binary_also_preloaded(self):
        """Linked and preloaded at once: one concwatch, the same single finding."""
        r = race_run(self.COMPILER, "counter", preload=True)
        f = self.one_race(r)
        self.assertEqual(f["location"]["name"], "counter")


class RaceFields(RaceFixture):
    """Every data race the positive fixtures produce has the documented fields."""
    POSITIVES = (("counter",), ("heap_fields",), ("stack_race", "thread"), ("stack_race", "main"),
                 ("memcpy_race",), ("wrong_lock",), ("fences", "relaxed"), ("annotations", "none"))

    def test_documented_fields(self):
        for args in self.POSITIVES:
            with self.subTest(fixture=" ".join(args)):
                found = self.races(race_run(self.COMPILER, *args))
                self.assertTrue(found, "no data race reported")
                for f in found:
                    self.check_race_fields(f)


class CounterMutex(RaceFixture):
    NEEDS = "counter_mutex"

    def test_no_race(self):
        r = race_run(self.COMPILER, "counter_mutex")
        self.assertClean(r)
        self.assertIn("expected: 400000, actual: 400000", r.stdout)


class HeapRace(RaceFixture):
    """A malloc'd struct: locked_field always under a mutex, racy_field without."""
    NEEDS = "heap_fields"
    SRC = race_source("heap_fields")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.r = race_run(cls.COMPILER, "heap_fields")

    def test_one_race_on_racy_field_only(self):
        f = self.one_race(self.r)
        self.assertEqual(int(f["address"], 16), printed_address(self.r, "racy_field"))
        self.assertNotEqual(int(f["address"], 16), printed_address(self.r, "locked_field"))
        for a in f["accesses"]:
            self.assertAccessAt(f, a, "hammer", self.SRC, "@racy-access")
            self.assertEqual(a["size"], 8)

    def test_heap_block_and_allocation_stack(self):
        f = self.one_race(self.r)
        loc = f["location"]
        block, offset = map(int, re.search(r"block (\d+) offset (\d+)", self.r.stdout).groups())
        self.assertEqual(loc["kind"], "heap")
        self.assertIsNone(loc["name"])
        self.assertEqual(loc["block_size"], block)
        self.assertEqual(loc["offset"], offset, "offset of the racy bytes in the block")
        self.assertIsNotNone(loc["block_stack"])
        s = f["stacks"][loc["block_stack"]]
        self.assertEqual(s["role"], "allocated")
        self.assertHasFrame(s["frames"], "main", self.SRC, marker_line(self.SRC, "@heap-alloc"))


class StackRace(RaceFixture):
    """Another thread writes a thread's stack variable."""
    NEEDS = "stack_race"
    SRC = race_source("stack_race")

    def check(self, mode, owner_function, owner_marker):
        r = race_run(self.COMPILER, "stack_race", mode)
        f = self.one_race(r)
        self.assertEqual(f["location"]["kind"], "stack")
        self.assertIsNone(f["location"]["name"])
        self.assertEqual(int(f["address"], 16), printed_address(r, "local"))
        by_function = {top(f, a)["function"]: a for a in f["accesses"]}
        self.assertEqual(set(by_function), {owner_function, "intruder"})
        owner, intruder = by_function[owner_function], by_function["intruder"]
        self.assertAccessAt(f, owner, owner_function, self.SRC, owner_marker)
        self.assertAccessAt(f, intruder, "intruder", self.SRC, "@stack-intruder-write")
        self.assertEqual({owner["type"], intruder["type"]}, {"write"})
        self.assertEqual(f["location"]["thread"], owner["thread"], "whose stack")
        return f, owner

    def test_stack_of_a_created_thread(self):
        f, owner = self.check("thread", "owner", "@stack-owner-write")
        self.assertNotEqual(owner["thread"], "T1")

    def test_stack_of_the_main_thread(self):
        f, owner = self.check("main", "owner_main", "@stack-main-write")
        self.assertEqual(f["location"]["thread"], "T1")


class MemcpyRace(RaceFixture):
    NEEDS = "memcpy_race"
    SRC = race_source("memcpy_race")

    def test_race_on_buffer_through_memcpy(self):
        r = race_run(self.COMPILER, "memcpy_race")
        f = self.one_race(r)
        loc = f["location"]
        self.assertEqual(loc["kind"], "global")
        # "buffer", or an element of it ("buffer[0]", "buffer+8") if the name says where.
        self.assertRegex(loc["name"] or "", r"^buffer(\[\d+\]|\+\d+)?$")
        start = printed_address(r, "buffer")
        self.assertTrue(start <= int(f["address"], 16) < start + 256, f["address"])
        self.assertEqual(loc["offset"], int(f["address"], 16) - start, "offset into buffer")
        line = marker_line(self.SRC, "@memcpy-call")
        for a in f["accesses"]:
            self.assertEqual(a["type"], "write")
            # The innermost frame may be memcpy itself; the copier's call must be there.
            self.assertHasFrame(stack(f, a["stack"]), "copier", self.SRC, line)


class WrongLockRace(RaceFixture):
    """Each thread holds a lock, but not the same one."""
    NEEDS = "wrong_lock"
    SRC = race_source("wrong_lock")

    def test_race_with_the_locks_each_side_held(self):
        r = race_run(self.COMPILER, "wrong_lock")
        f = self.one_race(r)
        self.assertEqual(f["location"]["kind"], "global")
        self.assertEqual(f["location"]["name"], "total")
        lines = {marker_line(self.SRC, "@wrong-lock-one"): "lock_one",
                 marker_line(self.SRC, "@wrong-lock-two"): "lock_two"}
        seen = {top(f, a)["line"] for a in f["accesses"]}
        self.assertEqual(seen, set(lines), "one access on each side")
        # Each side holds its own lock (recorded for the earlier access too).
        names = {l["id"]: l["name"] for l in f["locks"]}
        for a in f["accesses"]:
            self.assertEqual([names.get(l) for l in a["locks_held"]], [lines[top(f, a)["line"]]],
                             f"locks held by {a['thread']}")
        self.assertEqual({l["type"] for l in f["locks"]}, {"mutex"})


class MessagePassingControls(RaceFixture):
    """The unsynchronized shapes of the fence and annotation fixtures must be reported,
    or their race-free variants prove nothing."""
    NEEDS = "fences"

    def check(self, name, mode, variable, writer, reader, write_marker, read_marker):
        src = race_source(name)
        f = self.one_race(race_run(self.COMPILER, name, mode))
        self.assertEqual(f["location"]["name"], variable)
        by_type = {a["type"]: a for a in f["accesses"]}
        self.assertEqual(set(by_type), {"read", "write"})
        self.assertAccessAt(f, by_type["write"], writer, src, write_marker)
        self.assertAccessAt(f, by_type["read"], reader, src, read_marker)

    def test_relaxed_flag_without_fences_is_a_race(self):
        self.check("fences", "relaxed", "payload", "relaxed_writer", "relaxed_reader",
                   "@relaxed-write", "@relaxed-read")

    def test_uninstrumented_flag_without_annotations_is_a_race(self):
        self.check("annotations", "none", "data", "writer", "reader",
                   "@annotated-write", "@annotated-read")


# ---- race-free programs: no finding at all, exit status 0 ----

class NoRace(RaceFixture):
    NEEDS = "no_race"

    def mode(self, mode):
        r = race_run(self.COMPILER, "no_race", mode)
        self.assertRaceFree(r)
        return r

    def test_mutex(self):
        self.mode("mutex")

    def test_rwlock_readers_and_writer(self):
        self.mode("rwlock")

    def test_spinlock(self):
        self.mode("spinlock")

    def test_semaphore_handoff(self):
        self.mode("semaphore")

    def test_condition_variable_handoff(self):
        self.mode("condvar")

    def test_barrier_phases(self):
        self.mode("barrier")

    def test_message_through_a_pipe(self):
        self.mode("pipe")

    def test_message_through_a_socket(self):
        self.mode("socket")

    def test_pthread_once(self):
        self.mode("once")

    def test_create_and_join_order(self):
        self.mode("create-join")

    def test_atomics_against_atomics(self):
        self.mode("atomics")

    def test_thread_private_data(self):
        self.mode("private")

    def test_adjacent_bytes_of_one_word(self):
        self.mode("adjacent")

    def test_heap_memory_reused_after_free(self):
        r = self.mode("reuse")
        self.assertIn("same address", r.stdout,
                      "B never got A's block back: the test proves nothing")

    def test_stack_and_tls_of_a_dead_thread_reused(self):
        # Prints "same stack" when glibc reused the stack (usual); clean either way.
        self.mode("thread-reuse")


class OrderedMessagePassing(RaceFixture):
    NEEDS = "fences"

    def test_release_acquire(self):
        self.assertRaceFree(race_run(self.COMPILER, "fences", "acq-rel"))

    def test_relaxed_atomics_with_fences(self):
        # ThreadSanitizer reports this one (it ignores fences); concwatch must not.
        self.assertRaceFree(race_run(self.COMPILER, "fences", "fence"))

    def test_tsan_acquire_release_annotations(self):
        self.assertRaceFree(race_run(self.COMPILER, "annotations", "tsan"))

    def test_annotate_happens_before_after(self):
        self.assertRaceFree(race_run(self.COMPILER, "annotations", "annotate"))


# ---- the instrumented code in a shared library, concwatch only preloaded ----

class PreloadOnly(RaceFixture):
    NEEDS = "libcounter_instrumented.so"
    SRC = race_source("counter")

    def library(self):
        return race_binary(self.COMPILER, "libcounter_instrumented.so")

    def test_needs_the_runtime(self):
        """Without concwatch the library's __tsan_* calls cannot resolve."""
        r = run([DRIVER, self.library()], timeout=30, preload=False)
        self.assertEqual(r.rc, 3, r.stderr)
        self.assertIn("undefined symbol: __tsan_", r.stderr)

    def test_counter_race_under_ld_preload(self):
        r = run([DRIVER, self.library()], timeout=30)
        f = self.one_race(r)
        self.assertEqual(f["location"]["kind"], "global")
        self.assertEqual(f["location"]["name"], "counter")
        self.assertEqual(int(f["address"], 16), printed_address(r, "counter"))
        for a in f["accesses"]:
            self.assertAccessAt(f, a, "increment", self.SRC, "@counter-increment")
            self.assertTrue((top(f, a)["module"] or "").endswith("libcounter_instrumented.so"))
        self.assertIn("expected: 400000", r.stdout)
        self.check_race_fields(f)


for _compiler in COMPILERS:
    for _mixin in (CounterRace, RaceFields, CounterMutex, HeapRace, StackRace, MemcpyRace, WrongLockRace,
                   MessagePassingControls, NoRace, OrderedMessagePassing, PreloadOnly):
        _name = f"{_mixin.__name__}_{_compiler}"
        globals()[_name] = type(_name, (_mixin, ConcwatchTestCase), {"COMPILER": _compiler})
del _compiler, _mixin, _name


if __name__ == "__main__":
    unittest.main()
