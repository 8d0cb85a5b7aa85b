#!/usr/bin/env python3
"""The real-kernel rig: run Aperture's test binaries against Linux's own VFIO.

A nested guest (Debian's 6.12 kernel under qemu-system-x86_64 with an emulated
intel-iommu and edu devices) mounts the host's root filesystem read-only over
virtio-9p, binds the emulated devices to vfio-pci and runs host binaries
unchanged: a build directory's paths are the same inside the guest.

    rig.py check BUILD_DIR              every topology with the suite in BUILD_DIR
    rig.py run [-t TOPO] [-e K=V] -- CMD [ARGS]   one command in one guest
    rig.py bench BUILD_DIR              the VFIO ioctl micro-benchmark in the edu
                                        guest; figures kept in BUILD_DIR/vm-bench.txt
    rig.py setup                        fetch the kernel and build the initramfs only

Everything downloaded or built goes under .vm-cache/ at the top of the tree,
keyed by kernel version, so a second run downloads nothing.

Environment: APERTURE_SKIP_VM=1 turns "the rig cannot be set up" into a skip;
APERTURE_VM_ACCEL=tcg|kvm forces an accelerator (default: probe KVM once,
fall back to TCG); APERTURE_VM_CACHE moves the cache; APERTURE_VM_TIMEOUT
bounds one boot in seconds (default 600).
"""

import argparse
import glob
import gzip
import hashlib
import lzma
import os
import re
import select
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time

SRC_ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
CACHE = os.environ.get('APERTURE_VM_CACHE') or os.path.join(SRC_ROOT, '.vm-cache')
KERNEL_PKG_RE = re.compile(r'^linux-image-(6\.12\.(\d+))\+deb12-amd64-unsigned$')

# Modules the guest loads, dependencies first (the closure is computed from
# modules.dep).  EARLY ones are needed to reach the host's root filesystem;
# the rest are loaded once the job's module parameters can be read.
EARLY_MODULES = ['9p', '9pnet_virtio', 'overlay']
LATE_MODULES = ['vfio_iommu_type1', 'vfio_pci', 'pci_pf_stub']

GUEST_TEST_TIMEOUT = 240      # seconds for one test program inside the guest
# Seconds a guest may take to power off once its results are written.
POWEROFF_GRACE_S = 20
# Seconds a guest may take to reach its init.  A TCG boot takes ~5 s; a
# guest starved of CPU early in boot can fail its timer checks and stall
# (RCU stalls) instead of panicking, so it is stopped and booted again.
BOOT_DEADLINE_S = 90


class RigUnavailable(Exception):
    """The rig cannot be set up at all (no archive, no qemu, no kernel)."""


