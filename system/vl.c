/*
 * The aperture command line and machine bring-up.
 *
 * Options are read in one pass into a Config without side effects (except
 * -trace, applied at once, and -version/-help, which print and exit), then
 * applied in QEMU's order: help requests, daemonize, chardevs, -object
 * backends, the machine and its RAM, monitors, the qtest server, -device,
 * reset, start.  Every failure prints one line,
 *     aperture: -OPTION ARG: what is wrong
 * and exits with status 1.
 */
#include "qemu/osdep.h"
#include <glib-unix.h>
#include <sys/stat.h>
#include "qapi/error.h"
#include "qapi/qmp-monitor.h"
#include "qapi/qmp-registry.h"
#include "qemu/main-loop.h"
#include "migration/migration.h"
#include "qemu/timer.h"
#include "qom/opts.h"
#include "exec/address-spaces.h"
#include "chardev/char.h"
#include "hw/boards.h"
#include "hw/qdev-properties.h"
#include "sysemu/hostmem.h"
#include "sysemu/qtest.h"
#include "sysemu/runstate.h"
#include "trace/control.h"
#include "trace/trace-system.h"

/* The qtest server is linked in once system/qtest.c exists; until then -qtest is refused. */
#pragma weak qtest_server_init
/* Likewise the incoming side of migration (migration/). */
#pragma weak migration_incoming_start

/* One option occurrence kept for later: its name and argument, for messages too. */
typedef struct OptArg {
    const char *name;       /* without the dash: "device" */
    const char *arg;        /* argv storage */
} OptArg;

typedef struct Config {
    GArray *chardevs;       /* OptArg: -chardev */
    GArray *objects;        /* OptArg: -object */
    GArray *devices;        /* OptArg: -device */
    GArray *monitors;       /* OptArg: -mon */
    GArray *qmps;           /* OptArg: -qmp */
    OptArg machine;         /* the last -machine/-M (arg NULL: none) */
    OptArg memory;          /* the last -m */
    OptArg accel;           /* the last -accel */
    const char *qtest_spec;
    const char *qtest_log;
    const char *pidfile;
    OptArg incoming;        /* -incoming URI (arg NULL: none) */
    OptArg name;
    bool start_stopped;     /* -S */
    bool daemonize;
} Config;

typedef enum OptKind {
    OPT_FLAG,               /* no argument */
    OPT_ARG,                /* one argument */
} OptKind;

typedef struct OptionDef {
    const char *name;
    OptKind kind;
    const char *help;       /* for -help; NULL hides it */
} OptionDef;

static const OptionDef options[] = {
    { "machine", OPT_ARG, "-machine [type=]NAME[,accel=qtest][,memory-backend=ID]" },
    { "M", OPT_ARG, NULL },
    { "m", OPT_ARG, "-m [size=]SIZE[,maxmem=SIZE]  guest RAM (default unit MiB)" },
    { "object", OPT_ARG, "-object memory-backend-{ram,memfd,file},id=ID,size=SIZE"
                         "[,share=on|off][,prealloc=on|off][,mem-path=PATH]" },
    { "device", OPT_ARG, "-device DRIVER[,id=ID][,bus=BUS][,PROP=VALUE...]  (help: -device help)" },
    { "accel", OPT_ARG, "-accel qtest" },
    { "qtest", OPT_ARG, "-qtest unix:PATH|stdio  serve the qtest protocol" },
    { "qtest-log", OPT_ARG, "-qtest-log FILE" },
    { "qmp", OPT_ARG, "-qmp unix:PATH[,server=on[,wait=off]]  QMP monitor" },
    { "chardev", OPT_ARG, "-chardev socket,id=ID,path=PATH[,server=on][,wait=off] | "
                          "stdio,id=ID | file,id=ID,path=PATH | null,id=ID" },
    { "mon", OPT_ARG, "-mon chardev=ID,mode=control" },
    { "display", OPT_ARG, "-display none" },
    { "nographic", OPT_FLAG, NULL },
    { "nodefaults", OPT_FLAG, "-nodefaults" },
    { "no-user-config", OPT_FLAG, NULL },
    { "trace", OPT_ARG, "-trace [enable=]PATTERN|events=FILE|file=FILE" },
    { "S", OPT_FLAG, "-S  do not start the VM (QMP cont starts it)" },
    { "daemonize", OPT_FLAG, "-daemonize" },
    { "incoming", OPT_ARG, "-incoming URI  wait for an incoming migration" },
    { "pidfile", OPT_ARG, "-pidfile FILE" },
    { "name", OPT_ARG, "-name [guest=]NAME" },
    { "audio", OPT_ARG, "-audio none" },
    { "serial", OPT_ARG, NULL },
    { "parallel", OPT_ARG, NULL },
    { "monitor", OPT_ARG, NULL },
    { "vga", OPT_ARG, NULL },
    { "net", OPT_ARG, NULL },
    { "nic", OPT_ARG, NULL },
    { "version", OPT_FLAG, "-version" },
    { "help", OPT_FLAG, "-help" },
    { "h", OPT_FLAG, NULL },
};

