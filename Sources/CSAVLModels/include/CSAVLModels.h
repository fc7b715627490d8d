#ifndef CSAVLMODELS_H
#define CSAVLMODELS_H

#include <stddef.h>

/// A model file assembled into the binary.
typedef struct {
    const char *name;
    const unsigned char *bytes;
    size_t size;
} savl_embedded_model;

/// The number of embedded models.
int savl_embedded_model_count(void);

/// The embedded model at `index` (0 ..< count).
savl_embedded_model savl_embedded_model_at(int index);

#endif