def log(msg):
    print('vm: ' + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Host dependencies

def ensure_deps():
    def missing():
        need = []
        for prog in ('qemu-system-x86_64', 'depmod', 'dpkg-deb', 'apt-get'):
            if not shutil.which(prog):
                need.append(prog)
        if not os.path.exists('/bin/busybox'):
            need.append('busybox')
        return need

    # install-deps.sh checks versions too (QEMU from backports) and is quiet when
    # everything is there; without root it only says what is missing.
    script = os.path.join(SRC_ROOT, 'scripts', 'install-deps.sh')
    subprocess.run(['sh', script, 'vm'], stdout=sys.stderr)
    still = missing()
    if still:
        raise RigUnavailable('missing ' + ', '.join(still) +
                             ' (scripts/install-deps.sh vm installs them as root)')


# ---------------------------------------------------------------------------
# Kernel: download, unpack, depmod, decompress the modules we need

def kernel_candidates():
    """Newest-first list of (version, package) that apt knows about."""
    try:
        out = subprocess.run(['apt-cache', 'pkgnames', 'linux-image-6.12.'],
                             capture_output=True, text=True).stdout
    except OSError:
        return []
    found = []
    for line in out.split():
        m = KERNEL_PKG_RE.match(line.strip())
        if m:
            found.append((int(m.group(2)), m.group(1), m.group(0)))
    found.sort(reverse=True)
    return [(ver, pkg) for _, ver, pkg in found]


def cached_kernels():
    """Newest-first list of kernel directories that are complete in the cache."""
    dirs = glob.glob(os.path.join(CACHE, 'kernel', '6.12.*', 'ready'))
    dirs = [os.path.dirname(d) for d in dirs]

    def key(d):
        m = re.match(r'6\.12\.(\d+)', os.path.basename(d))
        return int(m.group(1)) if m else -1
    return sorted(dirs, key=key, reverse=True)


def apt_update():
    if os.geteuid() != 0:
        return False
    return subprocess.run(['apt-get', 'update', '-qq'], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def download_deb(pkg, debdir):
    os.makedirs(debdir, exist_ok=True)
    existing = glob.glob(os.path.join(debdir, pkg + '_*.deb'))
    if existing:
        return existing[0]
    t0 = time.time()
    r = subprocess.run(['apt-get', 'download', '-q', pkg], cwd=debdir,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    debs = glob.glob(os.path.join(debdir, pkg + '_*.deb'))
    if not debs:
        return None
    log('downloaded %s in %.1f s' % (os.path.basename(debs[0]), time.time() - t0))
    return debs[0]


def module_closure(moddir, wanted):
    """Module files (relative paths) for WANTED, dependencies first."""
    deps = {}
    with open(os.path.join(moddir, 'modules.dep')) as f:
        for line in f:
            path, _, rest = line.partition(':')
            deps[path] = rest.split()
    byname = {}
    for path in deps:
        name = os.path.basename(path).split('.ko')[0].replace('-', '_')
        byname[name] = path
    order = []

    def visit(path):
        if path in order:
            return
        # modules.dep lists the dependencies of a module, nearest last:
        # load them in reverse order, recursively.
        for d in reversed(deps[path]):
            visit(d)
        order.append(path)

    for name in wanted:
        if name in byname:
            visit(byname[name])
    return order


def prepare_kernel(kver, deb):
    """Unpack DEB into the cache: vmlinuz and the decompressed modules."""
    kdir = os.path.join(CACHE, 'kernel', kver)
    tmp = tempfile.mkdtemp(prefix='unpack-', dir=CACHE)
    try:
        subprocess.run(['dpkg-deb', '-x', deb, tmp], check=True)
        rel = glob.glob(os.path.join(tmp, 'lib', 'modules', '*'))
        if len(rel) != 1:
            raise RigUnavailable('unexpected layout in ' + os.path.basename(deb))
        release = os.path.basename(rel[0])
        subprocess.run(['depmod', '-b', tmp, release], check=True)
        moddir = rel[0]
        os.makedirs(os.path.join(kdir, 'modules'), exist_ok=True)
        shutil.copy(os.path.join(tmp, 'boot', 'vmlinuz-' + release),
                    os.path.join(kdir, 'vmlinuz'))
        for group, wanted in (('early', EARLY_MODULES), ('late', LATE_MODULES)):
            names = []
            already = set()
            if group == 'late':
                with open(os.path.join(kdir, 'modules', 'early.order')) as f:
                    already = set(f.read().split())
            for path in module_closure(moddir, wanted):
                name = os.path.basename(path).split('.ko')[0]
                if name in already:
                    continue
                src = os.path.join(moddir, path)
                dst = os.path.join(kdir, 'modules', name + '.ko')
                opener = lzma.open if src.endswith('.xz') else open
                with opener(src, 'rb') as fi, open(dst, 'wb') as fo:
                    shutil.copyfileobj(fi, fo)
                names.append(name)
            with open(os.path.join(kdir, 'modules', group + '.order'), 'w') as f:
                f.write('\n'.join(names) + '\n')
        with open(os.path.join(kdir, 'release'), 'w') as f:
            f.write(release + '\n')
        with open(os.path.join(kdir, 'ready'), 'w') as f:
            f.write(os.path.basename(deb) + '\n')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return kdir


def ensure_kernel():
    os.makedirs(CACHE, exist_ok=True)
    cands = kernel_candidates()
    if not cands and apt_update():
        cands = kernel_candidates()
    cached = cached_kernels()
    if cands:
        kver, pkg = cands[0]
        kdir = os.path.join(CACHE, 'kernel', kver)
        if os.path.exists(os.path.join(kdir, 'ready')):
            return kdir
        debdir = os.path.join(CACHE, 'debs')
        deb = download_deb(pkg, debdir)
        if deb is None and apt_update():
            cands = kernel_candidates()
            if cands:
                kver, pkg = cands[0]
                kdir = os.path.join(CACHE, 'kernel', kver)
                if os.path.exists(os.path.join(kdir, 'ready')):
                    return kdir
                deb = download_deb(pkg, debdir)
        if deb is not None:
            return prepare_kernel(kver, deb)
    if cached:
        log('no 6.12 kernel package reachable; using cached ' + os.path.basename(cached[0]))
        return cached[0]
    raise RigUnavailable('no package archive reachable for linux-image-6.12.*+deb12-amd64-unsigned')


# ---------------------------------------------------------------------------
# Initramfs: busybox, /dev/console, the modules and /init, as a newc cpio

INIT_SCRIPT = r'''#!/bin/busybox sh
# Aperture rig guest init: reach the host's root, run /results/job.sh in it.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() { echo "rig-init: $*" > /dev/console; }
fail() { say "$*"; dmesg | tail -n 40 > /dev/console; poweroff -f; }
for m in $(cat /modules/early.order); do
    insmod /modules/$m.ko || fail "insmod $m"
done
mkdir -p /ro /rw /newroot /results
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro hostroot /ro || fail "mount hostroot"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results /results || fail "mount results"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/ro,upperdir=/rw/upper,workdir=/rw/work overlay /newroot \
    || fail "mount overlay"
# Module parameters come from the job (the kernel command line cannot carry them).
for m in $(cat /modules/late.order); do
    p=$(sed -n "s/^$m //p" /results/modparams 2>/dev/null)
    insmod /modules/$m.ko $p || say "insmod $m $p failed"
done
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
# /tmp stays the host's (through the overlay): a build directory may live there.
hostdir=$(cat /results/hostdir)
mkdir -p /newroot$hostdir
mount --bind /results /newroot$hostdir
echo up > /results/booted
chroot /newroot /bin/sh $hostdir/job.sh
echo $? > /results/job.rc
dmesg > /results/dmesg.txt
sync
umount /newroot$hostdir
umount /results
poweroff -f
'''


def cpio_newc(entries):
    """Serialize ENTRIES [(name, mode, data, rdev)] as a newc archive."""
    out = bytearray()
    ino = 1
    for name, mode, data, rdev in entries + [('TRAILER!!!', 0, b'', (0, 0))]:
        nameb = name.encode() + b'\0'
        hdr = '070701' + ''.join('%08x' % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nameb), 0))
        out += hdr.encode() + nameb
        out += b'\0' * (-len(out) % 4)
        out += data
        out += b'\0' * (-len(out) % 4)
        ino += 1
    return bytes(out)


def ensure_initramfs(kdir):
    with open('/bin/busybox', 'rb') as f:
        busybox = f.read()
    mods = []
    for group in ('early', 'late'):
        with open(os.path.join(kdir, 'modules', group + '.order')) as f:
            mods += f.read().split()
    h = hashlib.sha256(INIT_SCRIPT.encode() + busybox + ' '.join(mods).encode()).hexdigest()[:16]
    path = os.path.join(kdir, 'initramfs-%s.cpio.gz' % h)
    if os.path.exists(path):
        return path
    d = stat.S_IFDIR | 0o755
    entries = [(n, d, b'', (0, 0)) for n in
               ('bin', 'dev', 'proc', 'sys', 'modules', 'tmp', 'sbin', 'usr', 'usr/bin', 'usr/sbin')]
    entries.append(('dev/console', stat.S_IFCHR | 0o600, b'', (5, 1)))
    entries.append(('bin/busybox', stat.S_IFREG | 0o755, busybox, (0, 0)))
    entries.append(('bin/sh', stat.S_IFLNK | 0o777, b'busybox', (0, 0)))
    entries.append(('init', stat.S_IFREG | 0o755, INIT_SCRIPT.encode(), (0, 0)))
    for name in os.listdir(os.path.join(kdir, 'modules')):
        with open(os.path.join(kdir, 'modules', name), 'rb') as f:
            entries.append(('modules/' + name, stat.S_IFREG | 0o644, f.read(), (0, 0)))
    for old in glob.glob(os.path.join(kdir, 'initramfs-*.cpio.gz')):
        os.unlink(old)
    with gzip.open(path + '.tmp', 'wb', compresslevel=1) as f:
        f.write(cpio_newc(entries))
    os.rename(path + '.tmp', path)
    return path


# ---------------------------------------------------------------------------
# Topologies: the devices QEMU emulates and what the guest does with them

EDU1 = '0000:00:01.0'
EDU2 = '0000:00:03.0'
BR_EDU1 = '0000:01:01.0'
BR_EDU2 = '0000:01:02.0'

# Each phase: (label, shell commands run before it, environment for its tests,
# programs to run: None = every suite program, ALL_BUT_TOPOLOGY = every program but
# the topology-specific one (the other topologies run it), or a list of
# 'PROGRAM' / 'PROGRAM:/gtest/path/prefix' entries).
ALL_BUT_TOPOLOGY = 'all-but-topology'
TOPOLOGIES = {
    'edu': {
        'help': 'one edu at %s (group 1)' % EDU1,
        'devices': ['-device', 'intel-iommu,intremap=on', '-device', 'edu,addr=01.0'],
        'phases': [
            ('bound', ['bind %s' % EDU1], {'APERTURE_VFIO_DEVICE': EDU1,
                                           'APERTURE_VFIO_DEVICE2': 'none'}, ALL_BUT_TOPOLOGY),
        ],
    },
    'two-edu': {
        'help': 'two edus in separate groups (%s, %s)' % (EDU1, EDU2),
        'devices': ['-device', 'intel-iommu,intremap=on', '-device', 'edu,addr=01.0',
                    '-device', 'edu,addr=03.0'],
        'phases': [
            ('bound', ['bind %s %s' % (EDU1, EDU2)],
             {'APERTURE_VFIO_DEVICE': EDU1, 'APERTURE_VFIO_DEVICE2': EDU2},
             ['test-vfio-topology:/vfio/topology/two-groups',
              'test-vfio-topology:/vfio/topology/hot-reset']),
        ],
    },
    'bridge': {
        'help': 'two edus behind a conventional PCI bridge, one group',
        'devices': ['-device', 'intel-iommu,intremap=on',
                    '-device', 'pci-bridge,id=br0,chassis_nr=1,addr=05.0',
                    '-device', 'edu,bus=br0,addr=01.0', '-device', 'edu,bus=br0,addr=02.0'],
        'phases': [
            # The peer owned by a kernel driver that does DMA: the group is not viable.
            ('peer-foreign', ['bind %s' % BR_EDU1, 'bind_to pci-pf-stub %s' % BR_EDU2],
             {'APERTURE_VFIO_DEVICE': BR_EDU1, 'APERTURE_VFIO_GROUP_PEER': BR_EDU2,
              'APERTURE_VFIO_GROUP_PEER_DRIVER': 'foreign'},
             ['test-vfio-topology:/vfio/topology/shared-group/peer-foreign']),
            # The peer with no driver at all.
            ('peer-unbound', ['unbind %s' % BR_EDU2],
             {'APERTURE_VFIO_DEVICE': BR_EDU1, 'APERTURE_VFIO_GROUP_PEER': BR_EDU2,
              'APERTURE_VFIO_GROUP_PEER_DRIVER': 'none'},
             ['test-vfio-topology:/vfio/topology/shared-group/peer-none']),
            # Both devices of the group bound to vfio-pci.
            ('both-bound', ['bind %s' % BR_EDU2],
             {'APERTURE_VFIO_DEVICE': BR_EDU1, 'APERTURE_VFIO_GROUP_PEER': BR_EDU2,
              'APERTURE_VFIO_GROUP_PEER_DRIVER': 'vfio'},
             ['test-vfio-topology:/vfio/topology/shared-group/peer-vfio',
              'test-vfio-pci:/vfio-pci/hot-reset']),
        ],
    },
    'intremap-off': {
        'help': 'intel-iommu without interrupt remapping: SET_IOMMU is EPERM',
        'devices': ['-device', 'intel-iommu,intremap=off', '-device', 'edu,addr=01.0'],
        'phases': [
            ('bound', ['bind %s' % EDU1],
             {'APERTURE_VFIO_DEVICE': EDU1, 'APERTURE_VFIO_EXPECT_NO_INTREMAP': '1'},
             ['test-vfio-topology:/vfio/topology/no-intremap']),
            # The administrator's override: vfio_iommu_type1.allow_unsafe_interrupts=1.
            ('unsafe-allowed',
             ['echo 1 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts'],
             {'APERTURE_VFIO_DEVICE': EDU1,
              'APERTURE_VFIO_EXPECT_NO_INTREMAP': 'unsafe-allowed'},
             ['test-vfio-topology:/vfio/topology/no-intremap']),
        ],
    },
}

JOB_PRELUDE = r'''# generated by tests/vm/rig.py
R=%(hostdir)s
export LANG=C.UTF-8 G_DEBUG=fatal-criticals
cd /
bind_to() {
    drv=$1; shift
    for d in "$@"; do
        echo "$drv" > /sys/bus/pci/devices/$d/driver_override
        if [ -e /sys/bus/pci/devices/$d/driver ]; then
            echo "$d" > /sys/bus/pci/devices/$d/driver/unbind
        fi
        echo "$d" > /sys/bus/pci/drivers_probe
        echo "bind $d -> $(basename "$(readlink /sys/bus/pci/devices/$d/driver)") group $(basename "$(readlink /sys/bus/pci/devices/$d/iommu_group)")" >> $R/setup.log
    done
}
bind() { bind_to vfio-pci "$@"; }
unbind() {
    for d in "$@"; do
        if [ -e /sys/bus/pci/devices/$d/driver ]; then
            echo "$d" > /sys/bus/pci/devices/$d/driver/unbind
        fi
        echo > /sys/bus/pci/devices/$d/driver_override
        echo "unbind $d" >> $R/setup.log
    done
}
runtest() {
    n=$1; shift
    timeout -k 5 %(timeout)d "$@" > $R/$n.out 2>&1
    echo $? > $R/$n.rc
}
'''


def kvm_works(kdir, initrd):
    """Boot the guest once with KVM: it must reach /init and power off."""
    forced = os.environ.get('APERTURE_VM_ACCEL')
    if forced in ('tcg', 'kvm'):
        return forced == 'kvm'
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return False
    probe = os.path.join(CACHE, 'kvm-probe')
    ident = '%s %s %s' % (os.path.basename(kdir), os.uname().release,
                          subprocess.run(['qemu-system-x86_64', '--version'],
                                         capture_output=True, text=True).stdout.split('\n')[0])
    try:
        with open(probe) as f:
            saved, verdict = f.read().rsplit('\n', 1)
        if saved == ident:
            return verdict.strip() == 'yes'
    except (OSError, ValueError):
        pass
    rc, res = boot(kdir, initrd, 'edu', [], {}, accel='kvm', timeout=30, quiet=True)
    ok = rc == 0 and res is not None and os.path.exists(os.path.join(res, 'booted'))
    if res:
        shutil.rmtree(res, ignore_errors=True)
    with open(probe, 'w') as f:
        f.write(ident + '\n' + ('yes' if ok else 'no'))
    log('KVM %s; using %s' % ('boots a guest' if ok else 'cannot boot a stock guest',
                              'kvm' if ok else 'TCG'))
    return ok


def boot(kdir, initrd, topo, phases, modparams, accel='tcg', timeout=None, quiet=False):
    """Boot TOPO, run PHASES [(setup lines, [(name, env, argv)])]; return (rc, results dir)."""
    if timeout is None:
        timeout = int(os.environ.get('APERTURE_VM_TIMEOUT', '600'))
    os.makedirs(os.path.join(CACHE, 'runs'), exist_ok=True)
    res = tempfile.mkdtemp(prefix=topo + '-', dir=os.path.join(CACHE, 'runs'))
    os.chmod(res, 0o777)
    job = [JOB_PRELUDE % {'hostdir': res, 'timeout': GUEST_TEST_TIMEOUT}]
    n = 0
    for setup, tests in phases:
        job += setup
        for name, env, argv in tests:
            envs = ' '.join('%s=%s' % (k, shlex.quote(v)) for k, v in sorted(env.items()))
            job.append('echo %s > $R/%d.name' % (shlex.quote(name), n))
            job.append('runtest %d env %s %s' % (n, envs, ' '.join(shlex.quote(a) for a in argv)))
            n += 1
    with open(os.path.join(res, 'job.sh'), 'w') as f:
        f.write('\n'.join(job) + '\n')
    with open(os.path.join(res, 'hostdir'), 'w') as f:
        f.write(res + '\n')
    with open(os.path.join(res, 'modparams'), 'w') as f:
        f.write(''.join('%s %s\n' % kv for kv in modparams.items()))
    cmd = ['qemu-system-x86_64', '-machine', 'q35', '-smp', '2', '-m', '1G',
           '-nodefaults', '-display', 'none', '-no-reboot', '-no-user-config',
           '-serial', 'file:' + os.path.join(res, 'console.log'),
           '-bios', '/usr/share/qemu/qboot.rom',
           '-accel', 'kvm' if accel == 'kvm' else 'tcg,thread=multi',
           # The 9p devices sit at slots 0x10/0x11 so that the topology's devices
           # get the low slots (and groups) the suite expects.
           '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
           '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot,addr=10.0',
           '-fsdev', 'local,id=results,path=%s,security_model=none' % res,
           '-device', 'virtio-9p-pci,fsdev=results,mount_tag=results,addr=11.0',
           '-kernel', os.path.join(kdir, 'vmlinuz'), '-initrd', initrd,
           '-append', 'console=ttyS0 panic=-1 edd=off intel_iommu=on quiet']
    if accel == 'kvm':
        # intel-iommu's interrupt remapping needs the IOAPIC in QEMU.
        cmd[cmd.index('q35')] = 'q35,kernel-irqchip=split'
    cmd += TOPOLOGIES[topo]['devices']
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = b''
    killed = None
    done_at = None
    stopped_after_results = False
    while True:
        left = timeout - (time.time() - t0)
        if left <= 0:
            killed = 'timed out after %d s' % timeout
            break
        if (time.time() - t0 > BOOT_DEADLINE_S and
                not os.path.exists(os.path.join(res, 'booted'))):
            killed = 'did not reach init in %d s' % BOOT_DEADLINE_S
            break
        # The guest writes dmesg.txt after job.rc, just before it powers
        # off.  A guest that stalls in poweroff on a loaded host has still
        # delivered every result: give it a grace period, then stop it.
        if os.path.exists(os.path.join(res, 'dmesg.txt')):
            done_at = done_at or time.time()
            if time.time() - done_at > POWEROFF_GRACE_S:
                if not quiet:
                    log('%s: guest did not power off %d s after its results; stopped'
                        % (topo, POWEROFF_GRACE_S))
                proc.kill()
                proc.wait()
                stopped_after_results = True
                break
        r, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
        if r:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
            if b'KVM internal error' in out or b'emulation failure' in out:
                killed = 'KVM internal error'
                break
        elif proc.poll() is not None:
            break
    if killed:
        proc.kill()
    rc = proc.wait()
    with open(os.path.join(res, 'qemu.log'), 'wb') as f:
        f.write(out)
    elapsed = time.time() - t0
    with open(os.path.join(res, 'elapsed'), 'w') as f:
        f.write('%.1f\n' % elapsed)
    if killed:
        if not quiet:
            log('%s: qemu %s' % (topo, killed))
        return 1, res
    if stopped_after_results:
        return 0, res
    if rc != 0 and not quiet:
        log('%s: qemu exited %d: %s' % (topo, rc, out.decode(errors='replace').strip()))
    return rc, res


# ---------------------------------------------------------------------------
# TAP accounting

TAP_RESULT = re.compile(r'^(not ok|ok)\b(.*)$')
SIM_ONLY = re.compile(r'^ok \d+ (\S+) # SKIP sim-only')
SIM_ONLY_SEEN = set()
TAP_PLAN = re.compile(r'^1\.\.(\d+)')


def count_tap(text, rc):
    """(passed, failed, skipped) from GLib's TAP; a crash counts what it lost."""
    passed = failed = skipped = 0
    plan = None
    for line in text.splitlines():
        m = TAP_PLAN.match(line)
        if m:
            plan = int(m.group(1))
            continue
        m = SIM_ONLY.match(line)
        if m:
            SIM_ONLY_SEEN.add(m.group(1))
        m = TAP_RESULT.match(line)
        if not m:
            continue
        if re.search(r'#\s*SKIP', m.group(2), re.I):
            skipped += 1
        elif m.group(1) == 'ok':
            passed += 1
        elif re.search(r'#\s*TODO', m.group(2), re.I):
            skipped += 1
        else:
            failed += 1
    seen = passed + failed + skipped
    if rc != 0:
        if plan is not None and seen < plan:
            failed += plan - seen
        elif failed == 0:
            failed += 1
    return passed, failed, skipped


# ---------------------------------------------------------------------------
# Commands

def setup():
    ensure_deps()
    kdir = ensure_kernel()
    initrd = ensure_initramfs(kdir)
    accel = 'kvm' if kvm_works(kdir, initrd) else 'tcg'
    return kdir, initrd, accel


def run_topology(kdir, initrd, accel, topo, phases, verbose=True):
    """Boot once, run the phases; print outputs; return (p, f, s, ok)."""
    t0 = time.time()
    rc, res = boot(kdir, initrd, topo, phases, {}, accel=accel)
    if not os.path.exists(os.path.join(res, 'booted')):
        # Under TCG on a busy host the guest kernel can fail timing checks
        # early in boot; that says nothing about VFIO, so boot once more.
        log('%s: the guest did not reach its init (kept in %s); booting again' % (topo, res))
        rc, res = boot(kdir, initrd, topo, phases, {}, accel=accel)
    totals = [0, 0, 0]
    ok = rc == 0 and os.path.exists(os.path.join(res, 'job.rc'))
    n = 0
    for setup_lines, tests in phases:
        for name, env, argv in tests:
            outp = os.path.join(res, '%d.out' % n)
            rcp = os.path.join(res, '%d.rc' % n)
            n += 1
            text = open(outp, errors='replace').read() if os.path.exists(outp) else ''
            trc = int(open(rcp).read().strip()) if os.path.exists(rcp) else -1
            if verbose or trc != 0:
                print('--- [%s] %s (exit %d)' % (topo, name, trc))
                sys.stdout.write(text if text.endswith('\n') or not text else text + '\n')
            p, f, s = count_tap(text, trc)
            if trc == 124:
                print('--- [%s] %s timed out inside the guest' % (topo, name))
            totals = [totals[0] + p, totals[1] + f, totals[2] + s]
            if trc != 0:
                ok = False
    if os.path.exists(os.path.join(res, 'setup.log')):
        print('--- [%s] setup: %s' % (topo, open(os.path.join(res, 'setup.log')).read().strip().replace('\n', '; ')))
    elapsed = time.time() - t0
    if ok:
        shutil.rmtree(res, ignore_errors=True)
    else:
        for f, lines in (('qemu.log', 20), ('console.log', 20), ('dmesg.txt', 60)):
            p = os.path.join(res, f)
            if os.path.exists(p) and os.path.getsize(p):
                print('--- [%s] %s (last %d lines):' % (topo, f, lines))
                print('\n'.join(open(p, errors='replace').read().splitlines()[-lines:]))
        print('--- [%s] guest results and dmesg kept in %s' % (topo, res))
    print('vm[%s]: %d passed, %d failed, %d skipped (%.1f s)' % (topo, *totals, elapsed),
          flush=True)
    return totals[0], totals[1], totals[2], ok


def suite_programs(build_dir):
    progs = sorted(glob.glob(os.path.join(build_dir, 'tests', 'vfio', 'test-vfio-*')))
    return [p for p in progs if os.access(p, os.X_OK) and not p.endswith(('.p', '.c'))]


def cmd_check(args):
    build = os.path.realpath(args.build_dir)
    t0 = time.time()
    try:
        kdir, initrd, accel = setup()
    except RigUnavailable as e:
        return unavailable(str(e))
    progs = suite_programs(build)
    if not progs:
        print('vm: no test programs under %s/tests/vfio (build them first)' % build)
        return 1
    byname = {os.path.basename(p): p for p in progs}
    extra = []
    for e in args.extra or []:
        prog, _, path = e.partition(':')
        full = os.path.join(build, prog)
        if not os.access(full, os.X_OK):
            print('vm: extra program %s is not built; skipped' % full)
            continue
        byname[os.path.basename(full)] = full
        extra.append(os.path.basename(full) + (':' + path if path else ''))
    topos = args.topology or list(TOPOLOGIES)
    totals = [0, 0, 0]
    ok = True
    for topo in topos:
        phases = []
        for label, setup_lines, env, names in TOPOLOGIES[topo]['phases']:
            if names is None:
                sel = progs
            elif names == ALL_BUT_TOPOLOGY:
                sel = [p for p in progs if os.path.basename(p) != 'test-vfio-topology']
            else:
                sel = names
            tests = []
            for entry in sel:
                prog, _, path = entry.partition(':')
                prog = byname.get(os.path.basename(prog))
                if prog is None:
                    continue
                argv = [prog, '--tap'] + (['-p', path] if path else [])
                tests.append(('%s/%s%s' % (label, os.path.basename(prog),
                                           ' -p ' + path if path else ''), dict(env), argv))
            if topo == 'edu':
                for entry in extra:
                    prog, _, path = entry.partition(':')
                    argv = [byname[prog], '--tap'] + (['-p', path] if path else [])
                    tests.append(('%s/%s' % (label, entry), dict(env), argv))
            phases.append((setup_lines, tests))
        p, f, s, good = run_topology(kdir, initrd, accel, topo, phases, verbose=args.verbose)
        totals = [totals[0] + p, totals[1] + f, totals[2] + s]
        ok = ok and good
    if SIM_ONLY_SEEN:
        print('vm: sim-only, not shown by this kernel (%d): %s' % (
            len(SIM_ONLY_SEEN), ' '.join(sorted(SIM_ONLY_SEEN))))
    print('vm: %d passed, %d failed, %d skipped (%s, %.0f s)' % (
        *totals, accel, time.time() - t0), flush=True)
    return 0 if ok and totals[1] == 0 else 1


def cmd_run(args):
    try:
        kdir, initrd, accel = setup()
    except RigUnavailable as e:
        return unavailable(str(e))
    env = dict(TOPOLOGIES[args.topology]['phases'][0][2])
    for kv in args.env or []:
        k, _, v = kv.partition('=')
        env[k] = v
    setup_lines = []
    for label, lines, _, _ in TOPOLOGIES[args.topology]['phases']:
        setup_lines += lines
        if label == args.phase:
            break
    argv = args.cmd[1:] if args.cmd and args.cmd[0] == '--' else args.cmd
    if not argv:
        print('vm: rig.py run needs a command', file=sys.stderr)
        return 2
    phases = [(setup_lines, [(os.path.basename(argv[0]), env, argv)])]
    p, f, s, ok = run_topology(kdir, initrd, accel, args.topology, phases)
    return 0 if ok else 1


BENCH_PROGRAM = os.path.join('tests', 'vfio', 'bench-vfio-ioctl')
BENCH_RESULT = 'vm-bench.txt'
BENCH_UNAVAILABLE = 77      # rig.py bench: the rig cannot be set up (a skip)


def cmd_bench(args):
    """Boot the default topology once and run the ioctl micro-benchmark in it.

    The figures are the real-kernel floor of `make bench`'s report
    (tests/bench/run-bench.sh): the program's whole output is printed and
    saved, under a header line, in BUILD_DIR/vm-bench.txt (only when it
    succeeded, so the file always holds the last good run).  Exit status 0,
    1 when the benchmark failed in the guest, BENCH_UNAVAILABLE when the rig
    cannot be set up.
    """
    build = os.path.realpath(args.build_dir)
    prog = os.path.join(build, BENCH_PROGRAM)
    if not os.access(prog, os.X_OK):
        print('vm-bench: %s is not built' % prog)
        return 1
    try:
        kdir, initrd, accel = setup()
    except RigUnavailable as e:
        print('vm-bench: skipped: cannot set up the real-kernel rig: %s' % e)
        return BENCH_UNAVAILABLE
    label, setup_lines, env, _ = TOPOLOGIES['edu']['phases'][0]
    t0 = time.time()
    rc, res = boot(kdir, initrd, 'edu', [(setup_lines, [('bench', dict(env), [prog])])], {},
                   accel=accel)
    outp = os.path.join(res, '0.out')
    rcp = os.path.join(res, '0.rc')
    text = open(outp, errors='replace').read() if os.path.exists(outp) else ''
    trc = int(open(rcp).read().strip()) if os.path.exists(rcp) else -1
    sys.stdout.write(text if text.endswith('\n') or not text else text + '\n')
    if rc != 0 or trc != 0 or '\nBENCH ' not in text:
        for f, lines in (('qemu.log', 20), ('console.log', 20), ('dmesg.txt', 40)):
            p = os.path.join(res, f)
            if os.path.exists(p) and os.path.getsize(p):
                print('--- [edu] %s (last %d lines):' % (f, lines))
                print('\n'.join(open(p, errors='replace').read().splitlines()[-lines:]))
        print('vm-bench: the benchmark failed in the guest (exit %d); guest results and dmesg '
              'kept in %s' % (trc, res))
        return 1
    with open(os.path.join(kdir, 'ready')) as f:
        pkg = f.read().strip()
    dest = os.path.join(build, BENCH_RESULT)
    with open(dest + '.tmp', 'w') as f:
        f.write('# vm-bench: %s, %s, accel %s, %s\n' % (
            time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), pkg, accel,
            os.path.relpath(prog, build)))
        f.write(text)
    os.rename(dest + '.tmp', dest)
    shutil.rmtree(res, ignore_errors=True)
    print('vm-bench: real-kernel figures saved in %s (%s, %.0f s)' % (dest, accel,
                                                                       time.time() - t0))
    return 0