/* Print "aperture: -NAME ARG: MESSAGE" and exit 1. */
static void QEMU_NORETURN opt_fail(const OptArg *opt, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void opt_fail(const OptArg *opt, const char *fmt, ...)
{
    /* On the stack: nothing is left allocated when exit() runs (LeakSanitizer). */
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (opt && opt->arg) {
        error_report("-%s %s: %s", opt->name, opt->arg, msg);
    } else if (opt) {
        error_report("-%s: %s", opt->name, msg);
    } else {
        error_report("%s", msg);
    }
    exit(1);
}

/* Fail with the message of @err (hints are not printed: one line). */
static void QEMU_NORETURN opt_fail_err(const OptArg *opt, Error *err)
{
    char msg[2048];

    g_strlcpy(msg, error_get_pretty(err), sizeof(msg));
    error_free(err);
    opt_fail(opt, "%s", msg);
}

static void print_version(void)
{
    printf("Aperture emulator version %s (QEMU %d.%d.%d compatible command line, QMP and "
           "qtest)\n", APERTURE_VERSION, QMP_VERSION_MAJOR, QMP_VERSION_MINOR,
           QMP_VERSION_MICRO);
}

static void print_help(void)
{
    print_version();
    printf("usage: aperture [options]\n\n");
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        if (options[i].help) {
            printf("  %s\n", options[i].help);
        }
    }
    printf("\nAccepted for compatibility: -nographic, -no-user-config, -serial/-parallel/"
           "-monitor/-vga/-net/-nic none.\n");
}

static const OptionDef *find_option(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        if (!strcmp(options[i].name, name)) {
            return &options[i];
        }
    }
    return NULL;
}

static void push(GArray *arr, const OptArg *opt)
{
    g_array_append_val(arr, *opt);
}

/* Options that exist only to be "none". */
static void check_none_only(const OptArg *opt)
{
    if (strcmp(opt->arg, "none")) {
        opt_fail(opt, "only 'none' is supported");
    }
}

