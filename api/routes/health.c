/* GET /health: the liveness answer of upstream's server ({"status":"healthy"}; not in its OpenAPI
 * document, served outside /v1 and outside the envelope, upstream-api.md [RE]). */
#include <jansson.h>
#include <stdlib.h>

#include "common/err.h"

#include "api/api.h"
#include "api/reply.h"
#include "api/routes/routes.h"

static int health_get(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        json_t *o = json_pack("{s:s}", "status", "healthy");

        (void)req;
        (void)err;
        if (!o)
                abort();
        api_reply_json(resp, 200, o);
        return 0;
}

/* clang-format off */
const struct api_route api_health_routes[] = {
        { "GET", "/health", health_get, 0 },
        {0},
};
/* clang-format on */
