"""Process-level behaviour of the shim: options, exit codes, output paths, fork and exec,
silence on correct programs."""
import os
import subprocess
import tempfile
import unittest

from harness import LIB, ConcwatchTestCase, fixture, fixture_source, marker_line, run, stack


def run_raw(argv, options, env=None):
    """Run without the harness's json= option (for option-error tests)."""
    full_env = dict(os.environ, LD_PRELOAD=LIB, CONCWATCH_OPTIONS=options)
    if env:
        full_env.update(env)
    return subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=60)


class Options(ConcwatchTestCase):
    def assertStoppedBeforeMain(self, proc, *words):
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stdout, "", "main ran")
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith("concwatch: "), lines[0])
        for w in words:
            self.assertIn(w, lines[0])

    def test_unknown_option(self):
        self.assertStoppedBeforeMain(run_raw([fixture("misc"), "clean"], "bogus=1"), "bogus")

    def test_bad_integer(self):
        self.assertStoppedBeforeMain(run_raw([fixture("misc"), "clean"], "exitcode=abc"), "exitcode", "abc")

    def test_out_of_range(self):
        self.assertStoppedBeforeMain(run_raw([fixture("misc"), "clean"], "exitcode=300"), "exitcode", "300")

    def test_bad_bool(self):
        self.assertStoppedBeforeMain(run_raw([fixture("misc"), "clean"], "symbolize=maybe"), "symbolize")

    def test_missing_value(self):
        self.assertStoppedBeforeMain(run_raw([fixture("misc"), "clean"], "json"), "json")

    def test_unusable_json_path(self):
        self.assertStoppedBeforeMain(run_raw([fixture("misc"), "clean"], "json=/nonexistent/dir/r.json"),
                                     "/nonexistent/dir/r.json")

    def test_unusable_log_path(self):
        self.assertStoppedBeforeMain(run_raw([fixture("misc"), "clean"], "log_path=/nonexistent/dir/log"),
                                     "/nonexistent/dir/log")

    def test_help_lists_every_option(self):
        proc = run_raw([fixture("misc"), "clean"], "help")
        self.assertEqual(proc.returncode, 0)
        for name in ("json", "log_path", "exitcode", "report_single_thread_cycles", "stack_depth"):
            self.assertIn(name, proc.stdout)

    def test_options_are_documented(self):
        proc = run_raw([fixture("misc"), "clean"], "help")
        names = [line.split()[0] for line in proc.stdout.splitlines()[1:] if line.strip()]
        with open(os.path.join(os.path.dirname(__file__), "../../docs/options.md")) as f:
            doc = f.read()
        for name in names:
            self.assertIn(f"`{name}`", doc, f"option {name} missing from docs/options.md")


class ExitCodes(ConcwatchTestCase):
    def test_finding_sets_exit_code(self):
        self.assertEqual(run([fixture("ab_ba")]).rc, 66)

    def test_custom_exit_code(self):
        self.assertEqual(run([fixture("ab_ba")], "exitcode=3").rc, 3)

    def test_exit_code_zero_keeps_program_status(self):
        self.assertEqual(run([fixture("ab_ba"), "exit", "5"], "exitcode=0").rc, 5)

    def test_explicit_exit_call_also_gets_exit_code(self):
        r = run([fixture("ab_ba"), "exit", "5"])
        self.assertEqual(r.rc, 66)
        self.assertEqual(len(r.findings()), 1)

    def test_clean_program_keeps_its_status_and_is_silent(self):
        r = run([fixture("misc"), "clean"])
        self.assertClean(r)
        self.assertEqual(r.stderr, "")
        self.assertEqual(r.stdout, "clean done\n")
        self.assertEqual(r.report["findings"], [])  # the document exists and is empty

    def test_program_without_threads(self):
        r = run([fixture("misc"), "nothreads"])
        self.assertClean(r)
        self.assertEqual(r.stdout, "no threads\n")

    def test_clean_program_without_options_prints_nothing(self):
        proc = run_raw([fixture("misc"), "clean"], "")
        self.assertEqual((proc.returncode, proc.stderr), (0, ""))


class Outputs(ConcwatchTestCase):
    def test_log_path_takes_the_text_report(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "cw.%p.log")
            r = run([fixture("ab_ba")], f"log_path={log}")
            self.assertEqual(r.stderr, "")
            logs = [n for n in os.listdir(d) if n.startswith("cw.")]
            self.assertEqual(len(logs), 1)
            self.assertEqual(logs[0], f"cw.{r.report['pid']}.log")
            with open(os.path.join(d, logs[0])) as f:
                text = f.read()
            self.assertIn("lock-order-inversion", text)
            self.assertIn("ab_ba.c:", text)

    def test_no_log_file_without_findings(self):
        with tempfile.TemporaryDirectory() as d:
            run([fixture("misc"), "clean"], f"log_path={d}/cw.log")
            self.assertEqual(os.listdir(d), [])

    def test_previous_run_is_replaced(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.json")
            for _ in range(2):
                run_raw([fixture("ab_ba")], f"json={path}")
            with open(path) as f:
                import json
                self.assertEqual(len(json.load(f)["findings"]), 1)

    def test_report_written_before_the_program_ends(self):
        # A finding must be on disk even if the process is killed right after it.
        r = run([fixture("ab_ba"), "exit", "0"], "")
        self.assertEqual(len(r.findings()), 1)


class ForkAndExec(ConcwatchTestCase):
    def test_forked_child_writes_its_own_report_with_pid_pattern(self):
        r = run([fixture("misc"), "fork"], json_name="r.%p.json")
        self.assertIn("parent saw child exit 66", r.stdout)  # the child had the finding
        self.assertEqual(r.rc, 0)  # the parent had none
        self.assertEqual(len(r.reports), 2)
        by_count = sorted(r.reports.values(), key=lambda d: len(d["findings"]))
        parent, child = by_count
        self.assertEqual(parent["findings"], [])
        self.assertEqual(len(child["findings"]), 1)
        f = child["findings"][0]
        self.assertEqual(f["pid"], child["pid"])
        self.assertNotEqual(child["pid"], parent["pid"])
        src = fixture_source("misc")
        requests = [stack(f, e["request_stack"])[0]["line"] for e in f["cycle"]]
        self.assertIn(marker_line(src, "@child-request"), requests)

    def test_forked_child_appends_to_a_shared_report(self):
        r = run([fixture("misc"), "fork"])
        doc = r.report
        self.assertEqual(len(doc["findings"]), 1)
        self.assertNotEqual(doc["findings"][0]["pid"], doc["pid"])  # found in the child

    def test_exec_keeps_the_report_of_the_first_image(self):
        r = run([fixture("misc"), "exec"])
        self.assertEqual(r.rc, 66)
        found = r.findings("lock-order-inversion")
        self.assertEqual(len(found), 2)  # one per program image, same pid
        self.assertEqual({f["pid"] for f in found}, {r.report["pid"]})


if __name__ == "__main__":
    unittest.main()