static void parse_command_line(int argc, char **argv, Config *cfg)
{
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        const OptionDef *def;
        OptArg opt = { 0 };

        if (word[0] != '-' || !word[1]) {
            opt_fail(NULL, "unexpected argument '%s' (options start with '-')", word);
        }
        opt.name = word + (word[1] == '-' ? 2 : 1);
        def = find_option(opt.name);
        if (!def) {
            opt_fail(&opt, "invalid option");
        }
        opt.name = def->name;
        if (def->kind == OPT_ARG) {
            if (i + 1 >= argc) {
                opt_fail(&opt, "requires an argument");
            }
            opt.arg = argv[++i];
        }

        if (!strcmp(opt.name, "version")) {
            print_version();
            exit(0);
        } else if (!strcmp(opt.name, "help") || !strcmp(opt.name, "h")) {
            print_help();
            exit(0);
        } else if (!strcmp(opt.name, "machine") || !strcmp(opt.name, "M")) {
            cfg->machine = opt;
        } else if (!strcmp(opt.name, "m")) {
            cfg->memory = opt;
        } else if (!strcmp(opt.name, "object")) {
            push(cfg->objects, &opt);
        } else if (!strcmp(opt.name, "device")) {
            push(cfg->devices, &opt);
        } else if (!strcmp(opt.name, "chardev")) {
            push(cfg->chardevs, &opt);
        } else if (!strcmp(opt.name, "mon")) {
            push(cfg->monitors, &opt);
        } else if (!strcmp(opt.name, "qmp")) {
            push(cfg->qmps, &opt);
        } else if (!strcmp(opt.name, "accel")) {
            cfg->accel = opt;
        } else if (!strcmp(opt.name, "qtest")) {
            cfg->qtest_spec = opt.arg;
        } else if (!strcmp(opt.name, "qtest-log")) {
            cfg->qtest_log = opt.arg;
        } else if (!strcmp(opt.name, "display")) {
            check_none_only(&opt);
        } else if (!strcmp(opt.name, "audio")) {
            /* QEMU: -audio [driver=]none[,model=...] */
            if (strcmp(opt.arg, "none") && strcmp(opt.arg, "driver=none")) {
                opt_fail(&opt, "only 'none' is supported");
            }
        } else if (!strcmp(opt.name, "serial") || !strcmp(opt.name, "parallel") ||
                   !strcmp(opt.name, "monitor") || !strcmp(opt.name, "vga") ||
                   !strcmp(opt.name, "net") || !strcmp(opt.name, "nic")) {
            check_none_only(&opt);
        } else if (!strcmp(opt.name, "trace")) {
            Error *err = NULL;

            if (!trace_opt_parse(opt.arg, &err)) {
                opt_fail_err(&opt, err);
            }
            if (trace_opt_is_help(opt.arg)) {
                exit(0);
            }
        } else if (!strcmp(opt.name, "S")) {
            cfg->start_stopped = true;
        } else if (!strcmp(opt.name, "daemonize")) {
            cfg->daemonize = true;
        } else if (!strcmp(opt.name, "pidfile")) {
            cfg->pidfile = opt.arg;
        } else if (!strcmp(opt.name, "name")) {
            cfg->name = opt;
        } else if (!strcmp(opt.name, "incoming")) {
            cfg->incoming = opt;
        }
        /* -nodefaults, -nographic, -no-user-config: nothing to do. */
    }
}

/* ------------------------------------------------------------------ */
/* Help requests (print and exit 0) */

