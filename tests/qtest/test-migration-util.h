/*
 * Helpers for the migration qtests: start a source and a destination,
 * drive QMP, wait for states, fill and compare guest memory.
 */
#ifndef TESTS_QTEST_TEST_MIGRATION_UTIL_H
#define TESTS_QTEST_TEST_MIGRATION_UTIL_H

#include "libqtest.h"

/* A private directory for sockets and stream files; removed at exit. */
const char *mig_tmpdir(void);
/* mig_tmpdir()/NAME, g_free it. */
char *mig_path(const char *name);

/* The "return" member of a successful command (ref'd: unref it); fails the test otherwise. */
JsonObject *mig_qmp(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* The "desc" of a failing command (g_free it); fails the test if it succeeded. */
char *mig_qmp_error(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* query-migrate's "status" ("none" when empty); g_free it. */
char *mig_status(QTestState *s);
/* query-status's "status" ("running", "postmigrate", ...); g_free it. */
char *mig_runstate(QTestState *s);
/*
 * Poll query-migrate until its status is one of the NULL-terminated
 * @statuses (fails the test after @timeout_s seconds, or at once when it
 * reaches "failed" unless that is listed).  Returns the status (g_free).
 */
char *mig_wait_status(QTestState *s, double timeout_s, ...) G_GNUC_NULL_TERMINATED;
/* Wait until the migration of @src completed and @dst runs (or is paused with -S). */
void mig_wait_completed(QTestState *src, QTestState *dst);

void mig_set_param(QTestState *s, const char *name, int64_t value);
void mig_set_cap(QTestState *s, const char *cap, bool on);
/* migrate {"uri": @uri}, which must be accepted. */
void mig_migrate(QTestState *s, const char *uri);

/* Write @size bytes of a pattern derived from @seed at @addr (in 1 MiB pieces). */
void mig_fill(QTestState *s, uint64_t addr, uint64_t size, uint32_t seed);
/* Fail the test (naming the first differing byte) unless [addr, +size) is equal. */
void mig_assert_memory_equal(QTestState *a, QTestState *b, uint64_t addr, uint64_t size);

#endif /* TESTS_QTEST_TEST_MIGRATION_UTIL_H */
