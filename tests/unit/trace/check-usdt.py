#!/usr/bin/env python3
"""Check that a program built with the dtrace backend carries one USDT probe
note (provider "aperture", with a semaphore) per compiled-in event it calls.

usage: check-usdt.py READELF PROGRAM TRACE-EVENTS
Prints TAP.
"""

import re
import subprocess
import sys


def main():
    readelf, program, events_file = sys.argv[1:4]
    out = subprocess.run([readelf, '-n', '--wide', program], check=True,
                         capture_output=True, text=True).stdout
    # "Provider: P" / "Name: N" / "Location: ..., Semaphore: 0x..." per note.
    probes = {}
    for m in re.finditer(r'Provider: (\S+)\s+Name: (\S+)\s+Location: [^\n]*Semaphore: (0x[0-9a-f]+)',
                         out):
        probes.setdefault((m.group(1), m.group(2)), set()).add(int(m.group(3), 16))

    expected = []
    with open(events_file, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#') or line.startswith('disable '):
                continue
            expected.append(line.split('(')[0].strip())

    print('1..%d' % (len(expected) + 2))
    n = 0
    ok = True
    for name in expected:
        n += 1
        sems = probes.get(('aperture', name))
        if sems and 0 not in sems:
            print('ok %d - probe aperture:%s with semaphore' % (n, name))
        else:
            ok = False
            print('not ok %d - probe aperture:%s (notes: %s)' % (n, name, sems))
    n += 1
    disabled = [k for k in probes if k[1] == 'test_trace_disabled']
    print('%s %d - no probe for the disabled event' % ('not ok' if disabled else 'ok', n))
    ok = ok and not disabled
    n += 1
    foreign = [k for k in probes if k[0] != 'aperture']
    print('%s %d - only provider aperture (%s)' % ('not ok' if foreign else 'ok', n, foreign))
    ok = ok and not foreign
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
