#!/usr/bin/env python3
"""Generate a directory's trace header and event table from its trace-events file.

A trace-events line declares one event, as in QEMU:

    vfio_container_dma_map(int fd, uint64_t iova, uint64_t size) "fd %d iova 0x%"PRIx64" size 0x%"PRIx64

Blank lines and lines starting with '#' are ignored.  An optional leading
'disable' keyword compiles the event out entirely.  The format is one or more
C string literals and PRI* macros; it must have one conversion per argument
and no trailing newline.  docs/devel/tracing.md describes the format in full.

For group G (the directory, '/' replaced by '_') this writes:

  trace-G.h   one `static inline void trace_NAME(args)` per event, which costs
              one load and a predicted branch while the event is off;
  trace-G.c   the event descriptors and per-event state, registered with the
              trace core by a constructor so `-trace` can find them by name.

With --registry it instead writes one C file listing the given groups, which
the trace core references so that a program linking it gets every group.

Backends: 'log' (printed to stderr or the -trace file= when enabled at run
time), 'nop' (nothing; cannot be combined), 'dtrace' (a USDT probe per event
through <sys/sdt.h>, with a semaphore so that an argument-building guard costs
nothing until a tracer attaches).
"""

import argparse
import os
import re
import sys

BACKENDS = ('log', 'nop', 'dtrace')
PROPERTIES = ('disable',)
# USDT probes take at most 12 arguments; QEMU's binary backend 10.  Keep the
# smaller so trace-events files stay portable between the two trees.
MAX_ARGS = 10
USDT_PROVIDER = 'aperture'

IDENT = r'[A-Za-z_][A-Za-z0-9_]*'
EVENT_RE = re.compile(r'^(?P<props>(?:[A-Za-z_]+\s+)*?)(?P<name>' + IDENT + r')\s*'
                      r'\((?P<args>[^()]*)\)\s*(?P<fmt>.*)$')
IDENT_RE = re.compile('^' + IDENT + '$')
# A C string literal or a PRI* macro (PRIx64, PRIu32, PRIxPTR ...).
FMT_TOKEN_RE = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<macro>PRI[A-Za-z0-9_]+))')
# One printf conversion (flags, width, precision, length, specifier).
CONV_RE = re.compile(r'%(?P<flags>[-+ #0\']*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d*))?'
                     r'(?P<len>hh|h|ll|l|j|z|t|L)?(?P<spec>[diouxXeEfFgGcspn%])?')
# The end of a literal that a PRI macro may follow: '%' plus flags, width, precision.
CONV_START_RE = re.compile(r'%[-+ #0\'\d.]*$')
PRI_RE = re.compile(r'^PRI(?P<spec>[diouxX])(?P<size>8|16|32|64|PTR|MAX|LEAST(?:8|16|32|64)|'
                    r'FAST(?:8|16|32|64))$')

# Words that cannot be an argument's name: a type written without a name,
# such as "unsigned int", would otherwise read as type "unsigned", name "int".
C_TYPE_WORDS = {
    'auto', 'bool', 'char', 'const', 'double', 'enum', 'extern', 'float', 'int', 'long',
    'register', 'restrict', 'short', 'signed', 'static', 'struct', 'union', 'unsigned',
    'void', 'volatile', '_Bool', 'break', 'case', 'continue', 'default', 'do', 'else',
    'for', 'goto', 'if', 'inline', 'return', 'sizeof', 'switch', 'typedef', 'while',
}


class TraceEventsError(Exception):
    """A malformed trace-events line; str() is "FILE:LINE: error: message"."""

    def __init__(self, path, lineno, msg):
        super().__init__('%s:%d: error: %s' % (path, lineno, msg))


class Event:
    def __init__(self, name, args, fmt, disabled, lineno):
        self.name = name
        self.args = args  # list of (type, name)
        self.fmt = fmt    # the format as written: C literals and PRI macros
        self.disabled = disabled
        self.lineno = lineno

    def c_params(self):
        if not self.args:
            return 'void'
        return ', '.join(c_decl(t, n) for t, n in self.args)

    def c_names(self):
        return ', '.join(n for _, n in self.args)


