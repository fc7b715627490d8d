#include "CSAVLModels.h"

extern const unsigned char savl_model_default_start[];
extern const unsigned char savl_model_default_end[];

int savl_embedded_model_count(void) { return 1; }

savl_embedded_model savl_embedded_model_at(int index) {
    (void)index;
    savl_embedded_model model = {
        "default", savl_model_default_start, (size_t)(savl_model_default_end - savl_model_default_start)
    };
    return model;
}
