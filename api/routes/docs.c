/* GET /v1/openapi.json (the document of what this server implements, from its own route
 * tables) and GET /v1/docs (a self-contained page listing it: no script from elsewhere). */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/openapi.h"
#include "api/reply.h"
#include "api/router.h"
#include "api/routes/routes.h"

static int openapi_get(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        size_t n;
        const struct api_route *const *tables = api_route_tables(&n);

        (void)req;
        (void)err;
        api_reply_json(resp, 200, api_openapi_build(tables, n));
        return 0;
}

/* The page fetches the document with the query string it was opened with (?api_key= or
 * ?ticket=), so the same credentials work for both. */
static const char docs_page[] =
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>aio API</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}"
        "h2{margin-top:1.5em;border-bottom:1px solid #ccc}code{font:13px monospace}"
        ".m{display:inline-block;width:5em;font-weight:bold}"
        ".get{color:#2a7}.post{color:#27a}.delete{color:#a22}.put,.patch{color:#a72}"
        "</style></head><body><h1>aio sandbox API</h1><p id=\"v\"></p><div id=\"p\"></div>"
        "<script>\n"
        "fetch('openapi.json'+location.search).then(r=>r.json()).then(d=>{\n"
        " document.getElementById('v').textContent=d.info.version+': '+d.info.description;\n"
        " const byTag={};\n"
        " for(const [p,ops] of Object.entries(d.paths))for(const [m,op] of Object.entries(ops))"
        "(byTag[op.tags[0]]=byTag[op.tags[0]]||[]).push([m,p,op]);\n"
        " const root=document.getElementById('p');\n"
        " for(const t of Object.keys(byTag).sort()){const h=document.createElement('h2');"
        "h.textContent=t;root.appendChild(h);\n"
        "  for(const [m,p,op] of byTag[t]){const div=document.createElement('div');"
        "const s=document.createElement('span');s.className='m '+m;s.textContent=m.toUpperCase();"
        "const c=document.createElement('code');c.textContent=p+(op.requestBody?'  ('+"
        "Object.keys(op.requestBody.content)[0]+')':'');div.append(s,c);root.appendChild(div);}}\n"
        "}).catch(e=>{document.getElementById('v').textContent='openapi.json: '+e;});\n"
        "</script></body></html>\n";

static int docs_get(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        (void)req;
        (void)err;
        resp->status = 200;
        resp->len = sizeof(docs_page) - 1;
        resp->body = aio_xmalloc(resp->len);
        memcpy(resp->body, docs_page, resp->len);
        resp->content_type = "text/html; charset=utf-8";
        return 0;
}

/* clang-format off */
const struct api_route api_docs_routes[] = {
        { "GET", "/v1/openapi.json", openapi_get, 0 },
        { "GET", "/v1/docs",         docs_get,    0 },
        {0},
};
/* clang-format on */