def c_decl(ctype, name):
    """'const char *' + 'name' -> 'const char *name'; 'int' + 'fd' -> 'int fd'."""
    return ctype + name if ctype.endswith('*') else '%s %s' % (ctype, name)


def parse_arg(text):
    """Split one C parameter declaration into (type, name); raise ValueError."""
    text = ' '.join(text.split())
    if not text:
        raise ValueError('empty argument')
    if re.search(r'[^A-Za-z0-9_ *]', text):
        raise ValueError('argument "%s": only a type (words and "*") and a name are '
                         'supported (no arrays or function pointers)' % text)
    m = re.match(r'^(?P<type>.*?)\s*(?P<name>' + IDENT + r')$', text)
    if not m or not m.group('type'):
        raise ValueError('argument "%s" needs a type and a name' % text)
    name = m.group('name')
    ctype = m.group('type')
    if name in C_TYPE_WORDS:
        raise ValueError('argument "%s" has no name' % text)
    # Normalise pointer spelling: "char*", "char *", "char * *" -> "char *", "char **".
    ctype = re.sub(r'\s*\*\s*', '*', ctype)
    ctype = re.sub(r'(?<=[A-Za-z0-9_])\*', ' *', ctype)
    words = re.findall(IDENT, ctype)
    if not words or all(w in ('const', 'volatile') for w in words):
        raise ValueError('argument "%s" needs a type and a name' % text)
    if ctype.startswith('*'):
        raise ValueError('argument "%s": "*" before the type' % text)
    return ctype, name


def unescape(m):
    return {'n': '\n', 't': '\t', 'r': '\r'}.get(m.group(1), m.group(1))


def parse_format(text):
    """Split the format into literal text (PRI macros stood in for by their
    conversion) and the canonical C spelling; raise ValueError."""
    if not text:
        raise ValueError('missing format string (write "" for none)')
    pos = 0
    parts = []
    literal = []
    while pos < len(text):
        m = FMT_TOKEN_RE.match(text, pos)
        if not m:
            raise ValueError('format: unexpected text "%s" (expected a "string" or a PRI '
                             'macro)' % text[pos:].strip())
        pos = m.end()
        if m.group('str'):
            parts.append(m.group('str'))
            body = m.group('str')[1:-1]
            literal.append(re.sub(r'\\(.)', unescape, body))
        else:
            pm = PRI_RE.match(m.group('macro'))
            if not pm:
                raise ValueError('format: unknown macro %s (only <inttypes.h> PRI macros)'
                                 % m.group('macro'))
            if not literal or not CONV_START_RE.search(literal[-1]):
                raise ValueError('format: %s must follow the start of a conversion, as in '
                                 '"0x%%"PRIx64' % m.group('macro'))
            parts.append(m.group('macro'))
            literal.append('ll' + pm.group('spec'))
        if text[pos:].strip() == '':
            break
    if not parts or parts[0].startswith('PRI'):
        raise ValueError('format must start with a string literal')
    return ''.join(literal), ' '.join(parts)


def count_conversions(fmt):
    """Number of arguments the printf format consumes; raise ValueError."""
    n = 0
    pos = 0
    while True:
        pos = fmt.find('%', pos)
        if pos < 0:
            return n
        m = CONV_RE.match(fmt, pos)
        if not m.group('spec'):
            raise ValueError('format: incomplete conversion "%s"' % fmt[pos:pos + 8])
        pos = m.end()
        if m.group('spec') == 'n':
            raise ValueError('format: %n is not allowed')
        if m.group('spec') == '%':
            if m.end() - m.start() != 2:
                raise ValueError('format: malformed "%%" (flags between the two %)')
            continue
        n += 1 + (m.group('width') == '*') + (m.group('prec') == '*')


