#!/usr/bin/env python3
"""tracetool.py on good and malformed trace-events input.

usage: test-tracetool.py PATH/TO/tracetool.py
Runs tracetool as a program (as the build does) and prints TAP.  A malformed
line must fail the run with "FILE:LINE: error: ..." on stderr and leave no
output file behind.
"""

import os
import subprocess
import sys
import tempfile

# (trace-events text, line of the error, text the message must contain)
MALFORMED = [
    ('foo(int) "x"', 1, 'argument "int" needs a type and a name'),
    ('foo(unsigned int) "%u"', 1, 'argument "unsigned int" has no name'),
    ('foo(const char *) "%s"', 1, 'needs a type and a name'),
    ('foo(int a, int a) "%d %d"', 1, 'argument name "a" used twice'),
    ('foo(int a[4]) "%p"', 1, 'only a type'),
    ('foo(void (*fn)(void)) "%p"', 1, 'cannot parse trace event'),
    ('foo(*int a) "%d"', 1, '"*" before the type'),
    ('foo(int a, ) "%d"', 1, 'empty argument'),
    ('foo int a "%d"', 1, 'expected NAME(ARGS) "FORMAT"'),
    ('foo(int a', 1, 'expected NAME(ARGS) "FORMAT"'),
    ('9foo(int a) "%d"', 1, 'cannot parse trace event'),
    ('foo(int a)', 1, 'missing format string'),
    ('foo(int a) %d', 1, 'format: unexpected text "%d"'),
    ('foo(int a) "%d" trailing', 1, 'format: unexpected text "trailing"'),
    ('foo(int a) "%d', 1, 'format: unexpected text'),
    ('foo(uint64_t a) "%"PRIq64', 1, 'unknown macro PRIq64'),
    ('foo(uint64_t a) "a"PRIx64', 1, 'PRIx64 must follow the start of a conversion'),
    ('foo(uint64_t a) PRIx64', 1, 'PRIx64 must follow the start of a conversion'),
    ('foo(int a) "%d %d"', 1, 'format has 2 conversions but foo has 1 argument'),
    ('foo(int a, int b) "%d"', 1, 'format has 1 conversion but foo has 2 arguments'),
    ('foo(void) "%"', 1, 'incomplete conversion'),
    ('foo(int a) "%n"', 1, '%n is not allowed'),
    ('foo(int a) "%d\\n"', 1, 'must not contain a newline'),
    ('vcpu foo(int a) "%d"', 1, 'unknown property "vcpu"'),
    ('foo(int a1, int a2, int a3, int a4, int a5, int a6, int a7, int a8, int a9, '
     'int a10, int a11) "%d%d%d%d%d%d%d%d%d%d%d"', 1, 'more than 10'),
    # The line number counts comments and blank lines.
    ('# comment\n\nok_event(int a) "%d"\n  \nbroken(int a) "%d" x\n', 5, 'unexpected text "x"'),
    ('dup(int a) "%d"\n# again\ndup(int b) "%d"\n', 3,
     'duplicate trace event dup (first on line 1)'),
]

GOOD = '''\
# every shape the tree uses
noargs(void) "nothing"
empty_args() ""
ptrs(const char *name, void *opaque, char*tight, const uint8_t * const *pp) "%s %p %p %p"
pri(uint64_t iova, uint32_t len, uintptr_t p) "iova 0x%016"PRIx64" len %"PRIu32" p 0x%"PRIxPTR
quoted(const char *s) "say \\"%s\\" 100%%"
star(int width, int v) "%*d"
disable gone(int a, const char *b) "%d %s"
'''


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, ok, what, detail=''):
        self.n += 1
        if not ok:
            self.failed += 1
        print('%s %d - %s' % ('ok' if ok else 'not ok', self.n, what))
        if not ok and detail:
            for line in detail.splitlines():
                print('# ' + line)


