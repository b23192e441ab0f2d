#include "CRego.h"
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define RESOLVE(name)                                                                    \
    do {                                                                                 \
        *(void **)(&api->name) = dlsym(handle, #name);                                   \
        if (api->name == NULL) {                                                         \
            snprintf(error, error_size, "symbol %s missing from %s", #name, path);       \
            dlclose(handle);                                                             \
            memset(api, 0, sizeof(*api));                                                \
            return -1;                                                                   \
        }                                                                                \
    } while (0)

int crego_open(const char *path, crego_api *api, char *error, size_t error_size) {
    memset(api, 0, sizeof(*api));
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *reason = dlerror();
        snprintf(error, error_size, "%s", reason ? reason : "dlopen failed");
        return -1;
    }
    RESOLVE(regoNew);
    RESOLVE(regoFree);
    RESOLVE(regoAddModule);
    RESOLVE(regoAddDataJSON);
    RESOLVE(regoSetInputTerm);
    RESOLVE(regoQuery);
    RESOLVE(regoOutputOk);
    RESOLVE(regoOutputJSONSize);
    RESOLVE(regoOutputJSON);
    RESOLVE(regoFreeOutput);
    RESOLVE(regoErrorSize);
    RESOLVE(regoError);
    RESOLVE(regoAddEntrypoint);
    RESOLVE(regoBuild);
    RESOLVE(regoBundleOk);
    RESOLVE(regoBundleQueryEntrypoint);
    RESOLVE(regoFreeBundle);
    api->handle = handle;
    return 0;
}
