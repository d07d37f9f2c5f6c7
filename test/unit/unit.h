/*
 * unit.h
 *		A minimal TAP-producing harness for the C unit tests of src/lib.
 *
 * CHECK(cond, fmt, ...) prints "ok N - description" or "not ok N - ..."
 * with the failing expression and location; unit_done() prints the plan and
 * returns the exit status.  test/run counts the ok / not ok lines.
 */
#ifndef ANALYTICS_UNIT_H
#define ANALYTICS_UNIT_H

#include <stdio.h>

static int	unit_checks = 0;
static int	unit_failures = 0;

#define CHECK(cond, ...) \
	do { \
		int			unit_ok_ = (cond) ? 1 : 0; \
		unit_checks++; \
		printf("%sok %d - ", unit_ok_ ? "" : "not ", unit_checks); \
		printf(__VA_ARGS__); \
		printf("\n"); \
		if (!unit_ok_) \
		{ \
			unit_failures++; \
			printf("#   failed: %s\n#   at %s:%d\n", #cond, __FILE__, __LINE__); \
		} \
		fflush(stdout); \
	} while (0)

/* note a value that helps read a failure */
#define NOTE(...) do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_checks);
	return unit_failures ? 1 : 0;
}

#endif							/* ANALYTICS_UNIT_H */