def parse_line(line):
    """Parse one non-comment line into (props, name, args, fmt); raise ValueError."""
    m = EVENT_RE.match(line)
    if not m:
        if '(' not in line:
            raise ValueError('expected NAME(ARGS) "FORMAT"')
        raise ValueError('cannot parse trace event (expected NAME(ARGS) "FORMAT")')
    props = m.group('props').split()
    for p in props:
        if p not in PROPERTIES:
            raise ValueError('unknown property "%s" (known: %s)' % (p, ', '.join(PROPERTIES)))
    name = m.group('name')
    args = []
    argtext = m.group('args').strip()
    if argtext and argtext != 'void':
        for a in argtext.split(','):
            args.append(parse_arg(a))
    seen = set()
    for _, n in args:
        if n in seen:
            raise ValueError('argument name "%s" used twice' % n)
        seen.add(n)
    if len(args) > MAX_ARGS:
        raise ValueError('%s has %d arguments, more than %d' % (name, len(args), MAX_ARGS))
    literal, fmt = parse_format(m.group('fmt').strip())
    if '\n' in literal:
        raise ValueError('format must not contain a newline (the backend ends the line)')
    nconv = count_conversions(literal)
    if nconv != len(args):
        raise ValueError('format has %d conversion%s but %s has %d argument%s'
                         % (nconv, '' if nconv == 1 else 's', name, len(args),
                            '' if len(args) == 1 else 's'))
    return 'disable' in props, name, args, fmt


def parse(path):
    events = []
    seen = {}
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            try:
                disabled, name, args, fmt = parse_line(line)
            except ValueError as e:
                raise TraceEventsError(path, lineno, str(e)) from None
            if name in seen:
                raise TraceEventsError(path, lineno, 'duplicate trace event %s (first on line %d)'
                                       % (name, seen[name]))
            seen[name] = lineno
            events.append(Event(name, args, fmt, disabled, lineno))
    return events


def gen_header(group, events, backends, out):
    guard = 'TRACE_%s_H' % group.upper()
    live = [e for e in events if not e.disabled]
    w = out.write
    w('/* Generated by scripts/tracetool.py from the %s trace-events.  Do not edit. */\n' % group)
    w('#ifndef %s\n#define %s\n\n' % (guard, guard))
    w('#include "trace/control.h"\n')
    if 'dtrace' in backends:
        # Each probe's note records its semaphore, which a tracer increments while
        # attached; the probe and any trace_event_get_state_backends() guard test it.
        w('#ifndef _SDT_HAS_SEMAPHORES\n#define _SDT_HAS_SEMAPHORES 1\n#endif\n')
        w('#include <sys/sdt.h>\n')
    w('\n')
    for e in live:
        up = e.name.upper()
        w('extern TraceEvent _TRACE_%s_EVENT;\n' % up)
        w('extern uint16_t _TRACE_%s_DSTATE;\n' % up)
        if 'dtrace' in backends:
            w('extern volatile unsigned short %s_%s_semaphore;\n' % (USDT_PROVIDER, e.name))
    w('\n')
    for e in events:
        up = e.name.upper()
        # TRACE_X_ENABLED: compiled in.  TRACE_X_BACKEND_DSTATE(): some backend
        # wants the event now (see trace_event_get_state_backends()).
        w('#define TRACE_%s_ENABLED %d\n' % (up, 0 if e.disabled else 1))
        conds = []
        if not e.disabled:
            if 'log' in backends:
                conds.append('_TRACE_%s_DSTATE' % up)
            if 'dtrace' in backends:
                conds.append('%s_%s_semaphore' % (USDT_PROVIDER, e.name))
        w('#define TRACE_%s_BACKEND_DSTATE() (%s)\n'
          % (up, ' || '.join(conds) if conds else '0'))
        w('static inline void trace_%s(%s)\n{\n' % (e.name, e.c_params()))
        if not e.disabled:
            if 'log' in backends:
                w('    if (unlikely(_TRACE_%s_DSTATE)) {\n' % up)
                fmtargs = (', ' + e.c_names()) if e.args else ''
                w('        trace_log_emit("%s " %s "\\n"%s);\n' % (e.name, e.fmt, fmtargs))
                w('    }\n')
            if 'dtrace' in backends:
                probe_args = ''.join(', %s' % n for _, n in e.args)
                w('    if (unlikely(%s_%s_semaphore)) {\n' % (USDT_PROVIDER, e.name))
                # STAP_PROBE(p, n) has no argument count; STAP_PROBEn(p, n, ...) does.
                w('        STAP_PROBE%s(%s, %s%s);\n'
                  % (len(e.args) or '', USDT_PROVIDER, e.name, probe_args))
                w('    }\n')
        for _, n in e.args:
            w('    (void)%s;\n' % n)
        w('}\n\n')
    w('#endif /* %s */\n' % guard)