def run_tracetool(tracetool, tmp, text, *extra, group='t'):
    src = os.path.join(tmp, 'trace-events')
    hdr = os.path.join(tmp, 'trace-%s.h' % group)
    out = os.path.join(tmp, 'trace-%s.c' % group)
    for p in (hdr, out):
        if os.path.exists(p):
            os.unlink(p)
    with open(src, 'w', encoding='utf-8') as f:
        f.write(text)
    r = subprocess.run([sys.executable, tracetool, *extra, '--group=' + group, src, hdr, out],
                       capture_output=True, text=True)
    return r, src, hdr, out


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def main():
    tracetool = sys.argv[1]
    tap = Tap()
    print('1..%d' % (len(MALFORMED) + 14))
    with tempfile.TemporaryDirectory() as tmp:
        for text, line, msg in MALFORMED:
            r, src, hdr, out = run_tracetool(tracetool, tmp, text + '\n')
            want = '%s:%d: error: ' % (src, line)
            ok = (r.returncode == 1 and r.stderr.startswith(want) and msg in r.stderr
                  and not os.path.exists(hdr) and not os.path.exists(out))
            tap.check(ok, 'malformed %r -> line %d: %s' % (text.splitlines()[-1], line, msg),
                      'rc %d, stderr: %s' % (r.returncode, r.stderr))

        r, src, hdr, out = run_tracetool(tracetool, tmp, GOOD, '--backends=log')
        tap.check(r.returncode == 0 and r.stderr == '', 'good file accepted', r.stderr)
        h = read(hdr) if r.returncode == 0 else ''
        c = read(out) if r.returncode == 0 else ''
        tap.check('static inline void trace_ptrs(const char *name, void *opaque, char *tight, '
                  'const uint8_t *const *pp)' in h, 'pointer arguments normalised', h)
        tap.check('trace_log_emit("pri " "iova 0x%016" PRIx64 " len %" PRIu32 " p 0x%" PRIxPTR '
                  '"\\n", iova, len, p);' in h, 'PRI macros kept in the format', h)
        tap.check('static inline void trace_empty_args(void)' in h, '"()" means no arguments', h)
        tap.check('trace_log_emit("quoted " "say \\"%s\\" 100%%" "\\n", s);' in h,
                  'escaped quotes and %% kept', h)
        tap.check('#define TRACE_GONE_ENABLED 0' in h and 'trace_log_emit("gone' not in h
                  and '_TRACE_GONE_DSTATE' not in h + c and '.dstate = NULL' in c,
                  'disable: no code, no state, known by name', h + c)
        tap.check('#include "trace-t.h"' in c and 'trace_event_register_group("t", trace_events_t)'
                  in c, 'source includes its header and registers the group', c)

        r, src, hdr, out = run_tracetool(tracetool, tmp, GOOD, '--backends=nop')
        h = read(hdr) if r.returncode == 0 else ''
        tap.check(r.returncode == 0 and 'trace_log_emit' not in h and 'STAP_PROBE' not in h
                  and '#define TRACE_NOARGS_BACKEND_DSTATE() (0)' in h,
                  'nop backend: empty bodies', r.stderr + h)

        r, src, hdr, out = run_tracetool(tracetool, tmp, GOOD, '--backends=log,dtrace')
        h = read(hdr) if r.returncode == 0 else ''
        c = read(out) if r.returncode == 0 else ''
        tap.check(r.returncode == 0 and '#include <sys/sdt.h>' in h
                  and 'STAP_PROBE4(aperture, ptrs, name, opaque, tight, pp);' in h
                  and 'STAP_PROBE(aperture, noargs);' in h and 'aperture_gone' not in h + c
                  and 'aperture_ptrs_semaphore\n    __attribute__((section(".probes")' in c,
                  'dtrace backend: probe and semaphore per live event', r.stderr + h)

        r, _, hdr, _ = run_tracetool(tracetool, tmp, GOOD, '--backends=log,nop')
        tap.check(r.returncode == 2 and 'nop cannot be combined' in r.stderr
                  and not os.path.exists(hdr), 'nop with another backend refused', r.stderr)
        r, _, _, _ = run_tracetool(tracetool, tmp, GOOD, '--backends=simple')
        tap.check(r.returncode == 2 and 'unknown backend "simple"' in r.stderr,
                  'unknown backend refused', r.stderr)
        r, _, _, _ = run_tracetool(tracetool, tmp, GOOD, group='hw/vfio')
        tap.check(r.returncode == 2 and 'bad group name' in r.stderr, 'group must be an identifier',
                  r.stderr)

        missing = os.path.join(tmp, 'none')
        r = subprocess.run([sys.executable, tracetool, '--group=t', missing,
                            os.path.join(tmp, 'x.h'), os.path.join(tmp, 'x.c')],
                           capture_output=True, text=True)
        tap.check(r.returncode == 1 and missing in r.stderr, 'missing input named', r.stderr)

        reg = os.path.join(tmp, 'reg.c')
        r = subprocess.run([sys.executable, tracetool, '--registry=' + reg, 'root', 'hw_vfio'],
                           capture_output=True, text=True)
        c = read(reg) if r.returncode == 0 else ''
        tap.check('{ "hw_vfio", trace_events_hw_vfio },' in c and '{ NULL, NULL },' in c,
                  'registry lists the groups', r.stderr + c)
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
