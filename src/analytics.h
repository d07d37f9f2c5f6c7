/*
 * analytics.h
 *		Declarations shared by the extension's modules.
 */
#ifndef ANALYTICS_H
#define ANALYTICS_H

/* set by the Makefile from analytics.control's default_version */
#ifndef ANALYTICS_VERSION
#error "ANALYTICS_VERSION must be defined by the build"
#endif

/* true when the library was loaded through shared_preload_libraries */
extern bool analytics_preloaded;

/* settings (analytics.c registers them) */
extern int	analytics_max_aggregate_memory;	/* kB */
extern int	analytics_sequence_max_steps;
extern int	analytics_max_threads;

/* threads a computation may use in this backend now (util.c) */
extern int	an_threads(void);

#endif							/* ANALYTICS_H */