static void handle_help_requests(Config *cfg)
{
    for (guint i = 0; i < cfg->devices->len; i++) {
        OptArg *opt = &g_array_index(cfg->devices, OptArg, i);
        g_autoptr(QOpts) opts = qopts_parse(opt->arg, "driver", NULL);
        const char *driver;

        if (!opts || !qopts_wants_help(opts)) {
            continue;
        }
        driver = qopts_get(opts, "driver");
        if (!driver || !strcmp(driver, "help") || !strcmp(driver, "?")) {
            qdev_print_device_list(stdout);
            exit(0);
        }
        if (!qdev_print_props(stdout, driver)) {
            opt_fail(opt, "'%s' is not a valid device model name", driver);
        }
        exit(0);
    }
    for (guint i = 0; i < cfg->objects->len; i++) {
        OptArg *opt = &g_array_index(cfg->objects, OptArg, i);

        if (user_creatable_print_help(opt->arg)) {
            exit(0);
        }
    }
    if (cfg->machine.arg) {
        g_autoptr(QOpts) opts = qopts_parse(cfg->machine.arg, "type", NULL);

        if (opts && qopts_wants_help(opts)) {
            machine_print_list(stdout);
            exit(0);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Daemonize and pidfile */

/* The write end of the pipe the parent of -daemonize waits on, or -1. */
static int daemon_pipe = -1;

static void daemonize_start(void)
{
    int fds[2];
    pid_t pid;

    if (pipe(fds) < 0) {
        opt_fail(NULL, "-daemonize: pipe: %s", strerror(errno));
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        opt_fail(NULL, "-daemonize: fork: %s", strerror(errno));
    }
    if (pid > 0) {
        /* Parent: exit 0 once the child is up, 1 if it failed (it printed why). */
        char status = 1;
        ssize_t n;

        close(fds[1]);
        do {
            n = read(fds[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        _exit(n == 1 && status == 0 ? 0 : 1);
    }
    close(fds[0]);
    daemon_pipe = fds[1];
    setsid();
}

/* The machine is up: release the parent and detach from the terminal. */
static void daemonize_finish(void)
{
    char ok = 0;
    int null_fd;

    if (daemon_pipe < 0) {
        return;
    }
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
        dup2(null_fd, STDIN_FILENO);
        dup2(null_fd, STDOUT_FILENO);
        dup2(null_fd, STDERR_FILENO);
        close(null_fd);
    }
    if (write(daemon_pipe, &ok, 1) != 1) {
        /* The parent is gone; nothing to tell. */
    }
    close(daemon_pipe);
    daemon_pipe = -1;
}

static char *pidfile_path;

static void write_pidfile(const char *path)
{
    g_autofree char *content = g_strdup_printf("%d\n", (int)getpid());
    OptArg opt = { "pidfile", path };
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0) {
        opt_fail(&opt, "cannot create PID file: %s", strerror(errno));
    }
    if (write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
        opt_fail(&opt, "cannot write PID file: %s", strerror(errno));
    }
    close(fd);
    /* Absolute, so that the unlink at exit still works after a chdir. */
    pidfile_path = g_canonicalize_filename(path, NULL);
}

/* ------------------------------------------------------------------ */
/* Machine, RAM, accelerator */

static uint64_t parse_memory_option(const OptArg *opt, uint64_t *maxmem)
{
    g_autoptr(QOpts) opts = NULL;
    Error *err = NULL;
    const char *size_str, *maxmem_str, *slots;
    uint64_t size = 0;

    opts = qopts_parse(opt->arg, "size", &err);
    if (!opts) {
        opt_fail_err(opt, err);
    }
    size_str = qopts_get(opts, "size");
    maxmem_str = qopts_get(opts, "maxmem");
    slots = qopts_get(opts, "slots");
    if (!qopts_check_unused(opts, &err)) {
        opt_fail_err(opt, err);
    }
    (void)slots;
    if (size_str && !qemu_strtosz_unit(size_str, MiB, &size)) {
        opt_fail(opt, "invalid size '%s'", size_str);
    }
    if (size) {
        size = QEMU_ALIGN_UP(size, (uint64_t)qemu_real_host_page_size());
    }
    *maxmem = 0;
    if (maxmem_str && !qemu_strtosz_unit(maxmem_str, MiB, maxmem)) {
        opt_fail(opt, "invalid size '%s'", maxmem_str);
    }
    return size;
}

/* -accel NAME or -machine accel=NAME: only qtest exists. */
static void check_accel(const OptArg *opt, const char *name)
{
    if (strcmp(name, "qtest")) {
        opt_fail(opt, "accelerator '%s' is not supported (Aperture has only 'qtest')", name);
    }
}

static MachineState *create_machine(Config *cfg)
{
    const OptArg *mopt = cfg->machine.arg ? &cfg->machine : NULL;
    g_autoptr(QOpts) opts = NULL;
    const char *type = NULL, *accel = NULL, *memdev = NULL;
    MachineClass *mc;
    MachineState *ms;
    Error *err = NULL;
    uint64_t ram_size = 0, maxmem = 0;

    if (mopt) {
        opts = qopts_parse(mopt->arg, "type", &err);
        if (!opts) {
            opt_fail_err(mopt, err);
        }
        type = qopts_get(opts, "type");
        accel = qopts_get(opts, "accel");
        memdev = qopts_get(opts, "memory-backend");
        /* QEMU machine options that have no effect here. */
        qopts_get(opts, "graphics");
        qopts_get(opts, "usb");
        qopts_get(opts, "dump-guest-core");
        qopts_get(opts, "mem-merge");
        qopts_get(opts, "vmport");
        qopts_get(opts, "smm");
        if (!qopts_check_unused(opts, &err)) {
            opt_fail_err(mopt, err);
        }
    }
    mc = type ? machine_find_class(type) : machine_find_default();
    if (!mc) {
        opt_fail(mopt, "unsupported machine type '%s' (use -machine help to list them)",
                 type ? type : "(default)");
    }
    if (accel) {
        check_accel(mopt, accel);
    }
    if (cfg->accel.arg) {
        g_autoptr(QOpts) aopts = qopts_parse(cfg->accel.arg, "accel", &err);
        const char *name;

        if (!aopts) {
            opt_fail_err(&cfg->accel, err);
        }
        name = qopts_get(aopts, "accel");
        if (!name) {
            opt_fail(&cfg->accel, "Parameter 'accel' is missing");
        }
        check_accel(&cfg->accel, name);
        qopts_get(aopts, "thread");
        if (!qopts_check_unused(aopts, &err)) {
            opt_fail_err(&cfg->accel, err);
        }
    }

    if (cfg->memory.arg) {
        ram_size = parse_memory_option(&cfg->memory, &maxmem);
    }

    ms = MACHINE(object_new(object_class_get_name(OBJECT_CLASS(mc))));
    current_machine = ms;
    ms->accel = g_strdup("qtest");
    if (cfg->name.arg) {
        g_autoptr(QOpts) nopts = qopts_parse(cfg->name.arg, "guest", &err);

        if (!nopts) {
            opt_fail_err(&cfg->name, err);
        }
        ms->guest_name = g_strdup(qopts_get(nopts, "guest"));
        qopts_get(nopts, "process");
        qopts_get(nopts, "debug-threads");
        if (!qopts_check_unused(nopts, &err)) {
            opt_fail_err(&cfg->name, err);
        }
    }

    if (memdev) {
        Object *obj = object_find_by_id(memdev);
        HostMemoryBackend *backend;

        if (!obj || !object_dynamic_cast(obj, TYPE_MEMORY_BACKEND)) {
            opt_fail(mopt, "Memory backend '%s' not found", memdev);
        }
        backend = MEMORY_BACKEND(obj);
        if (host_memory_backend_is_mapped(backend)) {
            opt_fail(mopt, "memory backend '%s' can't be used multiple times", memdev);
        }
        if (ram_size && ram_size != backend->size) {
            opt_fail(mopt, "Machine memory size does not match the size of the memory "
                     "backend (-m 0x%" PRIx64 ", backend 0x%" PRIx64 ")", ram_size,
                     backend->size);
        }
        ram_size = backend->size;
        ms->ram_memdev_id = g_strdup(memdev);
        ms->ram = host_memory_backend_get_memory(backend);
        host_memory_backend_set_mapped(backend, true);
    } else {
        g_autofree char *spec = NULL;
        Object *obj;

        if (!ram_size) {
            ram_size = mc->default_ram_size;
        }
        spec = g_strdup_printf("%s,id=%s,size=%" PRIu64, TYPE_MEMORY_BACKEND_RAM,
                               mc->default_ram_id, ram_size);
        obj = user_creatable_add_opts(spec, &err);
        if (!obj) {
            opt_fail_err(cfg->memory.arg ? &cfg->memory : NULL, err);
        }
        ms->ram = host_memory_backend_get_memory(MEMORY_BACKEND(obj));
        host_memory_backend_set_mapped(MEMORY_BACKEND(obj), true);
    }
    ms->ram_size = ram_size;
    if (maxmem && maxmem < ram_size) {
        opt_fail(&cfg->memory, "invalid value of maxmem: maximum memory size (0x%" PRIx64
                 ") must be at least the initial memory size (0x%" PRIx64 ")", maxmem,
                 ram_size);
    }
    ms->maxram_size = maxmem ? maxmem : ram_size;

    /* The qtest accelerator: no vCPUs, guest time moves only by clock_step. */
    qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, true);

    trace_vl_machine_init(mc->name, ram_size, ms->accel);
    if (!mc->init(ms, &err)) {
        opt_fail_err(mopt, err);
    }
    return ms;
}

/* ------------------------------------------------------------------ */
/* Monitors */

static void create_monitors(Config *cfg)
{
    Error *err = NULL;

    for (guint i = 0; i < cfg->qmps->len; i++) {
        OptArg *opt = &g_array_index(cfg->qmps, OptArg, i);
        g_autofree char *label = g_strdup_printf("compat_monitor%u", i);
        Chardev *chr = qemu_chr_new(label, opt->arg, &err);

        if (!chr || !monitor_init_qmp(chr, &err)) {
            opt_fail_err(opt, err);
        }
    }
    for (guint i = 0; i < cfg->monitors->len; i++) {
        OptArg *opt = &g_array_index(cfg->monitors, OptArg, i);
        g_autoptr(QOpts) opts = qopts_parse(opt->arg, "chardev", &err);
        const char *id, *mode;
        bool pretty;
        Chardev *chr;

        if (!opts) {
            opt_fail_err(opt, err);
        }
        id = qopts_get(opts, "chardev");
        mode = qopts_get(opts, "mode");
        if (!qopts_get_bool(opts, "pretty", false, &pretty, &err) ||
            !qopts_check_unused(opts, &err)) {
            opt_fail_err(opt, err);
        }
        if (!id) {
            opt_fail(opt, "Parameter 'chardev' is missing");
        }
        if (!mode || strcmp(mode, "control")) {
            opt_fail(opt, "only mode=control (QMP) is supported");
        }
        chr = qemu_chr_find(id);
        if (!chr) {
            opt_fail(opt, "chardev \"%s\" not found", id);
        }
        if (!monitor_init_qmp(chr, &err)) {
            opt_fail_err(opt, err);
        }
    }
}

/* ------------------------------------------------------------------ */

/* -device DRIVER,... or QEMU's JSON form -device '{"driver": ..., ...}'. */
static bool device_add_from_option(const OptArg *opt, Error **errp)
{
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(GError) gerr = NULL;
    g_autoptr(QOpts) opts = NULL;
    g_autofree char *text = NULL;
    JsonNode *root;

    if (opt->arg[0] != '{') {
        return qdev_device_add(opt->arg, errp) != NULL;
    }
    parser = json_parser_new();
    text = qmp_json_normalize_quotes(opt->arg, strlen(opt->arg));
    if (!json_parser_load_from_data(parser, text, -1, &gerr)) {
        error_setg(errp, "JSON parse error, %s", gerr->message);
        return false;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        error_setg(errp, "JSON argument must be an object");
        return false;
    }
    opts = qmp_args_to_qopts(json_node_get_object(root), errp);
    return opts && qdev_device_add_opts(opts, errp) != NULL;
}

/* ------------------------------------------------------------------ */

static gboolean on_terminate_signal(gpointer data)
{
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
    return G_SOURCE_CONTINUE;
}

static void cleanup(MachineState *ms)
{
    MachineClass *mc = ms ? MACHINE_GET_CLASS(ms) : NULL;

    /* Stop the migration threads before what they use goes away. */
    migration_shutdown();
    monitor_cleanup();
    qemu_chr_cleanup();
    qdev_machine_teardown();
    if (mc && mc->teardown) {
        mc->teardown(ms);
    }
    object_unref(ms);
    current_machine = NULL;
    user_creatable_cleanup();
    memory_map_cleanup();
    if (pidfile_path) {
        unlink(pidfile_path);
        g_free(pidfile_path);
    }
}

int qemu_main(int argc, char **argv)
{
    Config cfg = { 0 };
    MachineState *ms;
    Error *err = NULL;
    int status;

    error_set_progname("aperture");
    cfg.chardevs = g_array_new(false, false, sizeof(OptArg));
    cfg.objects = g_array_new(false, false, sizeof(OptArg));
    cfg.devices = g_array_new(false, false, sizeof(OptArg));
    cfg.monitors = g_array_new(false, false, sizeof(OptArg));
    cfg.qmps = g_array_new(false, false, sizeof(OptArg));

    parse_command_line(argc, argv, &cfg);
    handle_help_requests(&cfg);
    if (cfg.qtest_spec && !qtest_server_init) {
        OptArg opt = { "qtest", cfg.qtest_spec };

        opt_fail(&opt, "qtest is not available in this build");
    }
    if (cfg.incoming.arg && !migration_incoming_start) {
        opt_fail(&cfg.incoming, "migration is not available in this build");
    }

    if (cfg.daemonize) {
        daemonize_start();
    }
    if (cfg.pidfile) {
        write_pidfile(cfg.pidfile);
    }
    qemu_init_main_loop(&error_fatal);
    /* The main thread holds the BQL except while it polls (qemu/main-loop.h). */
    bql_lock();
    g_unix_signal_add(SIGINT, on_terminate_signal, NULL);
    g_unix_signal_add(SIGTERM, on_terminate_signal, NULL);
    g_unix_signal_add(SIGHUP, on_terminate_signal, NULL);
    signal(SIGPIPE, SIG_IGN);
    qmp_register_builtin_commands();

    for (guint i = 0; i < cfg.chardevs->len; i++) {
        OptArg *opt = &g_array_index(cfg.chardevs, OptArg, i);

        if (!qemu_chr_new_from_opts(opt->arg, &err)) {
            opt_fail_err(opt, err);
        }
    }
    for (guint i = 0; i < cfg.objects->len; i++) {
        OptArg *opt = &g_array_index(cfg.objects, OptArg, i);

        if (!user_creatable_add_opts(opt->arg, &err)) {
            opt_fail_err(opt, err);
        }
    }
    ms = create_machine(&cfg);
    create_monitors(&cfg);
    if (cfg.qtest_spec) {
        qtest_server_init(cfg.qtest_spec, cfg.qtest_log, &err);
        if (err) {
            OptArg opt = { "qtest", cfg.qtest_spec };

            opt_fail_err(&opt, err);
        }
    }
    for (guint i = 0; i < cfg.devices->len; i++) {
        OptArg *opt = &g_array_index(cfg.devices, OptArg, i);

        if (!device_add_from_option(opt, &err)) {
            opt_fail_err(opt, err);
        }
    }
    qdev_machine_creation_done();

    qemu_system_reset(SHUTDOWN_CAUSE_NONE);
    qemu_set_autostart(!cfg.start_stopped);
    if (cfg.incoming.arg) {
        /* The migration code starts the VM when the stream is complete (if autostart). */
        runstate_set(RUN_STATE_INMIGRATE);
        if (!migration_incoming_start(cfg.incoming.arg, &err)) {
            opt_fail_err(&cfg.incoming, err);
        }
    } else if (cfg.start_stopped) {
        runstate_set(RUN_STATE_PRELAUNCH);
    } else {
        vm_start();
    }
    if (cfg.daemonize) {
        if (chdir("/") < 0) {
            /* Harmless: paths were resolved already. */
        }
        daemonize_finish();
    }

    status = qemu_main_loop();
    cleanup(ms);
    g_array_free(cfg.chardevs, true);
    g_array_free(cfg.objects, true);
    g_array_free(cfg.devices, true);
    g_array_free(cfg.monitors, true);
    g_array_free(cfg.qmps, true);
    return status;
}
