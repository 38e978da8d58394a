/* /v1/file: files, search, transfer, the editor and watchers (upstream-api.md §2.4). The
 * handlers live in api/file*.c; anything that touches the disk runs on a thread of its own. */
#include <stddef.h>

#include "api/api.h"
#include "api/file-internal.h"
#include "api/routes/routes.h"

#define SLOW_JSON (API_F_JSON | API_F_SLOW)

/* clang-format off */
const struct api_route api_file_routes[] = {
        { "POST",   "/v1/file/read",                     api_file_read,     SLOW_JSON },
        { "POST",   "/v1/file/write",                    api_file_write,    SLOW_JSON },
        { "POST",   "/v1/file/replace",                  api_file_replace,  SLOW_JSON },
        { "POST",   "/v1/file/search",                   api_file_search,   SLOW_JSON },
        { "POST",   "/v1/file/find",                     api_file_find,     SLOW_JSON },
        { "POST",   "/v1/file/grep",                     api_file_grep,     SLOW_JSON },
        { "POST",   "/v1/file/glob",                     api_file_glob,     SLOW_JSON },
        { "POST",   "/v1/file/list",                     api_file_list,     SLOW_JSON },
        { "POST",   "/v1/file/upload",                   api_file_upload,   API_F_UPLOAD | API_F_SLOW },
        { "GET",    "/v1/file/download",                 api_file_download, API_F_SLOW },
        { "POST",   "/v1/file/str_replace_editor",       api_file_editor,   SLOW_JSON },
        { "GET",    "/v1/file/watch",                    api_watch_list,    0 },
        { "POST",   "/v1/file/watch",                    api_watch_create,  SLOW_JSON },
        { "POST",   "/v1/file/watch/wait",               api_watch_wait,    SLOW_JSON },
        { "GET",    "/v1/file/watch/{watcher_id}/events", api_watch_events, 0 },
        { "POST",   "/v1/file/watch/{watcher_id}/poll",  api_watch_poll,    SLOW_JSON },
        { "DELETE", "/v1/file/watch/{watcher_id}",       api_watch_stop,    0 },
        {0},
};
/* clang-format on */
