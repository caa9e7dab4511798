/*
 * model_params.h: the parameters of the simulated business, described for
 * the SQL glue (names, ranges, descriptions) and the presets they start
 * from.  Plain C; a leaf header.
 */
#ifndef ELT_MODEL_PARAMS_H
#define ELT_MODEL_PARAMS_H

#include <stddef.h>

#include "model.h"

typedef enum EltParamKind
{
	ELT_PARAM_PRESET,			/* a preset name: sets every other parameter */
	ELT_PARAM_NUMBER,			/* a double */
	ELT_PARAM_INTEGER,			/* an int */
	ELT_PARAM_MIX				/* weights by name: plan, channel or region */
} EltParamKind;

typedef struct EltParamDesc
{
	const char *name;
	EltParamKind kind;
	size_t		offset;			/* into EltParams (not for the preset) */
	double		min;			/* range of a number, or of each weight of a mix */
	double		max;
	int			mix;			/* mixes: 0 plans, 1 referral sources, 2 regions */
	const char *description;
} EltParamDesc;

#define ELT_N_PRESETS 3
#define ELT_N_PARAMS 14

extern const char *const elt_preset_names[ELT_N_PRESETS];
extern const EltParamDesc elt_param_descs[ELT_N_PARAMS];

/* number of weights of a mix, and the name of weight i (the lookup's name) */
extern int	elt_mix_size(int mix);
extern const char *elt_mix_name(int mix, int i);

#endif