def gen_source(group, events, backends, header_name, out):
    w = out.write
    w('/* Generated by scripts/tracetool.py from the %s trace-events.  Do not edit. */\n' % group)
    w('#include "qemu/osdep.h"\n#include "%s"\n\n' % header_name)
    for e in events:
        up = e.name.upper()
        if e.disabled:
            # Known by name only, so that `-trace` can say it is compiled out.
            w('static TraceEvent _TRACE_%s_EVENT = {\n' % up)
            w('    .name = "%s",\n    .dstate = NULL,\n};\n' % e.name)
            continue
        w('uint16_t _TRACE_%s_DSTATE;\n' % up)
        w('TraceEvent _TRACE_%s_EVENT = {\n' % up)
        w('    .name = "%s",\n    .dstate = &_TRACE_%s_DSTATE,\n};\n' % (e.name, up))
        if 'dtrace' in backends:
            w('volatile unsigned short %s_%s_semaphore\n'
              '    __attribute__((section(".probes"), used));\n' % (USDT_PROVIDER, e.name))
    w('\nTraceEvent *trace_events_%s[] = {\n' % group)
    for e in events:
        w('    &_TRACE_%s_EVENT,\n' % e.name.upper())
    w('    NULL,\n};\n\n')
    w('static void __attribute__((constructor)) trace_%s_register(void)\n{\n' % group)
    w('    trace_event_register_group("%s", trace_events_%s);\n}\n' % (group, group))


def gen_registry(groups, out):
    w = out.write
    w('/* Generated by scripts/tracetool.py --registry.  Do not edit. */\n')
    w('#include "qemu/osdep.h"\n#include "trace/control.h"\n\n')
    for g in groups:
        w('extern TraceEvent *trace_events_%s[];\n' % g)
    w('\nconst TraceEventGroup trace_builtin_groups[] = {\n')
    for g in groups:
        w('    { "%s", trace_events_%s },\n' % (g, g))
    w('    { NULL, NULL },\n};\n')


def write_file(path, gen, *args):
    """Write through a temporary name so a failed run leaves no half file."""
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as out:
        gen(*args, out)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--backends', default='log',
                    help='comma-separated: %s (default log)' % ', '.join(BACKENDS))
    ap.add_argument('--group', help='group name: the directory with "/" as "_"')
    ap.add_argument('--registry', metavar='OUT.c',
                    help='write the table of the groups given as arguments to OUT.c')
    ap.add_argument('files', nargs='*', metavar='FILE',
                    help='INPUT HEADER SOURCE, or with --registry the group names')
    args = ap.parse_args(argv)

    if args.registry:
        for g in args.files:
            if not IDENT_RE.match(g):
                ap.error('bad group name "%s"' % g)
        write_file(args.registry, gen_registry, args.files)
        return 0

    if not args.group or len(args.files) != 3:
        ap.error('need --group=GROUP INPUT HEADER SOURCE')
    if not IDENT_RE.match(args.group):
        ap.error('bad group name "%s" (a C identifier, e.g. hw_vfio)' % args.group)
    backends = [b for b in args.backends.split(',') if b]
    for b in backends:
        if b not in BACKENDS:
            ap.error('unknown backend "%s" (known: %s)' % (b, ', '.join(BACKENDS)))
    if 'nop' in backends and len(backends) > 1:
        ap.error('backend nop cannot be combined with others')
    if not backends:
        ap.error('no backend given')

    inp, header, source = args.files
    try:
        events = parse(inp)
    except TraceEventsError as e:
        sys.stderr.write('%s\n' % e)
        return 1
    except OSError as e:
        sys.stderr.write('tracetool: %s: %s\n' % (inp, e.strerror))
        return 1
    write_file(header, gen_header, args.group, events, backends)
    # The source sits next to the header, so a quoted include finds it.
    write_file(source, gen_source, args.group, events, backends, os.path.basename(header))
    return 0


if __name__ == '__main__':
    sys.exit(main())
