/*
 * email.h
 *		Transactional email settings (see email.c).
 */
#ifndef ANALYTICS_EMAIL_H
#define ANALYTICS_EMAIL_H

extern char *analytics_email_from;
extern char *analytics_smtp_url;
extern int	analytics_smtp_starttls;
extern char *analytics_smtp_ca_file;
extern char *analytics_smtp_user;
extern char *analytics_smtp_password;
extern int	analytics_smtp_timeout;
extern int	analytics_email_max_connections;
extern int	analytics_email_batch_size;
extern double analytics_email_rate_limit;
extern int	analytics_email_max_age;

/* _PG_init: the email settings */
extern void email_init_guc(void);

#endif							/* ANALYTICS_EMAIL_H */
