#ifndef CREGO_H
#define CREGO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/// rego-cpp's C API (librego_shared.so from the regopy wheel), loaded at run time with dlopen so a
/// missing or broken library is an error message, never a crash or a link failure.
typedef struct crego_api {
    void *handle;
    void *(*regoNew)(void);
    void (*regoFree)(void *rego);
    uint32_t (*regoAddModule)(void *rego, const char *name, const char *contents);
    uint32_t (*regoAddDataJSON)(void *rego, const char *json);
    uint32_t (*regoSetInputTerm)(void *rego, const char *json);
    void *(*regoQuery)(void *rego, const char *query);
    bool (*regoOutputOk)(void *output);
    uint32_t (*regoOutputJSONSize)(void *output);
    uint32_t (*regoOutputJSON)(void *output, char *buffer, uint32_t size);
    void (*regoFreeOutput)(void *output);
    uint32_t (*regoErrorSize)(void *rego);
    uint32_t (*regoError)(void *rego, char *buffer, uint32_t size);
    uint32_t (*regoAddEntrypoint)(void *rego, const char *entrypoint);
    void *(*regoBuild)(void *rego);
    bool (*regoBundleOk)(void *bundle);
    void *(*regoBundleQueryEntrypoint)(void *rego, void *bundle, const char *entrypoint);
    void (*regoFreeBundle)(void *bundle);
} crego_api;

/// Opens the library at `path` and resolves every symbol. Returns 0 on success; otherwise writes
/// dlerror's words into `error` and returns -1 (nothing stays loaded).
int crego_open(const char *path, crego_api *api, char *error, size_t error_size);
#endif
