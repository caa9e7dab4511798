/* names.h: name lists for simulated users (plain C). */
#ifndef ELT_NAMES_H
#define ELT_NAMES_H

extern const char *const elt_first_names[];
extern const char *const elt_last_names[];
extern const char *const elt_email_domains[];
extern const int elt_n_first_names;
extern const int elt_n_last_names;
extern const int elt_n_email_domains;

#endif
