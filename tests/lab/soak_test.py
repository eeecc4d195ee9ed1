#!/usr/bin/python3
"""lab/netns/soak.py's pure parts (`lab/lab load --soak`, bench/soak.sh): the schedule scaled to
the hold, the RSS/fd flatness verdict, the startup line that counts as an adoption, and which of
bulwarkd's log lines are errors. No root, no namespace, < 1 s.

    soak_test.py        (unittest: exit 0 pass, 1 fail)
"""
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # nothing left in lab/netns/
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab" / "netns"))
import soak  # noqa: E402


def kinds(plan):
    return {k: sum(1 for _, x in plan if x == k) for k in ("apply", "drift", "charon", "kill")}


class Schedule(unittest.TestCase):
    def test_the_hour(self):
        # an apply every 60 s, a foreign edit every 300 s, a charon restart every 900 s, one kill,
        # nothing but the kill in the last 15 %
        hour = soak.schedule(3600)
        self.assertEqual(kinds(hour), {"apply": 51, "drift": 10, "charon": 4, "kill": 1})
        self.assertEqual([t for t, k in hour if k == "kill"], [1800.0])
        self.assertEqual(hour, sorted(hour))
        self.assertTrue(all(t < 3600 * 0.85 for t, _ in hour))

    def test_short_holds_get_one_of_each(self):
        for d in (60, 300):
            self.assertTrue(all(n >= 1 for n in kinds(soak.schedule(d)).values()), d)
        self.assertEqual([t for t, k in soak.schedule(300) if k == "apply"], [30, 90, 150, 210])

    def test_warmup(self):
        self.assertEqual((soak.warmup_s(3600), soak.warmup_s(300)), (300, 60))


class Flat(unittest.TestCase):
    S = [(0, 100.0), (10, 50.0), (60, 200.0), (70, 210.0), (80, 190.0)]

    def test_baseline_is_the_first_sample_after_the_warmup(self):
        f = soak.flat(self.S, 0, 60)
        self.assertTrue(f["ok"])
        self.assertEqual((f["baseline"], f["end"], f["samples"]), (200.0, 190.0, 3))

    def test_more_than_ten_percent_is_not_flat(self):
        self.assertFalse(soak.flat(self.S + [(90, 222.0)], 0, 60)["ok"])

    def test_rss_by_the_floor_of_each_window(self):  # ci2's first process: an apply's working set
        rss = [(60.9, 21644), (71.0, 21748), (81.0, 21672), (91.1, 24064), (101.1, 23092), (111.1, 21856),
               (121.2, 21844), (131.2, 21932), (141.2, 21840), (151.3, 23268), (161.3, 23136)]
        self.assertFalse(soak.flat(rss, 0, 60)["ok"])
        self.assertEqual(soak.flat(rss, 0, 60, floor_s=60)["max_dev_percent"], 0.9)

    def test_fds_by_the_floor_of_each_window(self):  # connections open at a sample do not count
        fds = [(60, 15), (70, 18), (80, 17), (120, 15), (130, 19), (180, 16)]
        self.assertFalse(soak.flat(fds, 0, 60)["ok"])
        f = soak.flat(fds, 0, 60, floor_s=60)
        self.assertTrue(f["ok"])
        self.assertEqual((f["samples"], f["end"]), (3, 16))
        self.assertFalse(soak.flat(fds + [(240, 18), (250, 19)], 0, 60, floor_s=60)["ok"])  # the floor rose

    def test_from_the_process_start(self):  # a restarted bulwarkd has its own warm-up
        self.assertEqual(soak.flat(self.S, 10, 60)["baseline"], 210.0)
        self.assertEqual(soak.flat(self.S, 0, 1000)["samples"], 0)


class Adopted(unittest.TestCase):
    def test_adoption(self):
        self.assertTrue(soak.adopted("in sync, nothing to apply"))
        self.assertTrue(soak.adopted("firewall: in sync; health: 4 change(s) as one atomic replacement"))

    def test_a_dnat_map_moved_back_is_no_adoption(self):  # the killed process had moved the VIP to lb2
        self.assertFalse(soak.adopted("firewall: 2 change(s) as set element updates; health: 4 change(s) as one "
                                      "atomic replacement"))

    def test_a_write_is_not_an_adoption(self):
        self.assertFalse(soak.adopted("firewall: 2 change(s) as one atomic replacement; health: in sync"))
        self.assertFalse(soak.adopted("firewall: in sync; links: 1 change(s) as one atomic replacement"))


class LogErrors(unittest.TestCase):
    LINES = ["bulwarkd: startup: firewall: in sync; health: 4 change(s) as one atomic replacement",
             "bulwarkd: ready: revision 3; control socket /run/x.sock",
             "bulwarkd: event loop held 312 ms by apply",
             "bulwarkd: drift watch disabled: netlink: Operation not permitted",
             "bulwarkd: metrics: bind 127.0.0.1:9469: Address in use (cannot listen)",
             "bulwarkd: health: lb1 down (3 failed checks)",
             "bulwarkd: health: check lb-https on lb2 (203.0.113.12:443): up -> down (TLS handshake failed); "
             "dnat4_vip-http now lb1 (203.0.113.11) (1 element update(s), 0.304 ms)",
             "bulwarkd: health: check web-http on web1 (10.20.0.11:8080): unknown -> up", ""]

    def test_routine_lines_are_not_errors(self):
        self.assertEqual(soak.log_errors(self.LINES), (self.LINES[3:6], self.LINES[2:3] + self.LINES[6:7]))

    def test_expected_lines_are_left_out(self):
        self.assertEqual(soak.log_errors(self.LINES, ("lb1 down", "lb2"))[0], self.LINES[3:5])


if __name__ == "__main__":
    unittest.main()