def cmd_setup(args):
    try:
        kdir, initrd, accel = setup()
    except RigUnavailable as e:
        return unavailable(str(e))
    print('vm: kernel %s, initramfs %s, accel %s' % (kdir, initrd, accel))
    return 0


def unavailable(reason):
    if os.environ.get('APERTURE_SKIP_VM') == '1':
        print('vm: 0 passed, 0 failed, 0 skipped (rig unavailable: %s; APERTURE_SKIP_VM=1)' % reason)
        return 0
    print('vm: cannot set up the real-kernel rig: %s (APERTURE_SKIP_VM=1 skips it)' % reason)
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd_name', required=True)
    c = sub.add_parser('check', help='run the suite in BUILD_DIR in every topology')
    c.add_argument('build_dir')
    c.add_argument('-t', '--topology', action='append', choices=list(TOPOLOGIES))
    c.add_argument('-x', '--extra', action='append', metavar='PROG[:/gtest/prefix]',
                   help='another GLib test program (relative to BUILD_DIR) to run in the '
                        'edu topology, e.g. tests/unit/vfio/test-vfio-helpers')
    c.add_argument('-q', '--quiet', dest='verbose', action='store_false',
                   help="print only failing programs' output")
    c.set_defaults(func=cmd_check)
    r = sub.add_parser('run', help='run one command inside a guest')
    r.add_argument('-t', '--topology', default='edu', choices=list(TOPOLOGIES))
    r.add_argument('-p', '--phase', help='stop the topology set-up after this phase')
    r.add_argument('-e', '--env', action='append', help='KEY=VALUE for the command')
    r.add_argument('cmd', nargs=argparse.REMAINDER)
    r.set_defaults(func=cmd_run)
    b = sub.add_parser('bench', help='run the VFIO ioctl micro-benchmark in the edu guest '
                                     '(figures saved in BUILD_DIR/%s)' % BENCH_RESULT)
    b.add_argument('build_dir')
    b.set_defaults(func=cmd_bench)
    s = sub.add_parser('setup', help='fetch the kernel, build the initramfs, probe KVM')
    s.set_defaults(func=cmd_setup)
    args = ap.parse_args()
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
