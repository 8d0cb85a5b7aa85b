#!/usr/bin/env python3
"""Sum the results of Aperture's test suites into one line.

Reads every meson testlog (*.json, one JSON object per line) and every rig
summary (*.vm, a line 'vm: N passed, N failed, N skipped') in the results
directory.  A GLib test program speaks TAP, so its individual checks are
counted; a program that died before reporting counts as one failure.
"""

import json
import os
import re
import sys

TAP_RE = re.compile(r'^(not ok|ok)\b(.*)$')


def count_tap(stdout):
    passed = failed = skipped = 0
    for line in stdout.splitlines():
        m = TAP_RE.match(line.strip())
        if not m:
            continue
        rest = m.group(2)
        if '# SKIP' in rest or '# skip' in rest:
            skipped += 1
        elif m.group(1) == 'ok' or '# TODO' in rest:
            passed += 1
        else:
            failed += 1
    return passed, failed, skipped


def count_meson_log(path):
    passed = failed = skipped = 0
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            t = json.loads(line)
            result = t.get('result', '')
            p, fl, s = count_tap(t.get('stdout') or '')
            if p + fl + s == 0:
                # Not TAP, or it produced no results at all.
                if result in ('OK', 'EXPECTEDFAIL'):
                    p = 1
                elif result == 'SKIP':
                    s = 1
                else:
                    fl = 1
            elif result not in ('OK', 'SKIP', 'EXPECTEDFAIL') and fl == 0:
                # TAP results were fine but the program failed (crash, leak, timeout).
                fl = 1
            passed += p
            failed += fl
            skipped += s
    return passed, failed, skipped


def main():
    resdir = sys.argv[1]
    total = [0, 0, 0]
    for name in sorted(os.listdir(resdir)):
        path = os.path.join(resdir, name)
        if name.endswith('.json'):
            counts = count_meson_log(path)
        elif name.endswith('.vm'):
            with open(path, encoding='utf-8') as f:
                m = re.search(r'(\d+) passed, (\d+) failed(?:, (\d+) skipped)?', f.read())
            if not m:
                counts = (0, 1, 0)
            else:
                counts = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
        else:
            continue
        print('  %-10s %d passed, %d failed, %d skipped' % (name.rsplit('.', 1)[0] + ':', *counts))
        for i in range(3):
            total[i] += counts[i]
    print('%d passed, %d failed, %d skipped' % tuple(total))
    return 1 if total[1] else 0


if __name__ == '__main__':
    sys.exit(main())
